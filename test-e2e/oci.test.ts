// diyc-oci driven as an engine drives a runtime: global flags first, a bundle with the
// busybox rootfs and a config.json, create / start / state / kill / delete, exec, hooks,
// pause and update; and what it refuses. Each test has its own --root and cgroup parent.
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { busyboxTarball, isRoot, onTerminal, rootReason, runBin, runCommand, tempDir, userEnv } from './helpers.js';

describe.skipIf(!isRoot)(`diyc-oci (${rootReason})`, () => {
  const work = tempDir('diyc-oci-e2e-');
  const root = join(work.path, 'root');
  const parent = `diyc-e2e-oci-${process.pid}`;
  const ids = new Set<string>();
  const oci = (...args: string[]) => runBin('diyc-oci', ['--root', root, ...args], { timeoutMs: 30_000 });

  /** A bundle running `script`, with diyc-oci's own default config and the changes asked. */
  const bundle = async (name: string, script: string, change: (config: Record<string, any>) => void = () => {}): Promise<string> => {
    const dir = join(work.path, name);
    mkdirSync(join(dir, 'rootfs'), { recursive: true });
    await runCommand('tar', ['-xpf', busyboxTarball(), '-C', join(dir, 'rootfs')]);
    expect((await runBin('diyc-oci', ['spec', '--no-terminal', '--bundle', dir])).code).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    config.process.args = ['sh', '-c', script];
    config.root.readonly = false;
    config.linux.cgroupsPath = `/${parent}/${name}`;
    change(config);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  };
  /**
   * create with the container's stdout and stderr in files, as runtime-tools and the shims give
   * them: the container keeps them open, so a pipe would never close while it lives.
   */
  const create = async (id: string, dir: string, ...flags: string[]) => {
    ids.add(id);
    const [out, err] = [join(dir, 'stdout'), join(dir, 'stderr')];
    const fds = [openSync(out, 'w'), openSync(err, 'w')];
    const child = spawn('diyc-oci', ['--root', root, 'create', '--bundle', dir, ...flags, id], { env: userEnv(), stdio: ['ignore', ...fds] });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    for (const fd of fds) closeSync(fd);
    return { code, stderr: readFileSync(err, 'utf8'), output: () => readFileSync(out, 'utf8') };
  };
  const state = async (id: string) => JSON.parse((await oci('state', id)).stdout) as { status: string; pid?: number; id: string; bundle: string; created: string };
  const until = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 25));
  };

  beforeAll(() => mkdirSync(root, { recursive: true }));
  afterAll(async () => {
    for (const id of ids) await oci('delete', '--force', id);
    const cgroups = createCgroupManager({ parent });
    cgroups.pruneParent();
    work.remove();
  });

  it('creates a process held before execve, starts it, reports each state, and deletes it', async () => {
    const dir = await bundle('life', 'echo hello from $(hostname); exit 3');
    const pidFile = join(work.path, 'life.pid');
    const made = await create('life', dir, '--pid-file', pidFile);
    expect(made.code, made.stderr).toBe(0);
    const created = await state('life');
    expect(created).toMatchObject({ id: 'life', status: 'created', bundle: dir });
    expect(created.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    // The pid file holds the process's pid, digits only; the process has not run its command.
    expect(readFileSync(pidFile, 'utf8')).toBe(String(created.pid));
    expect(made.output()).toBe('');
    // No diyc process stays its parent: create has exited, so the process was reparented.
    const ppid = Number(readFileSync(`/proc/${created.pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
    expect(ppid).not.toBe(process.pid);
    expect((await oci('start', 'life')).code).toBe(0);
    await until(async () => (await state('life')).status === 'stopped');
    expect(made.output()).toBe('hello from diyc\n');
    const path = `/${parent}/life`;
    expect(createCgroupManager().exists(path)).toBe(true);
    expect((await oci('delete', 'life')).code).toBe(0);
    expect(createCgroupManager().exists(path)).toBe(false);
    const gone = await oci('state', 'life');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('container life does not exist');
  });

  it('run creates, starts, waits and deletes, exiting as the process; -d leaves it running', async () => {
    const dir = await bundle('runit', 'echo "run in $(hostname) as pid $$"; exit 7');
    ids.add('runit');
    const r = await oci('run', '--bundle', dir, 'runit');
    expect([r.code, r.stdout], r.stderr).toEqual([7, 'run in diyc as pid 1\n']);
    expect((await oci('state', 'runit')).stderr).toContain('does not exist');
    expect(createCgroupManager().exists(`/${parent}/runit`)).toBe(false);

    const detached = await bundle('rund', 'sleep 100');
    ids.add('rund');
    // The container keeps its stdio: not pipes this test would wait on.
    const d = await runCommand('sh', ['-c', `exec diyc-oci --root ${root} run -d --bundle ${detached} rund >/dev/null 2>${detached}/stderr`], { env: userEnv() });
    expect(d.code, readFileSync(join(detached, 'stderr'), 'utf8')).toBe(0);
    expect((await state('rund')).status).toBe('running');
    expect((await oci('delete', '--force', 'rund')).code).toBe(0);

    // A process that cannot start: run says why, exits 127 (not found) as diyc-run, and leaves nothing.
    const broken = await bundle('runbad', 'true', (config) => { config.process.args = ['/no/such/program']; });
    ids.add('runbad');
    const bad = await oci('run', '--bundle', broken, 'runbad');
    expect(bad.code).toBe(127);
    expect(bad.stderr).toContain('/no/such/program');
    expect((await oci('list', '--format', 'json')).stdout).not.toContain('runbad');
  });

  it('run on a terminal gives the process the terminal (process.terminal, no console socket), and exits as it', async () => {
    const dir = await bundle('runtty', '', (config) => { config.process.args = ['sh']; config.process.terminal = true; });
    ids.add('runtty');
    await onTerminal(['diyc-oci', '--root', root, 'run', '--bundle', dir, 'runtty'], {}, async (t) => {
      await t.screen(/[#$] ?$/m);
      t.keys('[ -t 0 ] && echo "terminal in $(hostname)"', 'Enter');
      await t.screen(/terminal in diyc/);
      t.keys('exit 4', 'Enter');
      expect(await t.exitStatus()).toBe('4');
    });
  });

  it('refuses to delete a container that is not stopped, kills it with --force, and --force on a missing one is fine', async () => {
    const dir = await bundle('busy', 'sleep 300');
    expect((await create('busy', dir)).code).toBe(0);
    expect((await oci('start', 'busy')).code).toBe(0);
    const refused = await oci('delete', 'busy');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('that is not stopped: running');
    expect((await state('busy')).status).toBe('running');
    expect((await oci('delete', '--force', 'busy')).code).toBe(0);
    expect((await oci('delete', '--force', 'never-was')).code).toBe(0);
    expect((await oci('delete', 'never-was')).stderr).toContain('does not exist');
  });

  it('kill sends the signal asked, by name or number; a stopped container is "not running"', async () => {
    const dir = await bundle('sig', 'trap "echo got USR1; exit 9" USR1; echo ready; while :; do sleep 0.05; done');
    const made = await create('sig', dir);
    expect((await oci('start', 'sig')).code).toBe(0);
    await until(async () => made.output().includes('ready'));
    expect((await oci('kill', 'sig', 'USR1')).code).toBe(0);
    await until(async () => (await state('sig')).status === 'stopped');
    expect(made.output()).toBe('ready\ngot USR1\n');
    const late = await oci('kill', 'sig', '15');
    expect(late.code).toBe(1);
    expect(late.stderr).toContain('container not running');
    // SIGTERM ends a created container waiting for start.
    expect((await create('sig2', await bundle('sig2', 'true'))).code).toBe(0);
    expect((await oci('kill', 'sig2', 'TERM')).code).toBe(0);
    await until(async () => (await state('sig2')).status === 'stopped');
    expect((await state('sig2')).status).toBe('stopped');
  });

  it('exec runs in the container (namespaces, policy) and exits as its command; --detach leaves it to run', async () => {
    const dir = await bundle('ex', 'sleep 300');
    expect((await create('ex', dir)).code).toBe(0);
    expect((await oci('start', 'ex')).code).toBe(0);
    const r = await oci('exec', 'ex', 'sh', '-c', 'echo $(hostname) $$; grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\\t" " "; exit 7');
    expect(r.code).toBe(7);
    const [first, ...rest] = r.stdout.trim().split('\n');
    expect(first).toMatch(/^diyc \d+$/);
    expect(rest).toEqual(['NoNewPrivs: 1', 'Seccomp: 2']);
    const processFile = join(work.path, 'process.json');
    writeFileSync(processFile, JSON.stringify({ args: ['sleep', '60'], env: ['PATH=/bin'], cwd: '/', user: { uid: 65534, gid: 65534 } }));
    const pidFile = join(work.path, 'exec.pid');
    // The detached process keeps the stdio it was given, so give it none to hold.
    const detach = spawn('diyc-oci', ['--root', root, 'exec', '--detach', '--process', processFile, '--pid-file', pidFile, 'ex'], { env: userEnv(), stdio: 'ignore' });
    expect(await new Promise((r) => detach.on('exit', r))).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Uid:\s+65534\s/m);
    const ps = JSON.parse((await oci('ps', '--format', 'json', 'ex')).stdout) as number[];
    expect(ps).toContain(pid);
    expect(ps).toContain((await state('ex')).pid);
    // A process names itself: its argv, in ps's table, cannot drive the reader's terminal.
    const named = spawn('diyc-oci', ['--root', root, 'exec', '--detach', 'ex', 'sh', '-c', 'sleep 60; true', '\u001b]0;owned\u0007'], { env: userEnv(), stdio: 'ignore' });
    expect(await new Promise((r) => named.on('exit', r))).toBe(0);
    const table = (await oci('ps', 'ex')).stdout;
    expect(table.split('\n')[0]).toMatch(/^PID\s+CMD$/);
    expect(table).toContain('sh -c sleep 60; true \\x1b]0;owned\\x07');
    expect(table).not.toMatch(/\u001b/);
  });

  it('runs the hooks at their points, with the state on stdin; a failing prestart fails create and leaves nothing', async () => {
    const log = join(work.path, 'hooks.log');
    const hook = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `read s; echo "${name} $(echo "$s" | grep -o '"status":"[a-z]*"')" >> ${log}`] });
    const dir = await bundle('hooked', 'true', (c) => {
      c.hooks = Object.fromEntries(['prestart', 'createRuntime', 'poststart', 'poststop'].map((p) => [p, [hook(p)]]));
      // Inside the container: its own sh, its own file.
      c.hooks.createContainer = [{ path: '/bin/sh', args: ['sh', '-c', `echo createContainer >> ${log}`] }];
      c.hooks.startContainer = [{ path: '/bin/sh', args: ['sh', '-c', 'echo startContainer > /started-hook'] }];
    });
    expect((await create('hooked', dir)).code).toBe(0);
    expect((await oci('start', 'hooked')).code).toBe(0);
    await until(async () => (await state('hooked')).status === 'stopped');
    expect((await oci('delete', 'hooked')).code).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('prestart "status":"created"\ncreateRuntime "status":"created"\ncreateContainer\npoststart "status":"running"\npoststop "status":"stopped"\n');
    expect(readFileSync(join(dir, 'rootfs', 'started-hook'), 'utf8')).toBe('startContainer\n');
    const failing = await bundle('failhook', 'true', (c) => { c.hooks = { prestart: [{ path: '/bin/false' }] }; });
    const r = await create('failhook', failing);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('prestart hook /bin/false failed');
    expect(existsSync(join(root, 'failhook'))).toBe(false);
    expect(createCgroupManager().exists(`/${parent}/failhook`)).toBe(false);
  });

  it('refuses by name what it cannot honour, and ignores properties the spec does not have', async () => {
    const refused = await create('norefuse', await bundle('norefuse', 'true', (c) => { c.linux.intelRdt = { closID: 'x' }; c.process.apparmorProfile = 'docker-default'; }));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('diyc-oci cannot honour linux.intelRdt, process.apparmorProfile (diyc has no AppArmor or SELinux)');
    const unknown = await create('unknown', await bundle('unknown', 'true', (c) => { c.somethingNew = { a: 1 }; }));
    expect(unknown.code, unknown.stderr).toBe(0);
    const badCap = await create('badcap', await bundle('badcap', 'true', (c) => { c.process.capabilities.bounding.push('CAP_TEST'); }));
    expect(badCap.stderr).toContain('unknown capability CAP_TEST');
    // A config that joins the host's own network namespace by path cannot set its sysctls.
    const hostNet = await create('hostnet', await bundle('hostnet', 'true', (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== 'network').concat({ type: 'network', path: `/proc/${process.pid}/ns/net` });
      c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
    }));
    expect(hostNet.code).toBe(1);
    expect(hostNet.stderr).toContain("sysctl net.ipv4.ip_forward needs a network namespace of the container's own");
    // diyc's own annotations are orders to its stages (attach to a bridge, publish a port): not a config's to give.
    const orders = await create('orders', await bundle('orders', 'true', (c) => { c.annotations = { 'org.diyc.net.bridge': 'diyc0', 'org.diyc.net.publish': '2222:22/tcp', 'io.example.mine': 'fine' }; }));
    expect(orders.code).toBe(1);
    expect(orders.stderr).toContain("annotations org.diyc.net.bridge, org.diyc.net.publish are diyc's own: a config cannot set them");
  });

  it('maps a user namespace: root inside is an unprivileged user outside', async () => {
    chmodSync(work.path, 0o755); // uid 100000 must reach the rootfs through the test's directory
    const dir = await bundle('userns', 'cat /proc/self/uid_map; id -u', (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
    const made = await create('userns', dir);
    expect(made.code, made.stderr).toBe(0);
    const { pid } = await state('userns');
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Uid:\s+100000\s/m);
    expect((await oci('start', 'userns')).code).toBe(0);
    await until(async () => (await state('userns')).status === 'stopped');
    expect(made.output().trim().split(/\s+/)).toEqual(['0', '100000', '65536', '0']);
  });

  it('pauses and resumes every process; update sets new limits', async () => {
    const dir = await bundle('frozen', 'sleep 300');
    expect((await create('frozen', dir)).code).toBe(0);
    expect((await oci('start', 'frozen')).code).toBe(0);
    const { pid } = await state('frozen');
    expect((await oci('pause', 'frozen')).code).toBe(0);
    expect((await state('frozen')).status).toBe('paused');
    expect(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0]).toMatch(/[DS]/);
    expect((await oci('resume', 'frozen')).code).toBe(0);
    expect((await state('frozen')).status).toBe('running');
    const resources = join(work.path, 'resources.json');
    writeFileSync(resources, JSON.stringify({ pids: { limit: 42 } }));
    expect((await oci('update', '--resources', resources, 'frozen')).code).toBe(0);
    expect(createCgroupManager().stats(`/${parent}/frozen`).pidsLimit).toBe(42);
  });

  it('speaks the engines\' dialect: --log-format json, --systemd-cgroup (refused by name where it cannot be), runc-style --version, list', async () => {
    const log = join(work.path, 'log.json');
    const r = await runBin('diyc-oci', ['--root', root, '--log', log, '--log-format', 'json', 'start', 'absent']);
    expect(r.code).toBe(1);
    const line = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').pop() as string);
    expect(line).toMatchObject({ level: 'error', msg: 'container absent does not exist' });
    expect(new Date(line.time).getTime()).toBeGreaterThan(0);
    // runc's flag is taken; on this cgroup v1 host a container cannot use the driver, and says why.
    expect((await runBin('diyc-oci', ['--root', root, '--systemd-cgroup', 'list'])).code).toBe(0);
    const dir = await bundle('sdcg', 'true', (c) => { c.linux.cgroupsPath = 'system.slice:diyc:sdcg'; });
    ids.add('sdcg');
    const err = openSync(join(dir, 'stderr'), 'w');
    const child = spawn('diyc-oci', ['--root', root, '--systemd-cgroup', 'create', '--bundle', dir, 'sdcg'], { env: userEnv(), stdio: ['ignore', 'ignore', err] });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    closeSync(err);
    if (existsSync('/sys/fs/cgroup/cgroup.controllers') && existsSync('/run/systemd/system')) {
      expect(code, readFileSync(join(dir, 'stderr'), 'utf8')).toBe(0);
    } else {
      expect(code).not.toBe(0);
      expect(readFileSync(join(dir, 'stderr'), 'utf8')).toMatch(/the systemd cgroup driver needs (cgroup v2|systemd)/);
    }
    expect((await runBin('diyc-oci', ['--version'])).stdout).toMatch(/^diyc-oci version \d+\.\d+\.\d+\nspec: 1\.\d+\.\d+\nlibseccomp: /);
    const listed = JSON.parse((await oci('list', '--format', 'json')).stdout) as { id: string }[];
    expect(listed.map((c) => c.id)).toContain('frozen');
  });
});
