// diyc-run end to end, on the default busybox image, with a bridge, subnet, state root
// and cgroup parent of the test's own: diyC's scenarios, the lifecycle tools, and the
// pipeline that --dry-run prints, replayed by hand.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager, detectLayout } from '@diyc/cgroup';
import { NET_RUN_DIR, netnsPath } from '@diyc/net';
import { busyboxTarball, isRoot, onTerminal, rootReason, runBin, runCommand, tempDir, testNetwork, userEnv } from './helpers.js';

describe.skipIf(!isRoot)(`diyc-run (${rootReason})`, () => {
  const { bridge, subnet, prefix } = testNetwork('r');
  const work = tempDir('diyc-run-e2e-');
  const root = join(work.path, 'state');
  const parent = `diyc-e2e-run-${process.pid}`;
  const env = { ...process.env, DIYC_ROOT: root, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet, DIYC_CGROUP_PARENT: parent };
  const run = (args: string[], input?: string) =>
    runBin('diyc-run', args, { env, timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  const tool = (bin: string, ...args: string[]) => runBin(bin, args, { env });
  const cgroups = createCgroupManager({ parent });
  const get = (url: string) => spawnSync('busybox', ['wget', '-q', '-O', '-', url], { encoding: 'utf8', timeout: 5000 }).stdout;
  const mounts = (container = '') =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(join(root, 'containers', container)));
  const netnsLeft = () =>
    (existsSync('/run/netns') ? readdirSync('/run/netns') : []).filter((n) =>
      [...knownNames].some((k) => netnsPath(k, root) === `/run/netns/${n}`),
    );
  /** The bridge's leases (machine-wide; the file goes with the last one). */
  const leases = () =>
    existsSync(join(NET_RUN_DIR, `${bridge}.leases.json`))
      ? JSON.parse(readFileSync(join(NET_RUN_DIR, `${bridge}.leases.json`), 'utf8'))
      : {};
  const knownNames = new Set<string>();
  /** Alive and not a zombie (an orphan waits for this machine's init to reap it). */
  const running = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  };
  const name = (n: string) => {
    knownNames.add(n);
    return n;
  };
  const waitFor = async (check: () => boolean, ms = 10_000) => {
    for (const end = Date.now() + ms; Date.now() < end; ) {
      if (check()) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return check();
  };

  beforeAll(async () => {
    expect((await runBin('diyc-image', ['unpack', busyboxTarball()], { env })).code).toBe(0);
    expect((await runBin('diyc-net', ['setup'], { env })).code).toBe(0);
  });

  afterAll(async () => {
    for (const n of knownNames) await tool('diyc-rm', '-f', n);
    await runBin('diyc-net', ['clean'], { env });
    for (const n of cgroups.list()) cgroups.remove(cgroups.pathOf(n), { force: true });
    cgroups.pruneParent();
    work.remove();
  });

  it("1. gets a container running: an interactive shell with its own hostname and processes; exit 3 is diyc-run's 3", async () => {
    const vars = { DIYC_ROOT: root, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet, DIYC_CGROUP_PARENT: parent };
    await onTerminal(['diyc-run', name('shell'), 'busybox', 'sh'], vars, async (t) => {
      await t.screen(/[#$] ?$/m);
      t.keys('echo "host=$(hostname)"; ps -o pid,comm', 'Enter');
      const text = await t.screen(/host=shell[\s\S]*PID[\s\S]*ps/);
      const procs = text
        .slice(text.indexOf('PID'))
        .split('\n')
        .slice(1)
        .map((l) => l.trim())
        .filter((l) => /^\d+ /.test(l));
      expect(procs.map((l) => l.split(/\s+/)[1])).toEqual(['sh', 'ps']);
      expect(procs[0]?.startsWith('1 ')).toBe(true);
      t.keys('exit 3', 'Enter');
      expect(await t.exitStatus()).toBe('3');
    });
  });

  it("takes docker's -t: the command has the terminal; without one, -t is refused as docker refuses it", async () => {
    const vars = { DIYC_ROOT: root, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet, DIYC_CGROUP_PARENT: parent };
    await onTerminal(
      [
        'diyc-run',
        '--rm',
        '-t',
        '--net',
        'none',
        name('tty'),
        'busybox',
        'sh',
        '-c',
        '"[ -t 0 ] && [ -t 1 ] && echo on-a-terminal; sleep 1"',
      ],
      vars,
      async (t) => {
        await t.screen(/on-a-terminal/);
        expect(await t.exitStatus()).toBe('0');
      },
    );
    const piped = await run(['--rm', '-t', '--net', 'none', name('notty'), 'busybox', 'true'], '');
    expect([piped.code, piped.stderr.split('\n')[0]]).toEqual([2, 'diyc-run: -t: the input device is not a terminal: leave out -t']);
  });

  it('without a terminal of its own, its output still reaches yours: stdout and stderr, whole and in order; a reader that quits ends it as in a shell pipeline', async () => {
    const vars = { DIYC_ROOT: root, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet, DIYC_CGROUP_PARENT: parent };
    // stdin not a terminal: no pty, so stdout and stderr are pipes copied to the terminal
    // (the addon's relay); 2,000 lines is more than a pipe holds. Then `yes`, which never
    // ends by itself, into a reader that quits at once (that stdout is a pipe, given to the
    // container as it is; stderr is still copied): its writes fail (EPIPE: SIGPIPE is
    // ignored by a PID 1), and it ends, as `yes | head -n 1` does. (The sleep keeps the
    // terminal open to be read; the session is ended after.)
    const script =
      `"diyc-run --rm --net none ${name('relay')} busybox sh -c 'seq 1 2000 | tail -n 2; echo to-stderr >&2; seq 1 200000 | wc -l' < /dev/null; echo done-one \\$?; ` +
      `diyc-run --rm --net none ${name('relay2')} busybox yes < /dev/null | head -n 1; echo done-two; sleep 60"`;
    await onTerminal(['sh', '-c', script], vars, async (t) => {
      const text = await t.screen(/^done-two/m);
      expect(text).toMatch(/^1999\n2000\nto-stderr\n200000\ndone-one 0\n/m);
      expect(text).toMatch(/^y$/m);
    });
  }, 60_000);

  it('sees from inside: hostname, domain diyc, PATH and no host environment, /etc files, fresh /proc, a minimal /dev, /sys read-only', async () => {
    const r = await run(
      [
        '-i',
        `${prefix}.30`,
        '-e',
        'MINE=yes',
        name('inside'),
        'busybox',
        'sh',
        '-c',
        'echo $(hostname) $(cat /proc/sys/kernel/domainname); env | sort | tr "\\n" " "; echo; cat /etc/hostname; tail -1 /etc/hosts; ls /proc | grep -c "^[0-9]"; ls /dev | tr "\\n" " "; echo; touch /sys/x 2>/dev/null || echo sys-ro',
      ],
      '',
    );
    const lines = r.stdout.split('\n');
    expect(r.code, r.stderr).toBe(0);
    expect(lines[0]).toBe('inside diyc');
    expect(lines[1]?.trim().split(' ')).toEqual([
      'HOME=/root',
      'HOSTNAME=inside',
      'MINE=yes',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'PWD=/',
      'SHLVL=1',
    ]);
    expect(lines[2]).toBe('inside');
    expect(lines[3]).toBe(`${prefix}.30\tinside.diyc inside`);
    expect(Number(lines[4])).toBeLessThanOrEqual(4);
    expect(lines[5]?.trim().split(' ').sort()).toEqual([
      'fd',
      'full',
      'mqueue',
      'null',
      'ptmx',
      'pts',
      'random',
      'shm',
      'stderr',
      'stdin',
      'stdout',
      'tty',
      'urandom',
      'zero',
    ]);
    expect(lines[6]).toBe('sys-ro');
  });

  it('2. network between two containers; the host reaches the server, and a published port from 127.0.0.1', async () => {
    const server = await run([
      '-d',
      '-i',
      `${prefix}.10`,
      '-p',
      '18090:80',
      name('server'),
      'busybox',
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/var/www',
    ]);
    expect(server.code, server.stderr).toBe(0);
    expect(server.stdout).toBe('server\n');
    let page = '';
    await waitFor(() => (page = get(`http://${prefix}.10/`)) !== '');
    expect(page).toBe('hello from diyc\n');
    const client = await run(['-i', `${prefix}.11`, '--rm', name('client'), 'busybox', 'wget', '-q', '-O', '-', `http://${prefix}.10/`]);
    expect(client.stdout).toBe('hello from diyc\n');
    expect(get('http://127.0.0.1:18090/')).toBe('hello from diyc\n');
  });

  it('3. limits memory: with -m 10 a 64 MB allocation is killed and diyc-run says so; 1 MB is fine', async () => {
    const big = await run(['-m', '10', '--rm', name('mem'), 'busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1']);
    expect(big.code).toBe(137);
    expect(big.stderr).toContain('diyc-run: mem: killed: out of memory (limit 10M)');
    const small = await run(['-m', '10', '--rm', 'mem', 'busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1M', 'count=1']);
    expect(small.code).toBe(0);
    expect(small.stderr).not.toContain('killed');
  });

  it("4. keeps a container's files for its next run; --rm leaves nothing", async () => {
    expect((await run([name('keep'), 'busybox', 'sh', '-c', 'echo remembered > /root/note'])).code).toBe(0);
    expect((await run(['keep', 'busybox', 'cat', '/root/note'])).stdout).toBe('remembered\n');
    expect(mounts('keep')).toEqual([]);
    expect((await runBin('diyc-image', ['unpack', busyboxTarball(), '--name', 'other'], { env })).code).toBe(0);
    const otherImage = await run(['keep', 'other', 'true']);
    expect(otherImage.code).toBe(125);
    expect(otherImage.stderr).toContain('container keep was made from image busybox: remove it first (diyc-rm keep)');
    expect((await run(['--rm', name('gone'), 'busybox', 'true'])).code).toBe(0);
    expect(existsSync(join(root, 'containers', 'gone'))).toBe(false);
    expect(cgroups.exists(cgroups.pathOf('gone'))).toBe(false);
  });

  it('4. ps, exec, stop and rm; a running NAME is not started twice', async () => {
    expect((await run(['-d', '--net', 'bridge', '-p', '18095:80', name('life'), 'busybox', 'sleep', '300'])).code).toBe(0);
    const table = (await tool('diyc-ps')).stdout.split('\n');
    expect(table[0]?.split(/\s+/)).toEqual(['NAME', 'IMAGE', 'STATUS', 'ADDRESS', 'PORTS', 'PID', 'COMMAND', 'EXIT']);
    expect(
      table
        .find((l) => l.startsWith('life '))
        ?.split(/\s{2,}/)
        .slice(0, 5),
    ).toEqual(['life', 'busybox', 'running', expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/), '18095->80/tcp']);
    const twice = await run(['life', 'busybox', 'true']);
    expect(twice.code).toBe(125);
    expect(twice.stderr).toContain('container life is running: stop it first (diyc-stop life)');
    const ps = JSON.parse((await tool('diyc-ps', '--json')).stdout) as {
      name: string;
      status: string;
      ip?: string;
      pid: number;
      command: string[];
    }[];
    const life = ps.find((c) => c.name === 'life');
    expect(life).toMatchObject({ status: 'running', command: ['sleep', '300'] });
    expect(life?.ip).toMatch(new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.\\d+$`));
    const exec = await tool('diyc-exec', 'life', 'sh', '-c', 'echo $(hostname) $$; exit 4');
    expect(exec.code).toBe(4);
    expect(exec.stdout).toMatch(/^life \d+\n$/);
    // docker exec's -u, -w and -e: a user of the container's passwd (with its HOME), a directory, a variable.
    const as = await tool(
      'diyc-exec',
      '-u',
      'nobody',
      '-w',
      '/tmp',
      '-e',
      'GREETING=hi',
      'life',
      'sh',
      '-c',
      'id -u; pwd; echo "$GREETING $HOME"',
    );
    expect(as.stdout, as.stderr).toBe('65534\n/tmp\nhi /nonexistent\n');
    const ghost = await tool('diyc-exec', '-u', 'ghost', 'life', 'true');
    expect([ghost.code, ghost.stderr]).toEqual([125, "diyc-exec: user 'ghost' is not in the image's /etc/passwd\n"]);
    // The container shapes the files diyc reads from the host: a FIFO would hang the read,
    // a device node would be opened by a host process the device cgroup does not hold.
    expect(
      (await tool('diyc-exec', 'life', 'sh', '-c', 'rm /etc/group && mkfifo /etc/group && rm /etc/passwd && mknod /etc/passwd c 1 5')).code,
    ).toBe(0);
    const shaped = await tool('diyc-exec', '-u', 'nobody', 'life', 'true');
    expect([shaped.code, shaped.stderr]).toEqual([125, 'diyc-exec: /etc/passwd in the container is not a regular file: not read\n']);
    expect((await tool('diyc-rm', 'life')).stderr).toContain('is running');
    const started = Date.now();
    expect((await tool('diyc-stop', '-t', '1', 'life')).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(8000);
    const after = JSON.parse((await tool('diyc-ps', '-a', '--json')).stdout) as { name: string; status: string; exitCode: number }[];
    expect(after.find((c) => c.name === 'life')).toMatchObject({ status: 'exited', exitCode: 137 });
    expect((await tool('diyc-rm', 'life')).code).toBe(0);
    expect(existsSync(join(root, 'containers', 'life'))).toBe(false);
    expect(mounts('life')).toEqual([]);
    expect(existsSync(netnsPath('life', root))).toBe(false);
  });

  it('4. diyc-exec gives an interactive shell inside a running container; Ctrl-C reaches its job', async () => {
    expect((await run(['-d', name('execme'), 'busybox', 'sleep', '300'])).code).toBe(0);
    const vars = { DIYC_ROOT: root, DIYC_CGROUP_PARENT: parent };
    await onTerminal(['diyc-exec', 'execme', 'sh'], vars, async (t) => {
      await t.screen(/[#$] ?$/m);
      t.keys('echo "in=$(hostname)"; ps -o pid,comm | grep -c sleep', 'Enter');
      await t.screen(/in=execme\n1$/m);
      t.keys('sleep 30', 'Enter');
      await new Promise((r) => setTimeout(r, 200));
      t.keys('C-c');
      t.keys('echo still-here', 'Enter');
      await t.screen(/^still-here$/m);
      t.keys('exit 5', 'Enter');
      expect(await t.exitStatus()).toBe('5');
    });
    expect((await tool('diyc-rm', '-f', 'execme')).code).toBe(0);
  });

  it('4. recovers after diyc-run is killed with SIGKILL while its container runs', async () => {
    const child = spawn('diyc-run', ['--net', 'bridge', name('orphan'), 'busybox', 'sleep', '300'], { env: userEnv(env), stdio: 'ignore' });
    await waitFor(() => {
      try {
        return readFileSync(join(root, 'containers', 'orphan', 'state.json'), 'utf8').includes('"running"');
      } catch {
        return false;
      }
    });
    const state = JSON.parse(readFileSync(join(root, 'containers', 'orphan', 'state.json'), 'utf8'));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const ps = JSON.parse((await tool('diyc-ps', '-a', '--json')).stdout) as { name: string; status: string; reason?: string }[];
    expect(ps.find((c) => c.name === 'orphan')).toMatchObject({ status: 'exited', reason: expect.stringContaining('killed') });
    expect(running(state.pid)).toBe(false);
    expect(mounts('orphan')).toEqual([]);
    expect(existsSync(netnsPath('orphan', root))).toBe(false);
    expect(cgroups.exists(cgroups.pathOf('orphan'))).toBe(false);
    expect(leases()).not.toHaveProperty([state.ip]);
  });

  it("--rm mounts the root volatile (nothing synced for a layer that goes), a kept one is not; a killed --rm run's layer does not block the name", async () => {
    const rootLine = "grep ' / ' /proc/mounts";
    const removed = await run(['--rm', '--net', 'none', name('vol'), 'busybox', 'sh', '-c', rootLine]);
    expect(removed.stdout).toMatch(/^overlay \/ overlay .*volatile/);
    const kept = await run(['--net', 'none', name('synced'), 'busybox', 'sh', '-c', rootLine]);
    expect(kept.stdout).toMatch(/^overlay \/ overlay /);
    expect(kept.stdout).not.toContain('volatile');
    // overlayfs refuses to mount a work directory a volatile mount used until it is
    // cleared: a --rm run killed before its removal leaves one.
    const child = spawn('diyc-run', ['--rm', '--net', 'none', 'vol', 'busybox', 'sleep', '300'], { env: userEnv(env), stdio: 'ignore' });
    await waitFor(() => {
      try {
        return readFileSync(join(root, 'containers', 'vol', 'state.json'), 'utf8').includes('"running"');
      } catch {
        return false;
      }
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    expect(existsSync(join(root, 'containers', 'vol', 'work', 'work', 'incompat', 'volatile'))).toBe(true);
    const again = await run(['--rm', '--net', 'none', 'vol', 'busybox', 'true']);
    expect([again.code, again.stderr]).toEqual([0, '']);
    expect(existsSync(join(root, 'containers', 'vol'))).toBe(false);
    expect(mounts('vol')).toEqual([]);
  });

  describe("the same container by --dry-run's pipeline, by --pipeline, and in one process", () => {
    /** Runs a container that reports itself, and reads its memory limit from the host while it runs. */
    const observe = async (start: () => Promise<{ code: number | null; stdout: string; stderr: string }>, who: string) => {
      const layout = detectLayout();
      const limitFile =
        layout.mode === 'unified'
          ? join(layout.v2 as string, parent, who, 'memory.max')
          : join(layout.v1.get('memory') as string, parent, who, 'memory.limit_in_bytes');
      let limit = '';
      // Read once a process has joined the cgroup: the limits are written before that, but
      // after the directory appears (a read in between saw no limit yet).
      const procs = join(dirname(limitFile), 'cgroup.procs');
      const watching = waitFor(() => {
        try {
          if (readFileSync(procs, 'utf8').trim() === '') return false;
          limit = readFileSync(limitFile, 'utf8').trim();
          return true;
        } catch {
          return false;
        }
      });
      const r = await start();
      await watching;
      expect(r.code, r.stderr).toBe(0);
      const config = JSON.parse(readFileSync(join(root, 'containers', who, 'config.json'), 'utf8'));
      return {
        stdout: r.stdout,
        limit,
        resources: config.linux.resources,
        rootfs: config.root.path.replace(who, 'NAME'),
        hostname: config.hostname.replace(who, 'NAME'),
      };
    };
    const script = 'echo $(hostname); ip -o -4 addr show eth0 | tr -s " " | cut -d" " -f4; ls / | tr "\\n" " "; sleep 1';
    const args = (who: string, ip: string) => ['-m', '16M', '--pids', '30', '-i', ip, who, 'busybox', 'sh', '-c', script];

    it('gives the same hostname, address, limits and rootfs all three ways', async () => {
      const inProcess = await observe(() => run(args(name('way1'), `${prefix}.41`)), 'way1');
      const piped = await observe(() => run(['--pipeline', ...args(name('way2'), `${prefix}.42`)]), 'way2');
      const line = (await run(['--dry-run', ...args(name('way3'), `${prefix}.43`)])).stdout.trim();
      expect(line).toMatch(
        /^mkdir -p .* && diyc-run --spec .* \| diyc-overlay mount way3 --image busybox \| diyc-cgroup create way3 --memory 16777216 --pids 30 \| diyc-net attach way3 --ip .* > .*config\.json && diyc-run --start way3$/,
      );
      const byHand = await observe(() => runCommand('bash', ['-o', 'pipefail', '-c', line], { env: userEnv(env) }), 'way3');
      for (const [who, result, ip] of [
        ['way1', inProcess, 41],
        ['way2', piped, 42],
        ['way3', byHand, 43],
      ] as const) {
        expect(result.stdout.split('\n').slice(0, 2)).toEqual([who, `${prefix}.${ip}/24`]);
        expect(result.limit).toBe(String(16 * 1024 * 1024));
      }
      const same = (r: typeof inProcess) => ({
        listing: r.stdout.split('\n')[2],
        limit: r.limit,
        resources: r.resources,
        rootfs: r.rootfs,
        hostname: r.hostname,
      });
      expect(same(piped)).toEqual(same(inProcess));
      expect(same(byHand)).toEqual(same(inProcess));
    });
  });

  it('-d reports a container that ran and ended before diyc-run looked as started', async () => {
    expect((await run(['-d', name('brief'), 'busybox', 'true'])).stdout).toBe('brief\n');
    expect((await run(['-d', '--rm', name('brief2'), 'busybox', 'true'])).stdout).toBe('brief2\n');
  });

  it("diyc-logs prints a detached container's output, its last lines, and follows it until it ends", async () => {
    const started = await run([
      '-d',
      '--net',
      'none',
      name('talker'),
      'busybox',
      'sh',
      '-c',
      'echo one; echo two >&2; sleep 1; echo three',
    ]);
    expect(started.code, started.stderr).toBe(0);
    // -f returns by itself when the container ends, with everything it wrote, in order.
    const followed = await tool('diyc-logs', '-f', 'talker');
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe('one\ntwo\nthree\n');
    expect((await tool('diyc-logs', '--tail', '1', 'talker')).stdout).toBe('three\n');
    const missing = await tool('diyc-logs', 'nobody');
    expect([missing.code, missing.stderr]).toEqual([1, 'diyc-logs: no container named nobody\n']);
    expect((await tool('diyc-rm', 'talker')).code).toBe(0);
  });

  it('5. starts 20 containers in parallel, all running and reachable; afterwards nothing is left', async () => {
    const names = Array.from({ length: 20 }, (_, i) => name(`many${i}`));
    const started = await Promise.all(
      names.map((n) => run(['-d', '--net', 'bridge', n, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/var/www'])),
    );
    for (const r of started) expect(r.code, r.stderr).toBe(0);
    const ps = JSON.parse((await tool('diyc-ps', '--json')).stdout) as { name: string; ip: string; status: string; pid: number }[];
    const ours = ps.filter((c) => names.includes(c.name));
    expect(ours).toHaveLength(20);
    expect(new Set(ours.map((c) => c.ip)).size).toBe(20);
    for (const c of ours) {
      let page = '';
      await waitFor(() => (page = get(`http://${c.ip}/`)) !== '', 5000);
      expect(page, c.name).toBe('hello from diyc\n');
    }
    const removed = await Promise.all(names.map((n) => tool('diyc-rm', '-f', n)));
    for (const r of removed) expect(r.code, r.stderr).toBe(0);
    for (const c of ours) expect(running(c.pid)).toBe(false);
    for (const n of knownNames) if (!names.includes(n)) await tool('diyc-rm', '-f', n);
    expect(mounts()).toEqual([]);
    expect(netnsLeft()).toEqual([]);
    expect(cgroups.list()).toEqual([]);
    expect(leases()).toEqual({});
    expect(execFileSync('iptables-save', { encoding: 'utf8' })).not.toContain(`diyc:${bridge}:`);
    expect(readdirSync(join(root, 'containers')).filter((f) => !f.endsWith('.lock'))).toEqual([]);
  });

  it('refuses bad input with a one-line message', async () => {
    const cases: [string[], number, string][] = [
      [['bad/name', 'busybox'], 2, "container name 'bad/name' may hold only"],
      [['ok', 'nope'], 125, "image 'nope' not found"],
      [['--net', 'host', '-i', `${prefix}.9`, 'ok', 'busybox'], 2, '--ip needs --net bridge'],
      [['-m', 'lots', 'ok', 'busybox'], 2, "'lots' is not a size"],
      [['--bogus', 'ok', 'busybox'], 2, 'unknown option --bogus'],
      [['--rm', name('nocmd'), 'busybox', 'no-such-command'], 127, 'no-such-command: command not found'],
      [['-d', name('nocmd2'), 'busybox', 'no-such-command'], 127, 'container nocmd2 did not start: no-such-command: command not found'],
    ];
    for (const [args, code, message] of cases) {
      const r = await run(args);
      expect(r.stderr, args.join(' ')).toContain(message);
      expect(r.code, args.join(' ')).toBe(code);
    }
    expect(mounts()).toEqual([]);
  });
});
