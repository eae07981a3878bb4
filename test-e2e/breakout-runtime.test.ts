// Breakout, second round: attacks on the runtime itself and on its defaults, from inside a
// container started with default options, checked from the host. The user's terminal
// (TIOCSTI), a process on its way into a running container (CVE-2019-5736: its exe, fds,
// memory, ptrace before its seccomp filter), io_uring, a fork bomb, and the host's own
// network. Where it is safe the same attack also runs with the control off, to show that
// the control is what stops it.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { busyboxTarball, isRoot, onTerminal, repo, rootReason, runBin, runCommand, tempDir, testNetwork, userEnv } from './helpers.js';

describe.skipIf(!isRoot)(`breakout: the runtime and its defaults (${rootReason})`, () => {
  const work = tempDir('diyc-breakout2-');
  const root = join(work.path, 'state');
  const ociRoot = join(work.path, 'oci');
  const parent = `diyc-e2e-breakout2-${process.pid}`;
  const { bridge, subnet } = testNetwork('r');
  const env = { ...process.env, DIYC_ROOT: root, DIYC_CGROUP_PARENT: parent, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet };
  const names = new Set<string>();
  const name = (n: string): string => {
    names.add(n);
    return n;
  };
  const run = (args: string[], timeoutMs = 60_000) => runBin('diyc-run', args, { env, timeoutMs });
  const oci = (...args: string[]) => runBin('diyc-oci', ['--root', ociRoot, ...args], { env, timeoutMs: 60_000 });
  const ociIds = new Set<string>();
  /** `diyc-oci run -d`: the container keeps its stdio, so they go to files, not to pipes we wait on. */
  const ociDetached = (dir: string, id: string) =>
    runCommand('sh', ['-c', `exec diyc-oci --root ${ociRoot} run -d --bundle ${dir} ${id} >${dir}/stdout 2>${dir}/stderr`], {
      env: userEnv(env),
      timeoutMs: 60_000,
    });
  const tree = join(work.path, 'tree');
  /** A file on the host that an attack tries to make through the user's terminal. */
  const pwned = join(work.path, 'pwned');

  /** An OCI bundle of the attack image running `args`, changed as asked. */
  const bundle = async (id: string, args: string[], change: (c: Record<string, any>) => void = () => {}): Promise<string> => {
    const dir = join(work.path, `bundle-${id}`);
    mkdirSync(dir, { recursive: true });
    expect((await runBin('diyc-oci', ['spec', '--no-terminal', '--bundle', dir])).code).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    config.root = { path: tree, readonly: true };
    config.process.args = args;
    config.linux.cgroupsPath = `/${parent}/oci-${id}`;
    change(config);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    ociIds.add(id);
    return dir;
  };

  beforeAll(async () => {
    // The attack image: busybox and a static probe for what busybox cannot do.
    mkdirSync(tree);
    execFileSync('tar', ['-xpf', busyboxTarball(), '-C', tree]);
    execFileSync('gcc', ['-static', '-O2', '-o', join(tree, 'bin', 'probe'), join(repo, 'test-e2e', 'probe.c')]);
    execFileSync('tar', ['-cf', join(work.path, 'attack.tar'), '-C', tree, '.']);
    const r = await runBin('diyc-image', ['unpack', join(work.path, 'attack.tar'), '--name', 'attack'], { env });
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    for (const n of names) await runBin('diyc-rm', ['-f', n], { env });
    for (const id of ociIds) await oci('delete', '--force', id);
    await runBin('diyc-net', ['clean'], { env });
    const cgroups = createCgroupManager({ parent });
    for (const n of cgroups.list()) cgroups.remove(cgroups.pathOf(n), { force: true });
    cgroups.pruneParent();
    work.remove();
  });

  /**
   * Types `command` at a host shell on a terminal (tmux), waits for the shell to come back,
   * then runs what the attack typed, if anything reached the host's shell: a TIOCSTI that
   * got through leaves "touch PWNED" queued as the shell's next line.
   */
  const onHostShell = async (command: string): Promise<void> => {
    rmSync(pwned, { force: true });
    await onTerminal(
      ['bash', '--norc', '--noprofile'],
      { DIYC_ROOT: root, DIYC_CGROUP_PARENT: parent, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet, PS1: 'host$ ' },
      async (t) => {
        await t.screen(/host\$ ?$/m);
        t.keys(`${command}; echo "done $?"`, 'Enter');
        await t.screen(/^done \d+/m);
        // Whatever was pushed into the host terminal's input runs now, as it would once the user came back.
        t.keys('Enter');
        await new Promise((r) => setTimeout(r, 500));
        t.keys('exit', 'Enter');
      },
    );
  };
  const attack = `probe tiocsti 'touch ${pwned}~'`;

  it('TIOCSTI on this kernel types into the terminal of the process that holds it: the attack, with no container in the way', async () => {
    expect(readFileSync('/proc/sys/dev/tty/legacy_tiocsti', 'utf8').trim()).toBe('1');
    await onHostShell(`${join(tree, 'bin', 'probe')} tiocsti 'touch ${pwned}~'`);
    expect(existsSync(pwned)).toBe(true);
  }, 120_000);

  it("TIOCSTI from diyc-run, diyc-exec and diyc-oci run on a terminal lands in the container's own pty", async () => {
    await onHostShell(`diyc-run --rm ${name('tty1')} attack sh -c "tty; ${attack}"`);
    expect(existsSync(pwned)).toBe(false);
    const target = name('tty2');
    expect((await run(['-d', target, 'attack', 'sleep', '300'])).code).toBe(0);
    await onHostShell(`diyc-exec ${target} sh -c "${attack}"`);
    expect(existsSync(pwned)).toBe(false);
    const dir = await bundle('tty3', ['sh', '-c', attack], (c) => {
      c.process.terminal = true;
    });
    await onHostShell(`diyc-oci --root ${ociRoot} run --bundle ${dir} tty3`);
    expect(existsSync(pwned)).toBe(false);
  }, 120_000);

  it("without a terminal for stdin, the container has no controlling tty: TIOCSTI on the user's stdout is refused", async () => {
    await onHostShell(
      `diyc-run --rm ${name('notty')} attack sh -c "${attack} 1; ${attack} 2" < /dev/null 2>&1 | cat; diyc-run --rm ${name('notty2')} attack sh -c "${attack} 1" < /dev/null`,
    );
    expect(existsSync(pwned)).toBe(false);
  }, 120_000);

  it('the pty proxy: window size and its changes, Ctrl-C, Ctrl-D, exit codes, and the terminal given back as it was', async () => {
    await onTerminal(
      ['diyc-run', '--rm', name('pty'), 'attack', 'sh'],
      { DIYC_ROOT: root, DIYC_CGROUP_PARENT: parent, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet },
      async (t) => {
        await t.screen(/# ?$/m);
        t.keys('stty size; tty', 'Enter');
        await t.screen(/^30 120\n\/dev\/pts\/0/m);
        // Ctrl-C once the command runs (sent while the shell still reads the line, it only
        // ends the line).
        t.keys('echo sleep""ing; sleep 100', 'Enter');
        await t.screen(/^sleeping/m);
        t.keys('C-c');
        t.keys('echo "after ctrl-c"', 'Enter');
        await t.screen(/^after ctrl-c/m);
        t.keys('C-d');
        expect(await t.exitStatus()).toBe('0');
      },
    );
    const modes = join(work.path, 'stty');
    await onTerminal(
      ['sh', '-c', `"diyc-run --rm ${name('pty2')} attack sh -c 'exit 7'; echo \\$? > ${modes}; stty -a >> ${modes}; exit 3"`],
      { DIYC_ROOT: root, DIYC_CGROUP_PARENT: parent, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet },
      async (t) => {
        expect(await t.exitStatus()).toBe('3');
      },
    );
    // The container's exit code, then canonical input and echo back on after raw mode.
    const [code, ...stty] = readFileSync(modes, 'utf8').split('\n');
    expect(code).toBe('7');
    expect(stty.join(' ')).toMatch(/ icanon /);
    expect(stty.join(' ')).toMatch(/ echo /);
  }, 120_000);

  it('a process joining a container is not dumpable until it execs: nothing inside opens its exe, environ or mem, or ptraces it (20 diyc-exec, 20 diyc-oci exec)', async () => {
    // One watcher at a time: each spins on a core, and two at once on a 2-core CI machine
    // slowed every exec past the test's time.
    const watched = async (start: () => Promise<unknown>, inside: (args: string[]) => Promise<{ code: number | null; stdout: string }>) => {
      await start();
      for (let i = 0; i < 20; i++) expect((await inside(['true'])).code).toBe(0);
      await inside(['touch', '/tmp/stop']);
      let out = '';
      for (let i = 0; i < 150 && !out.includes('watch:'); i++) {
        out = (await inside(['cat', '/tmp/watch'])).stdout;
        if (!out.includes('watch:')) await new Promise((r) => setTimeout(r, 200));
      }
      const counts = Object.fromEntries([...out.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
      expect(counts, out).toMatchObject({ exe: 0, environ: 0, mem: 0, ptrace: 0 });
      return counts.seen ?? 0;
    };
    const watcher = ['sh', '-c', 'probe watch 600 > /tmp/watch; sleep 300'];
    const target = name('join');
    let seen = await watched(
      async () => expect((await run(['-d', '--net', 'none', target, 'attack', ...watcher])).code).toBe(0),
      (args) => runBin('diyc-exec', [target, ...args], { env }),
    );
    await runBin('diyc-rm', ['-f', target], { env });
    const dir = await bundle('join', watcher, (c) => {
      c.root.readonly = false;
    });
    seen += await watched(
      async () => expect((await ociDetached(dir, 'join')).code).toBe(0),
      (args) => oci('exec', 'join', ...args),
    );
    // The watchers did see processes on their way in (the race was run), and got nothing of them.
    expect(seen).toBeGreaterThan(0);
  }, 300_000);

  it("a container held before execve in another's PID namespace: its exe cannot be opened nor traced from there, unless CAP_SYS_PTRACE is given", async () => {
    const dir = await bundle('victimhost', ['sleep', '300']);
    expect((await ociDetached(dir, 'victimhost')).code).toBe(0);
    const hostPid = JSON.parse((await oci('state', 'victimhost')).stdout).pid as number;
    const held = await bundle('held', ['true'], (c) => {
      c.linux.namespaces = c.linux.namespaces.map((ns: { type: string }) =>
        ns.type === 'pid' ? { type: 'pid', path: `/proc/${hostPid}/ns/pid` } : ns,
      );
    });
    const child = spawn('diyc-oci', ['--root', ociRoot, 'create', '--bundle', held, 'held'], { env: userEnv(env), stdio: 'ignore' });
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
    // Inside the first container, the held process is the one whose command line is Node's.
    const find = 'for p in /proc/[0-9]*; do [ ${p#/proc/} != $$ ] && grep -q diyc-oci $p/cmdline 2>/dev/null && echo ${p#/proc/}; done';
    const pid = (await oci('exec', 'victimhost', 'sh', '-c', find)).stdout.trim();
    expect(pid).toMatch(/^\d+$/);
    const tried = await oci('exec', 'victimhost', 'sh', '-c', `probe exe ${pid}; probe ptrace ${pid}`);
    expect(tried.stdout.trim().split('\n')).toEqual(['exe: EACCES', 'ptrace: EPERM']);
    // With CAP_SYS_PTRACE the same open works: the check that stops it is the process's dumpability.
    const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).process;
    const caps = [...spec.capabilities.bounding, 'CAP_SYS_PTRACE'];
    const proc = { ...spec, args: ['probe', 'exe', pid], capabilities: { bounding: caps, effective: caps, permitted: caps } };
    writeFileSync(join(work.path, 'ptrace.json'), JSON.stringify(proc));
    expect((await oci('exec', '--process', join(work.path, 'ptrace.json'), 'victimhost')).stdout.trim()).toBe('exe: ok foreign');
  }, 120_000);

  it('io_uring is refused by the default seccomp profile; unconfined, it answers', async () => {
    expect((await run(['--rm', '--net', 'none', name('uring'), 'attack', 'probe', 'iouring'])).stdout).toBe('iouring: EPERM\n');
    expect(
      (await run(['--rm', '--net', 'none', '--security-opt', 'seccomp=unconfined', name('uring2'), 'attack', 'probe', 'iouring'])).stdout,
    ).toMatch(/^iouring: ok/);
  });

  it('a fork bomb stays inside: 2048 processes by default, --pids N, --pids-limit -1 for none', async () => {
    const pidsMax = async (flags: string[]): Promise<string> => {
      const n = name(`pids${names.size}`);
      expect((await run(['-d', '--net', 'none', ...flags, n, 'attack', 'sleep', '300'])).code).toBe(0);
      const cgroups = createCgroupManager({ parent });
      const file = cgroups
        .procsFiles(cgroups.pathOf(n))
        .map((f) => join(f, '..', 'pids.max'))
        .find((f) => existsSync(f));
      const value = readFileSync(file as string, 'utf8').trim();
      await runBin('diyc-rm', ['-f', n], { env });
      return value;
    };
    expect(await pidsMax([])).toBe('2048');
    expect(await pidsMax(['--pids-limit', '-1'])).toBe('max');
    // The bomb itself, under a small limit: the kernel refuses its forks past the limit
    // (pids.events counts them) and it never holds more.
    const bomb = name('bomb');
    expect(
      (
        await run([
          '-d',
          '--net',
          'none',
          '--pids',
          '40',
          bomb,
          'attack',
          'sh',
          '-c',
          '(for i in $(seq 200); do sleep 300 & done) 2>/dev/null; exec sleep 300',
        ])
      ).code,
    ).toBe(0);
    const cgroups = createCgroupManager({ parent });
    const dir = join(
      cgroups
        .procsFiles(cgroups.pathOf(bomb))
        .map((f) => join(f, '..'))
        .find((d) => existsSync(join(d, 'pids.events'))) as string,
    );
    let refused = 0;
    for (let i = 0; i < 100 && refused === 0; i++) {
      refused = Number(/max (\d+)/.exec(readFileSync(join(dir, 'pids.events'), 'utf8'))?.[1] ?? 0);
      if (refused === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(refused).toBeGreaterThan(0);
    expect(cgroups.pids(cgroups.pathOf(bomb)).length).toBeLessThanOrEqual(40);
    await runBin('diyc-rm', ['-f', bomb], { env });
  }, 120_000);

  it("the host's network is out of reach by default: its loopback servers and abstract sockets; --net host gives them back", async () => {
    const servers: Server[] = [];
    const listen = (server: Server, where: object): Promise<void> =>
      new Promise((r) => {
        servers.push(server);
        server.listen(where, () => r());
      });
    const tcp = createServer((s) => s.end('host-secret\n'));
    await listen(tcp, { host: '127.0.0.1', port: 0 });
    const port = (tcp.address() as { port: number }).port;
    const abstractName = `diyc-test-${process.pid}`;
    await listen(
      createServer((s) => s.end()),
      { path: `\0${abstractName}` },
    );
    const script = `nc -w 2 127.0.0.1 ${port} </dev/null || echo no-tcp; probe abstract ${abstractName}; readlink /proc/self/ns/net`;
    try {
      const own = await run(['--rm', name('hostnet1'), 'attack', 'sh', '-c', script]);
      const lines = own.stdout.trim().split('\n');
      expect(lines.slice(0, 2), own.stderr).toEqual(['no-tcp', 'abstract: ECONNREFUSED']);
      expect(lines[2]).not.toBe(execFileSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).trim());
      const shared = await run(['--rm', '--net', 'host', name('hostnet2'), 'attack', 'sh', '-c', script]);
      expect(shared.stdout.trim().split('\n').slice(0, 2)).toEqual(['host-secret', 'abstract: ok 0']);
    } finally {
      for (const s of servers) s.close();
    }
  });
});
