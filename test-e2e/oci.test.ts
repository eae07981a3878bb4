// diyc-oci driven as an engine drives a runtime: global flags first, a bundle with the
// busybox rootfs and a config.json, create / start / state / kill / delete, exec, hooks,
// pause and update; what it refuses; and the rest of runc's command line as runc behaves
// (update's flags, events, list, ps, kill 0, run --keep, exec's flags, exit codes, spec,
// checkpoint's checks). Each test has its own --root and cgroup parent. The bundles start
// from `diyc-oci spec`, which is `runc spec`: hostname runc, no seccomp profile.
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { rootTag } from '@diyc/record';
import { isRoot, ociBundle, onTerminal, rootReason, runBin, runCommand, tempDir, userEnv, type OciConfig } from './helpers.js';

describe.skipIf(!isRoot)(`diyc-oci (${rootReason})`, () => {
  const work = tempDir('diyc-oci-e2e-');
  const root = join(work.path, 'root');
  const parent = `diyc-e2e-oci-${process.pid}`;
  const ids = new Set<string>();
  const oci = (...args: string[]) => runBin('diyc-oci', ['--root', root, ...args], { timeoutMs: 30_000 });

  /** A bundle running `script`, with diyc-oci's own default config and the changes asked. */
  const bundle = (name: string, script: string, change?: (config: OciConfig) => void): Promise<string> =>
    ociBundle(join(work.path, name), script, `/${parent}/${name}`, change);
  /**
   * create with the container's stdout and stderr in files, as runtime-tools and the shims give
   * them: the container keeps them open, so a pipe would never close while it lives.
   */
  const create = async (id: string, dir: string, ...flags: string[]) => {
    ids.add(id);
    const [out, err] = [join(dir, 'stdout'), join(dir, 'stderr')];
    const fds = [openSync(out, 'w'), openSync(err, 'w')];
    const child = spawn('diyc-oci', ['--root', root, 'create', '--bundle', dir, ...flags, id], {
      env: userEnv(),
      stdio: ['ignore', ...fds],
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    for (const fd of fds) closeSync(fd);
    return { code, stderr: readFileSync(err, 'utf8'), output: () => readFileSync(out, 'utf8') };
  };
  const state = async (id: string) =>
    JSON.parse((await oci('state', id)).stdout) as { status: string; pid?: number; id: string; bundle: string; created: string };
  const until = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 25));
  };

  beforeAll(() => mkdirSync(root, { recursive: true }));
  afterAll(async () => {
    for (const id of ids) await oci('delete', '--force', id);
    await runBin('diyc-oci', ['--root', join(work.path, 'listroot'), 'delete', '--force', 'lst']);
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
    const stopped = await oci('state', 'life');
    expect(made.output()).toBe('hello from runc\n');
    const path = `/${parent}/life`;
    expect(createCgroupManager().exists(path)).toBe(true);
    expect((await oci('delete', 'life')).code).toBe(0);
    expect(createCgroupManager().exists(path)).toBe(false);
    const gone = await oci('state', 'life');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('container life does not exist');
    // runc's state: its key order, pid 0 once stopped, no newline at the end.
    expect(Object.keys(JSON.parse(stopped.stdout))).toEqual(['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner']);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ id: 'life', pid: 0, status: 'stopped', bundle: dir, rootfs: join(dir, 'rootfs') });
    expect(stopped.stdout.endsWith('}')).toBe(true);
  });

  it('run creates, starts, waits and deletes, exiting as the process; -d leaves it running', async () => {
    const dir = await bundle('runit', 'echo "run in $(hostname) as pid $$"; exit 7');
    ids.add('runit');
    const r = await oci('run', '--bundle', dir, 'runit');
    expect([r.code, r.stdout], r.stderr).toEqual([7, 'run in runc as pid 1\n']);
    expect((await oci('state', 'runit')).stderr).toContain('does not exist');
    expect(createCgroupManager().exists(`/${parent}/runit`)).toBe(false);

    const detached = await bundle('rund', 'sleep 100');
    ids.add('rund');
    // The container keeps its stdio: not pipes this test would wait on.
    const d = await runCommand(
      'sh',
      ['-c', `exec diyc-oci --root ${root} run -d --bundle ${detached} rund >/dev/null 2>${detached}/stderr`],
      { env: userEnv() },
    );
    expect(d.code, readFileSync(join(detached, 'stderr'), 'utf8')).toBe(0);
    expect((await state('rund')).status).toBe('running');
    expect((await oci('delete', '--force', 'rund')).code).toBe(0);

    // A process that cannot start: run says why, exits 1 (runc's code for a run that failed), and leaves nothing.
    const broken = await bundle('runbad', 'true', (config) => {
      config.process.args = ['/no/such/program'];
    });
    ids.add('runbad');
    const bad = await oci('run', '--bundle', broken, 'runbad');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('/no/such/program');
    expect((await oci('list', '--format', 'json')).stdout).not.toContain('runbad');
  });

  it('run on a terminal gives the process the terminal (process.terminal, no console socket), and exits as it', async () => {
    const dir = await bundle('runtty', '', (config) => {
      config.process.args = ['sh'];
      config.process.terminal = true;
    });
    ids.add('runtty');
    await onTerminal(['diyc-oci', '--root', root, 'run', '--bundle', dir, 'runtty'], {}, async (t) => {
      await t.screen(/[#$] ?$/m);
      t.keys('[ -t 0 ] && echo "terminal in $(hostname)"', 'Enter');
      await t.screen(/terminal in runc/);
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
    // diyc-oci spec (runc's) has no seccomp profile: one here, to see exec take the container's.
    const dir = await bundle('ex', 'sleep 300', (c) => {
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO' }] };
    });
    expect((await create('ex', dir)).code).toBe(0);
    expect((await oci('start', 'ex')).code).toBe(0);
    const r = await oci(
      'exec',
      'ex',
      'sh',
      '-c',
      'echo $(hostname) $$; grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\\t" " "; exit 7',
    );
    expect(r.code).toBe(7);
    const [first, ...rest] = r.stdout.trim().split('\n');
    expect(first).toMatch(/^runc \d+$/);
    expect(rest).toEqual(['NoNewPrivs: 1', 'Seccomp: 2']);
    const processFile = join(work.path, 'process.json');
    writeFileSync(processFile, JSON.stringify({ args: ['sleep', '60'], env: ['PATH=/bin'], cwd: '/', user: { uid: 65534, gid: 65534 } }));
    const pidFile = join(work.path, 'exec.pid');
    // The detached process keeps the stdio it was given, so give it none to hold.
    const detach = spawn('diyc-oci', ['--root', root, 'exec', '--detach', '--process', processFile, '--pid-file', pidFile, 'ex'], {
      env: userEnv(),
      stdio: 'ignore',
    });
    expect(await new Promise((r) => detach.on('exit', r))).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Uid:\s+65534\s/m);
    const ps = JSON.parse((await oci('ps', '--format', 'json', 'ex')).stdout) as number[];
    expect(ps).toContain(pid);
    expect(ps).toContain((await state('ex')).pid);
    // A process names itself: its argv, in ps's table (the host's ps, as runc runs it), cannot drive the reader's terminal.
    const named = spawn('diyc-oci', ['--root', root, 'exec', '--detach', 'ex', 'sh', '-c', 'sleep 60; true', '\u001b]0;owned\u0007'], {
      env: userEnv(),
      stdio: 'ignore',
    });
    expect(await new Promise((r) => named.on('exit', r))).toBe(0);
    const table = (await oci('ps', 'ex')).stdout;
    expect(table.split('\n')[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    expect(table).toContain('sh -c sleep 60; true');
    expect(table).not.toMatch(/\u001b/);
    // Only the container's processes, found by the PID column of ps's own header.
    const listed = table
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.trim().split(/\s+/)[1]));
    expect(listed.sort()).toEqual((JSON.parse((await oci('ps', '-f', 'json', 'ex')).stdout) as number[]).sort());
  });

  it('runs the hooks at their points, with the state on stdin; a failing prestart fails create and leaves nothing', async () => {
    const log = join(work.path, 'hooks.log');
    const hook = (name: string) => ({
      path: '/bin/sh',
      args: ['sh', '-c', `read s; echo "${name} $(echo "$s" | grep -o '"status":"[a-z]*"')" >> ${log}`],
    });
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
    expect(readFileSync(log, 'utf8')).toBe(
      'prestart "status":"created"\ncreateRuntime "status":"created"\ncreateContainer\npoststart "status":"running"\npoststop "status":"stopped"\n',
    );
    expect(readFileSync(join(dir, 'rootfs', 'started-hook'), 'utf8')).toBe('startContainer\n');
    const failing = await bundle('failhook', 'true', (c) => {
      c.hooks = { prestart: [{ path: '/bin/false' }] };
    });
    const r = await create('failhook', failing);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('prestart hook /bin/false failed');
    expect(existsSync(join(root, 'failhook'))).toBe(false);
    expect(createCgroupManager().exists(`/${parent}/failhook`)).toBe(false);
  });

  it('refuses by name what it cannot honour, and ignores properties the spec does not have', async () => {
    const refused = await create(
      'norefuse',
      await bundle('norefuse', 'true', (c) => {
        c.linux.intelRdt = { closID: 'x' };
        c.process.apparmorProfile = 'docker-default';
      }),
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('diyc-oci cannot honour linux.intelRdt, process.apparmorProfile (diyc has no AppArmor or SELinux)');
    const unknown = await create(
      'unknown',
      await bundle('unknown', 'true', (c) => {
        c.somethingNew = { a: 1 };
      }),
    );
    expect(unknown.code, unknown.stderr).toBe(0);
    const badCap = await create(
      'badcap',
      await bundle('badcap', 'true', (c) => {
        c.process.capabilities.bounding.push('CAP_TEST');
      }),
    );
    expect(badCap.stderr).toContain('unknown capability CAP_TEST');
    // A config that joins the host's own network namespace by path cannot set its sysctls.
    const hostNet = await create(
      'hostnet',
      await bundle('hostnet', 'true', (c) => {
        c.linux.namespaces = c.linux.namespaces
          .filter((ns: { type: string }) => ns.type !== 'network')
          .concat({ type: 'network', path: `/proc/${process.pid}/ns/net` });
        c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
      }),
    );
    expect(hostNet.code).toBe(1);
    expect(hostNet.stderr).toContain("sysctl net.ipv4.ip_forward needs a network namespace of the container's own");
    // diyc's own annotations are orders to its stages (attach to a bridge, publish a port): not a config's to give.
    const orders = await create(
      'orders',
      await bundle('orders', 'true', (c) => {
        c.annotations = { 'org.diyc.net.bridge': 'diyc0', 'org.diyc.net.publish': '2222:22/tcp', 'io.example.mine': 'fine' };
      }),
    );
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

  it("speaks the engines' dialect: --log-format json, --systemd-cgroup (refused by name where it cannot be), runc-style --version, list", async () => {
    const log = join(work.path, 'log.json');
    const r = await runBin('diyc-oci', ['--root', root, '--log', log, '--log-format', 'json', 'start', 'absent']);
    expect(r.code).toBe(1);
    const line = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').pop() as string);
    expect(line).toMatchObject({ level: 'error', msg: 'container absent does not exist' });
    expect(new Date(line.time).getTime()).toBeGreaterThan(0);
    // runc's flag is taken; on this cgroup v1 host a container cannot use the driver, and says why.
    expect((await runBin('diyc-oci', ['--root', root, '--systemd-cgroup', 'list'])).code).toBe(0);
    const dir = await bundle('sdcg', 'true', (c) => {
      c.linux.cgroupsPath = 'system.slice:diyc:sdcg';
    });
    ids.add('sdcg');
    const err = openSync(join(dir, 'stderr'), 'w');
    const child = spawn('diyc-oci', ['--root', root, '--systemd-cgroup', 'create', '--bundle', dir, 'sdcg'], {
      env: userEnv(),
      stdio: ['ignore', 'ignore', err],
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    closeSync(err);
    if (existsSync('/sys/fs/cgroup/cgroup.controllers') && existsSync('/run/systemd/system')) {
      expect(code, readFileSync(join(dir, 'stderr'), 'utf8')).toBe(0);
    } else {
      expect(code).not.toBe(0);
      expect(readFileSync(join(dir, 'stderr'), 'utf8')).toMatch(/the systemd cgroup driver needs (cgroup v2|systemd)/);
    }
    // runc's layout: containerd (go-runc) reads a first line that begins "runc version ".
    expect((await runBin('diyc-oci', ['--version'])).stdout).toMatch(
      /^runc version 1\.1\.5 \(diyc-oci \d+\.\d+\.\d+\)\ncommit: diyc-oci-\d+\.\d+\.\d+\nspec: 1\.\d+\.\d+\nnode: v\d+.*\nlibseccomp: /,
    );
    const listed = JSON.parse((await oci('list', '--format', 'json')).stdout) as { id: string }[];
    expect(listed.map((c) => c.id)).toContain('frozen');
  });

  /** A cgroup file of container `id` (bundle's cgroupsPath /PARENT/ID), from whichever hierarchy has it. */
  const cgroupFile = (id: string, name: string): string => {
    const files = createCgroupManager()
      .procsFiles(`/${parent}/${id}`)
      .map((f) => join(f, '..', name));
    return readFileSync(files.find((f) => existsSync(f)) as string, 'utf8').trim();
  };
  /** run -d: the container keeps its stdio, so they go to files, not to pipes this test would wait on. */
  const runDetached = async (id: string, dir: string) => {
    ids.add(id);
    const r = await runCommand('sh', ['-c', `exec diyc-oci --root ${root} run -d --bundle ${dir} ${id} >/dev/null 2>${dir}/stderr`], {
      env: userEnv(),
    });
    expect(r.code, readFileSync(join(dir, 'stderr'), 'utf8')).toBe(0);
  };

  it("update takes runc's flags, before or after the ID: a quota or a period alone keeps the other, -1 removes a limit, a paused container stays paused", async () => {
    const dir = await bundle('upd', 'sleep 300', (c) => {
      c.linux.resources = {
        ...c.linux.resources,
        memory: { limit: 33554432 },
        cpu: { shares: 100, quota: 500000, period: 1000000 },
        pids: { limit: 20 },
      };
    });
    await runDetached('upd', dir);
    const cpu = () => `${cgroupFile('upd', 'cpu.cfs_quota_us')} ${cgroupFile('upd', 'cpu.cfs_period_us')}`;
    if (existsSync('/sys/fs/cgroup/cpu')) {
      expect((await oci('update', '--cpu-period', '900000', 'upd')).code).toBe(0);
      expect(cpu()).toBe('500000 900000');
      expect((await oci('update', 'upd', '--cpu-quota', '600000')).code).toBe(0);
      expect(cpu()).toBe('600000 900000');
      expect((await oci('update', 'upd', '--cpu-quota', '-1')).code).toBe(0);
      expect(cpu()).toBe('-1 900000');
      expect((await oci('update', 'upd', '--memory', '50M')).code).toBe(0);
      expect(cgroupFile('upd', 'memory.limit_in_bytes')).toBe('52428800');
    }
    expect((await oci('update', 'upd', '--pids-limit', '-1')).code).toBe(0);
    expect(cgroupFile('upd', 'pids.max')).toBe('max');
    expect((await oci('pause', 'upd')).code).toBe(0);
    expect((await oci('update', 'upd', '--pids-limit', '30')).code).toBe(0);
    expect(cgroupFile('upd', 'pids.max')).toBe('30');
    expect((await state('upd')).status).toBe('paused');
    expect((await oci('resume', 'upd')).code).toBe(0);
    // -r -: the spec's linux.resources on stdin; the flags are then ignored.
    const r = await runBin('diyc-oci', ['--root', root, 'update', '--pids-limit', '99', '-r', '-', 'upd'], {
      input: '{"pids": {"limit": 21}}',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(cgroupFile('upd', 'pids.max')).toBe('21');
    const bad = await oci('update', 'upd', '--cpu-share', 'lots');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid value for cpu-share');
  });

  it('events: --stats prints one stats object; the stream ends, with status 0, once the container is deleted', async () => {
    const dir = await bundle('ev', 'sleep 300');
    await runDetached('ev', dir);
    const once = await oci('events', '--stats', 'ev');
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toMatch(/^\{"type":"stats","id":"ev","data":\{"cpu":\{"usage":/);
    expect(JSON.parse(once.stdout).data.pids.current).toBe(1);
    const stream = runBin('diyc-oci', ['--root', root, 'events', '--interval', '100ms', 'ev'], { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 600));
    expect((await oci('delete', '--force', 'ev')).code).toBe(0);
    const ended = await stream;
    expect(ended.code, ended.stderr).toBe(0);
    const lines = ended.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ type: 'stats', id: 'ev' });
    const stopped = await oci('events', '--stats', 'ev');
    expect(stopped.code).toBe(1);
  });

  it("list: runc's table and JSON (its key order, pid 0 once stopped); kill ... 0 checks, kill -a on a stopped container is no error", async () => {
    const listRoot = join(work.path, 'listroot');
    const inList = (...args: string[]) => runBin('diyc-oci', ['--root', listRoot, ...args]);
    expect((await inList('list', '--format', 'json')).stdout).toBe('null\n');
    const dir = await bundle('lst', 'sleep 300');
    const r = await runCommand('sh', ['-c', `exec diyc-oci --root ${listRoot} run -d --bundle ${dir} lst >/dev/null 2>&1`], {
      env: userEnv(),
    });
    expect(r.code).toBe(0);
    const json = (await inList('list', '--format', 'json')).stdout;
    expect(json).toMatch(
      new RegExp(
        `^\\[\\{"ociVersion":"[0-9.]+","id":"lst","pid":\\d+,"status":"running","bundle":"${dir}","rootfs":"${dir}/rootfs","created":"[^"]+","owner":"root"\\}\\]\\n$`,
      ),
    );
    const table = (await inList('list')).stdout.split('\n');
    expect(table[0]).toMatch(/^ID {10}PID {9}STATUS {6}BUNDLE +CREATED +OWNER$/);
    expect(table[1]).toMatch(new RegExp(`^lst {9}\\d+ +running {5}${dir} +\\S+ +root$`));
    expect((await inList('list', '-q')).stdout).toBe('lst\n');
    expect((await inList('kill', 'lst', '0')).code).toBe(0);
    expect((await inList('kill', 'lst', 'KILL')).code).toBe(0);
    for (let i = 0; i < 100 && JSON.parse((await inList('state', 'lst')).stdout).status !== 'stopped'; i++)
      await new Promise((res) => setTimeout(res, 50));
    expect((await inList('kill', '-a', 'lst', '0')).code).toBe(0);
    const late = await inList('kill', 'lst', '0');
    expect([late.code, late.stderr.includes('container not running')]).toEqual([1, true]);
    expect(JSON.parse((await inList('list', '--format', 'json')).stdout)[0]).toMatchObject({ id: 'lst', pid: 0, status: 'stopped' });
    expect((await inList('delete', 'lst')).code).toBe(0);
  });

  it("ps passes its options to the host's ps, after the ID", async () => {
    const dir = await bundle('pso', 'sleep 300');
    await runDetached('pso', dir);
    const r = await oci('ps', 'pso', '-e', '-x');
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = r.stdout.replace(/\n$/, '').split('\n');
    expect(header).toMatch(/^\s+PID\s+TTY\s+STAT\s+TIME\s+COMMAND$/);
    expect(rows.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual([(await state('pso')).pid]);
    expect(rows[0]).toContain('sleep 300');
  });

  it('run --keep leaves the stopped container, its cgroup too, for delete', async () => {
    const dir = await bundle('keep', 'echo kept');
    ids.add('keep');
    const r = await oci('run', '--keep', '--bundle', dir, 'keep');
    expect([r.code, r.stdout], r.stderr).toEqual([0, 'kept\n']);
    expect((await state('keep')).status).toBe('stopped');
    expect(createCgroupManager().exists(`/${parent}/keep`)).toBe(true);
    expect((await oci('delete', 'keep')).code).toBe(0);
    expect(createCgroupManager().exists(`/${parent}/keep`)).toBe(false);
    expect((await oci('state', 'keep')).code).toBe(1);
  });

  it("exec takes runc's flags (-g, -c, --no-new-privs, --cgroup, --ignore-paused) and its codes: 255 when exec itself fails", async () => {
    const dir = await bundle('exf', 'sleep 300');
    await runDetached('exf', dir);
    expect((await oci('exec', '--user', '1000:1000', '-g', '100', '--additional-gids', '65534', 'exf', 'id', '-G')).stdout).toBe(
      '1000 100 65534\n',
    );
    const caps = (await oci('exec', '-c', 'CAP_SYS_ADMIN', 'exf', 'grep', 'CapBnd', '/proc/self/status')).stdout;
    expect(BigInt(`0x${caps.split(/\s+/)[1]}`) & (1n << 21n)).toBe(1n << 21n);
    expect((await oci('exec', '--no-new-privs=false', 'exf', 'grep', 'NoNewPrivs', '/proc/self/status')).stdout).toMatch(/NoNewPrivs:\s+0/);
    // Every hierarchy the container joined, its exec'd process joins too.
    const lines = (await oci('exec', 'exf', 'cat', '/proc/self/cgroup')).stdout.trim().split('\n');
    for (const l of lines) expect(l.endsWith(`:/${parent}/exf`), l).toBe(true);
    const sub = await oci('exec', '--cgroup', 'nonexistent', 'exf', 'true');
    expect([sub.code, /adding pid .*\/nonexistent\/cgroup\.procs: no such file/.test(sub.stderr)]).toEqual([255, true]);
    expect((await oci('exec', '--cgroup', '..', 'exf', 'true')).stderr).toContain('.. is not a sub cgroup path');
    expect((await oci('exec', 'exf', 'sh', '-c', 'exit 42')).code).toBe(42);
    for (const args of [['exf', 'no-such-binary'], ['--pid-file', '/non-existent/directory', 'exf', 'true'], ['nosuch', 'true'], ['exf']]) {
      const r = await oci('exec', ...args);
      expect(r.code, args.join(' ')).toBe(255);
      expect(r.stderr, args.join(' ')).toContain('exec failed: ');
    }
    expect((await oci('pause', 'exf')).code).toBe(0);
    const refused = await oci('exec', 'exf', 'echo', 'ok');
    expect([refused.code, refused.stderr.includes('cannot exec in a paused container')]).toEqual([255, true]);
    const resume = new Promise((r) => setTimeout(r, 1000)).then(() => oci('resume', 'exf'));
    const late = await oci('exec', '--ignore-paused', 'exf', 'echo', 'ok');
    expect([late.code, late.stdout]).toEqual([0, 'ok\n']);
    expect((await resume).code).toBe(0);
  });

  it('exits as runc: 1 for any error, usage ones too ("Incorrect Usage." and the help on stdout), 3 for an unknown command', async () => {
    const usage = await oci('state');
    expect(usage.code).toBe(1);
    expect(usage.stdout).toMatch(/^Incorrect Usage\.\n\nNAME:\n {3}diyc-oci state - /);
    expect(usage.stderr).toContain('state\\" requires exactly 1 argument(s)');
    const flag = await oci('state', '--nope', 'x');
    expect([flag.code, flag.stdout.startsWith('Incorrect Usage: flag provided but not defined: -nope')]).toEqual([1, true]);
    expect((await oci('start', 'never-was')).code).toBe(1);
    const unknown = await oci('foo', '-h');
    expect([unknown.code, unknown.stderr.includes("No help topic for 'foo'")]).toEqual([3, true]);
    const help = await oci('update', '--help');
    expect([help.code, help.stdout.split('\n')[1]]).toEqual([
      0,
      '   diyc-oci update - update container resource constraints (as runc update)',
    ]);
    const log = join(work.path, 'debug.log');
    const dir = await bundle('dbg', 'echo hello');
    ids.add('dbg');
    const run = await oci('--log', log, '--log-format', 'json', '--debug', 'run', '--bundle', dir, 'dbg');
    expect([run.code, run.stdout, run.stderr]).toEqual([0, 'hello\n', '']);
    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(lines.every((l) => l.level === 'debug')).toBe(true);
    for (const phrase of ['nsexec container setup', 'child process in init()', 'init: closing the pipe to signal completion'])
      expect(
        lines.some((l) => l.msg.includes(phrase)),
        phrase,
      ).toBe(true);
  });

  it("a run that fails at create (a command not in the root) leaves no cgroup: not its own, nor its --root's parent", async () => {
    const dir = await bundle('nocmd', 'true', (c) => {
      c.process.args = ['nosuch'];
      delete c.linux.cgroupsPath; // diyc-oci's own parent for this --root, diyc-oci-TAG
    });
    const r = await oci('run', '--bundle', dir, 'nocmd');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nosuch: command not found');
    expect(
      createCgroupManager({ parent: `diyc-oci-${rootTag(root, '/run/diyc-oci')}` }).exists(`/diyc-oci-${rootTag(root, '/run/diyc-oci')}`),
    ).toBe(false);
  });

  it('spec writes what runc spec writes (but the spec version), and refuses to overwrite one', async () => {
    const mine = join(work.path, 'spec-mine');
    mkdirSync(mine);
    expect((await runBin('diyc-oci', ['spec', '-b', mine])).code).toBe(0);
    const text = readFileSync(join(mine, 'config.json'), 'utf8');
    expect(text.startsWith('{\n\t"ociVersion": ')).toBe(true);
    expect(text.endsWith('}')).toBe(true);
    const again = await runBin('diyc-oci', ['spec', '-b', mine]);
    expect([again.code, again.stderr.includes('File config.json exists. Remove it first')]).toEqual([1, true]);
    const runc = await runCommand('sh', ['-c', 'command -v runc']);
    if (runc.code !== 0) return;
    const theirs = join(work.path, 'spec-runc');
    mkdirSync(theirs);
    expect((await runCommand('runc', ['spec', '-b', theirs])).code).toBe(0);
    const norm = (t: string) => t.replace(/"ociVersion": "[^"]*"/, '"ociVersion": "V"');
    expect(norm(text)).toBe(norm(readFileSync(join(theirs, 'config.json'), 'utf8')));
  });

  it('checkpoint checks --parent-path as runc does, before CRIU runs', async () => {
    const dir = await bundle('ckpt', 'sleep 300');
    await runDetached('ckpt', dir);
    const cwd = join(work.path, 'ckpt-cwd');
    mkdirSync(cwd);
    const inCwd = (...args: string[]) =>
      runCommand('sh', ['-c', `cd ${cwd} && exec diyc-oci --root ${root} ${args.join(' ')}`], { env: userEnv() });
    const abs = await inCwd(
      'checkpoint',
      '--parent-path',
      `${cwd}/parent-dir`,
      '--work-path',
      './work-dir',
      '--image-path',
      './image-dir',
      'ckpt',
    );
    expect([abs.code, abs.stderr.includes('--parent-path must be relative')]).toEqual([1, true]);
    const missing = await inCwd(
      'checkpoint',
      '--parent-path',
      './parent-dir',
      '--work-path',
      './work-dir',
      '--image-path',
      './image-dir',
      'ckpt',
    );
    expect([missing.code, missing.stderr.includes('invalid --parent-path: stat image-dir/parent-dir: no such file or directory')]).toEqual([
      1,
      true,
    ]);
    expect(existsSync(join(cwd, 'image-dir'))).toBe(true);
    expect((await state('ckpt')).status).toBe('running');
    const created = await create('ckpt2', await bundle('ckpt2', 'true'));
    expect(created.code).toBe(0);
    const early = await oci('checkpoint', 'ckpt2');
    expect([early.code, early.stderr.includes('Container cannot be checkpointed in created state')]).toEqual([1, true]);
  });

  it('a foreground pty (process.terminal, no console socket): fds 0 to 2 on a pty of the container\'s own, owned by its user and the tty group, "\\n" kept as is; with no stdio a terminal, the controlling one gives the size', async () => {
    const dir = await bundle('ptyfg', '', (c) => {
      c.process.terminal = true;
      c.process.user = { uid: 1000, gid: 100 };
      c.process.args = ['sh', '-c', 'for f in /proc/self/fd/[012]; do readlink $f; done; stat -c %u:%g $(tty); stty size'];
    });
    ids.add('ptyfg');
    const out = join(work.path, 'ptyfg.out');
    // script(1) gives the run a controlling terminal (24x80) that is none of its stdio.
    const r = await runCommand(
      'script',
      ['-qec', `stty rows 24 cols 80; diyc-oci --root ${root} run --bundle ${dir} ptyfg </dev/null >${out} 2>&1`, '/dev/null'],
      { env: userEnv() },
    );
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^\/dev\/pts\/(\d+)\n\/dev\/pts\/\1\n\/dev\/pts\/\1\n1000:5\n24 80\n$/);
  });
});
