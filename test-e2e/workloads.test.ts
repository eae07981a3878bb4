// Real workloads, as a docker user runs them on the first day: another user, /dev as
// programs expect it, DNS that resolves, volumes and tmpfs, an init that makes Ctrl-C
// work and reaps zombies, and apt-get in a Debian image made by debootstrap.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { busyboxTarball, isRoot, onTerminal, repo, rootReason, runBin, runCommand, tempDir, testNetwork, userEnv } from './helpers.js';

describe.skipIf(!isRoot)(`workloads (${rootReason})`, () => {
  const work = tempDir('diyc-workloads-e2e-');
  const root = join(work.path, 'state');
  const parent = `diyc-e2e-work-${process.pid}`;
  const { bridge, subnet } = testNetwork('w');
  const vars = { DIYC_ROOT: root, DIYC_CGROUP_PARENT: parent, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet };
  const env = { ...process.env, ...vars };
  const run = (...args: string[]) => runBin('diyc-run', ['--rm', ...args], { env, timeoutMs: 120_000 });
  /** diyc-run in a mount namespace of its own, where `setup` (shell) first changes the host's files it reads. */
  const runWithHostFiles = (setup: string, ...args: string[]) =>
    runCommand('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `${setup} && exec diyc-run --rm "$@"`, 'sh', ...args], {
      env: userEnv(env),
      timeoutMs: 60_000,
    });

  beforeAll(async () => {
    expect((await runBin('diyc-image', ['unpack', busyboxTarball(), '--name', 'busybox'], { env })).code).toBe(0);
  });
  afterAll(async () => {
    await runBin('diyc-net', ['clean'], { env });
    createCgroupManager({ parent }).pruneParent();
    work.remove();
  });

  it('/dev as runtimes make it: a user that is not root writes /dev/null; nodes are 0666 whatever the umask', async () => {
    const r = await run(
      '--net',
      'none',
      '-u',
      'nobody',
      'devs',
      'busybox',
      'sh',
      '-c',
      'echo x > /dev/null && echo wrote; stat -c "%a %n" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; grep -E " /dev/(pts|mqueue) " /proc/mounts | cut -d" " -f2-4',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        'wrote',
        '666 /dev/null',
        '666 /dev/zero',
        '666 /dev/full',
        '666 /dev/random',
        '666 /dev/urandom',
        '666 /dev/tty',
        '/dev/pts devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=666',
        '/dev/mqueue mqueue rw,nosuid,nodev,noexec,relatime',
        '',
      ].join('\n'),
    );
  });

  it('--user runs as a user of the image, with its groups and HOME; a number need not be in passwd', async () => {
    const nobody = await run('--net', 'none', '--user', 'nobody', 'who1', 'busybox', 'sh', '-c', 'id; echo "$HOME"');
    expect(nobody.stdout).toBe('uid=65534(nobody) gid=65534(nogroup)\n/nonexistent\n');
    const numeric = await run('--net', 'none', '-u', '1234:5', 'who2', 'busybox', 'sh', '-c', 'id -u; id -g; echo "$HOME"');
    expect(numeric.stdout).toBe('1234\n5\n/\n');
    expect((await run('--net', 'none', 'who3', 'busybox', 'sh', '-c', 'echo "$HOME"')).stdout).toBe('/root\n');
    const ghost = await run('--net', 'none', '-u', 'ghost', 'who4', 'busybox', 'true');
    expect(ghost.code).toBe(125);
    expect(ghost.stderr).toContain("user 'ghost' is not in the image's /etc/passwd");
  });

  describe('DNS', () => {
    const cat = ['--net', 'none', 'dns', 'busybox', 'cat', '/etc/resolv.conf'];
    const fakeResolv = (text: string) =>
      `printf '${text}' > ${work.path}/resolv.conf && mount --bind ${work.path}/resolv.conf /etc/resolv.conf`;
    // This machine may have no systemd-resolved: its directory is made on a tmpfs of this namespace only.
    const fakeSystemd = (text: string) =>
      `mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/resolve && printf '${text}' > /run/systemd/resolve/resolv.conf`;

    it("a host resolver on loopback (systemd-resolved's 127.0.0.53) gives way to its upstream servers, said with -v", async () => {
      const r = await runWithHostFiles(
        `${fakeResolv('nameserver 127.0.0.53\\noptions edns0\\n')} && ${fakeSystemd('nameserver 10.77.0.1\\n')}`,
        '-v',
        ...cat,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('nameserver 10.77.0.1\noptions edns0\n');
      expect(r.stderr).toContain("only loopback servers (127.0.0.53): using systemd-resolved's upstream servers");
    });

    it('without any server a container can reach, falls back as docker does (no traffic is sent here)', async () => {
      const r = await runWithHostFiles(`${fakeResolv('nameserver 127.0.0.1\\n')} && mount -t tmpfs tmpfs /run`, ...cat);
      expect(r.stdout).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
    });

    it("--dns, --dns-search and --add-host land in the container's files; --net host keeps the host's file", async () => {
      const r = await run(
        '--net',
        'none',
        '--dns',
        '10.9.9.9',
        '--dns',
        '10.9.9.10',
        '--dns-search',
        'corp.example',
        '--add-host',
        'db:10.0.0.5',
        'dns2',
        'busybox',
        'sh',
        '-c',
        'cat /etc/resolv.conf; tail -1 /etc/hosts',
      );
      expect(r.stdout).toMatch(/^nameserver 10\.9\.9\.9\nnameserver 10\.9\.9\.10\nsearch corp\.example\n(options .*\n)?10\.0\.0\.5\tdb\n$/);
      const host = await runWithHostFiles(
        fakeResolv('nameserver 127.0.0.53\\n'),
        '--net',
        'host',
        'dns3',
        'busybox',
        'cat',
        '/etc/resolv.conf',
      );
      expect(host.stdout).toBe('nameserver 127.0.0.53\n');
      const refused = await run('--net', 'host', '--dns', '10.9.9.9', 'dns4', 'busybox', 'true');
      expect([refused.code, refused.stderr]).toEqual([
        2,
        expect.stringContaining("--dns and --dns-search need the container's own network"),
      ]);
    });
  });

  describe('volumes and tmpfs', () => {
    const shared = join(work.path, 'shared');

    it('--volume shares a host directory both ways; :ro refuses writes', async () => {
      mkdirSync(shared, { recursive: true });
      writeFileSync(join(shared, 'from-host'), 'hello\n');
      const r = await run(
        '--net',
        'none',
        '--volume',
        `${shared}:/data`,
        '--volume',
        `${shared}:/ro:ro`,
        'vol',
        'busybox',
        'sh',
        '-c',
        'cat /data/from-host; echo back > /data/from-container; echo no > /ro/x || echo refused',
      );
      expect(r.stdout).toBe('hello\nrefused\n');
      expect(r.stderr).toContain('Read-only file system');
      expect(readFileSync(join(shared, 'from-container'), 'utf8')).toBe('back\n');
      expect(existsSync(join(shared, 'x'))).toBe(false);
    });

    it('a volume aimed at a symlink in the image lands inside the container, never on the host', async () => {
      // An image whose /target is a symlink to /tmp/diyc-escape-PID: followed on the host,
      // the bind would cover the host's own /tmp/diyc-escape-PID.
      const escapeDir = `/tmp/diyc-escape-${process.pid}`;
      mkdirSync(escapeDir, { recursive: true });
      const tree = join(work.path, 'symtree');
      mkdirSync(tree, { recursive: true });
      execFileSync('tar', ['-xpf', busyboxTarball(), '-C', tree]);
      symlinkSync(escapeDir, join(tree, 'target'));
      execFileSync('tar', ['-cf', join(work.path, 'sym.tar'), '-C', tree, '.']);
      expect((await runBin('diyc-image', ['unpack', join(work.path, 'sym.tar'), '--name', 'symimg'], { env })).code).toBe(0);
      try {
        const r = await run(
          '--net',
          'none',
          '--volume',
          `${shared}:/target`,
          'symvol',
          'symimg',
          'sh',
          '-c',
          `cat ${escapeDir}/from-host && grep -c " ${escapeDir} " /proc/self/mountinfo`,
        );
        expect(r.stdout).toBe('hello\n1\n');
        // On the host, nothing was mounted there.
        expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${escapeDir} `);
      } finally {
        spawnSync('rmdir', [escapeDir]);
      }
    });

    it("--tmpfs mounts a fresh, noexec tmpfs; its options are the user's to add", async () => {
      const r = await run(
        '--net',
        'none',
        '--tmpfs',
        '/scratch:size=1m',
        'tmp',
        'busybox',
        'sh',
        '-c',
        'grep " /scratch " /proc/mounts | cut -d" " -f3,4; stat -c %a /scratch',
      );
      expect(r.stdout).toBe('tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k\n1777\n');
    });

    it('--read-only: the root refuses writes, /dev/shm and a --tmpfs do not; the pipeline of stages does the same', async () => {
      const script =
        'touch /x 2>&1; touch /dev/shm/x && echo shm-ok; touch /scratch/x && echo tmpfs-ok; grep " / " /proc/mounts | cut -d" " -f4 | cut -d, -f1';
      for (const how of [[], ['--pipeline']]) {
        const r = await run(...how, '--net', 'none', '--read-only', '--tmpfs', '/scratch', 'ro', 'busybox', 'sh', '-c', script);
        expect(r.stdout, r.stderr).toBe('touch: /x: Read-only file system\nshm-ok\ntmpfs-ok\nro\n');
      }
      expect((await run('--net', 'none', 'rw', 'busybox', 'sh', '-c', 'touch /x && echo rw-ok')).stdout).toBe('rw-ok\n');
    });

    it('--entrypoint runs another program; --env-file sets variables from a file, -e winning; -e KEY, --ulimit and --sysctl as docker', async () => {
      const file = join(work.path, 'app.env');
      writeFileSync(file, '# the app\nGREETING=hello from the file\nWHO=file\n');
      const r = await run(
        '--net',
        'none',
        '--env-file',
        file,
        '-e',
        'WHO=flag',
        '--entrypoint',
        '/bin/echo',
        'ep',
        'busybox',
        '$GREETING',
        'to',
      );
      expect(r.stdout, r.stderr).toBe('$GREETING to\n'); // no shell: the arguments as they are
      const fromFile = await run(
        '--net',
        'none',
        '--env-file',
        file,
        '-e',
        'WHO=flag',
        '--entrypoint',
        '/bin/sh',
        'ep2',
        'busybox',
        '-c',
        'echo "$GREETING, $WHO"',
      );
      expect(fromFile.stdout, fromFile.stderr).toBe('hello from the file, flag\n');
      // docker's bare -e KEY passes the host's value on; --ulimit sets the process's limits.
      const r2 = await runBin(
        'diyc-run',
        [
          '--rm',
          '--net',
          'none',
          '-e',
          'DIYC_TEST_TOKEN',
          '--ulimit',
          'nofile=100:200',
          'ul',
          'busybox',
          'sh',
          '-c',
          'echo "$DIYC_TEST_TOKEN"; ulimit -n; ulimit -Hn',
        ],
        { env: { ...env, DIYC_TEST_TOKEN: 'from-the-host' } },
      );
      expect(r2.stdout, r2.stderr).toBe('from-the-host\n100\n200\n');
      // --sysctl sets a namespaced one in the container's own network namespace; the host's stays.
      const hostValue = readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8');
      const r3 = await run(
        '--net',
        'none',
        '--sysctl',
        'net.ipv4.ip_unprivileged_port_start=80',
        'sc',
        'busybox',
        'cat',
        '/proc/sys/net/ipv4/ip_unprivileged_port_start',
      );
      expect(r3.stdout, r3.stderr).toBe('80\n');
      expect(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8')).toBe(hostValue);
    });

    it('--dry-run replays the same container: its volumes, tmpfs, user, DNS and init are in the printed pipeline', async () => {
      const r = await runBin(
        'diyc-run',
        [
          '--dry-run',
          '--net',
          'none',
          '-u',
          'nobody',
          '--volume',
          `${shared}:/data:ro`,
          '--tmpfs',
          '/scratch',
          '--init',
          '--dns',
          '10.9.9.9',
          '--add-host',
          'db:10.0.0.5',
          'dry',
          'busybox',
          'true',
        ],
        { env },
      );
      expect(r.stdout).toContain(`--user nobody --volume ${shared}:/data:ro --tmpfs /scratch --init --dns 10.9.9.9 --add-host db:10.0.0.5`);
    });
  });

  it("diyc-stop sends the image's StopSignal first (docker's STOPSIGNAL), or the one -s names", async () => {
    // An image whose command stops cleanly on SIGUSR1 only, as nginx on SIGQUIT.
    const dir = join(work.path, 'stopsig');
    mkdirSync(dir, { recursive: true });
    execFileSync('cp', [busyboxTarball(), join(dir, 'layer.tar')]);
    const diffId = `sha256:${execFileSync('sha256sum', [join(dir, 'layer.tar')], { encoding: 'utf8' }).split(' ')[0]}`;
    const script = 'trap "echo got USR1; exit 3" USR1; echo ready; while :; do sleep 0.1; done';
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ config: { StopSignal: 'SIGUSR1', Cmd: ['sh', '-c', script] }, rootfs: { type: 'layers', diff_ids: [diffId] } }),
    );
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify([{ Config: 'config.json', RepoTags: ['stopsig:latest'], Layers: ['layer.tar'] }]),
    );
    execFileSync('tar', ['-cf', join(dir, 'image.tar'), '-C', dir, 'manifest.json', 'config.json', 'layer.tar']);
    expect((await runBin('diyc-image', ['unpack', join(dir, 'image.tar'), '--name', 'stopsig'], { env })).code).toBe(0);
    /** Until the Nth run's shell has its trap in place (each run appends to the log). */
    const ready = async (n: number) => {
      const runs = async () => (await runBin('diyc-logs', ['stopper'], { env })).stdout.split('ready').length - 1;
      for (let i = 0; i < 200 && (await runs()) < n; i++) await new Promise((r) => setTimeout(r, 25));
    };
    try {
      expect((await runBin('diyc-run', ['-d', '--net', 'none', 'stopper', 'stopsig'], { env })).code).toBe(0);
      await ready(1);
      expect((await runBin('diyc-stop', ['stopper'], { env })).stdout).toBe('stopper: exited 3\n');
      expect((await runBin('diyc-logs', ['stopper'], { env })).stdout).toContain('got USR1');
      // -s TERM: PID 1 has no handler for it, so only the SIGKILL after -t ends it.
      expect((await runBin('diyc-run', ['-d', '--net', 'none', 'stopper', 'stopsig'], { env })).code).toBe(0);
      await ready(2);
      expect((await runBin('diyc-stop', ['-s', 'TERM', '-t', '1', 'stopper'], { env })).stdout).toBe('stopper: exited 137\n');
    } finally {
      expect((await runBin('diyc-rm', ['-f', 'stopper'], { env })).code).toBe(0);
    }
  });

  describe('--init', () => {
    it('is PID 1, runs the command as its child, reaps orphans, and exits as the command', async () => {
      const r = await run(
        '--net',
        'none',
        '--init',
        'init1',
        'busybox',
        'sh',
        '-c',
        'tr "\\0" " " < /proc/1/cmdline; echo; sh -c "sleep 0.2 & exec true"; sleep 1; ps -o stat | grep -c Z; exit 7',
      );
      expect(r.code).toBe(7);
      expect(r.stdout).toMatch(/^\/dev\/init -- sh -c .*\n0\n$/);
      const missing = await run('--net', 'none', '--init', 'init2', 'busybox', 'no-such-command');
      expect([missing.code, missing.stderr]).toEqual([127, 'diyc-init: no-such-command: command not found\n']);
    });

    it('lets Ctrl-C stop a command that has no handler for it (sleep), which as PID 1 it could not', async () => {
      await onTerminal(['diyc-run', '--rm', '--init', '--net', 'none', 'init3', 'busybox', 'sleep', '100'], vars, async (t) => {
        const cgroups = createCgroupManager({ parent });
        for (let i = 0; i < 200 && !(cgroups.exists(`/${parent}/init3`) && cgroups.pids(`/${parent}/init3`).length === 2); i++)
          await new Promise((r) => setTimeout(r, 50));
        t.keys('C-c');
        expect(await t.exitStatus()).toBe('130');
      });
    });
  });
});

/** Whether the mirror apt uses answers on port 80 (the one host these tests may reach). */
async function mirrorReachable(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(5000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(80, host, () => done(true));
  });
}

const mirror = (() => {
  try {
    const sources = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
    return /^URIs:\s*http:\/\/([^/\s]+)/m.exec(sources)?.[1];
  } catch {
    return undefined;
  }
})();

describe.skipIf(!isRoot || !mirror)(
  `apt-get in a Debian image made by debootstrap (${rootReason}; reaches ${mirror ?? 'no mirror'})`,
  () => {
    const work = tempDir('diyc-debian-e2e-');
    const root = join(work.path, 'state');
    const parent = `diyc-e2e-deb-${process.pid}`;
    const { bridge, subnet } = testNetwork('d');
    const env = { ...process.env, DIYC_ROOT: root, DIYC_CGROUP_PARENT: parent, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet };
    let reachable = false;

    beforeAll(async () => {
      reachable = await mirrorReachable(mirror as string);
      if (!reachable) return;
      const built = await runCommand('bash', [join(repo, 'tools', 'make-debian-image.sh')], { timeoutMs: 900_000 });
      expect(built.code, built.stderr).toBe(0);
      expect((await runBin('diyc-image', ['unpack', built.stdout.trim(), '--name', 'debian'], { env, timeoutMs: 300_000 })).code).toBe(0);
      expect((await runBin('diyc-net', ['setup'], { env })).code).toBe(0);
    }, 1_000_000);
    afterAll(async () => {
      await runBin('diyc-net', ['clean'], { env });
      createCgroupManager({ parent }).pruneParent();
      work.remove();
    });

    it('apt-get update verifies the release signatures, as _apt, on the bridge', async (ctx) => {
      if (!reachable) ctx.skip(`the mirror ${mirror} is not reachable from this machine`);
      const r = await runBin('diyc-run', ['--rm', '--net', 'bridge', 'apt', 'debian', 'apt-get', 'update'], { env, timeoutMs: 300_000 });
      expect(r.stderr).not.toMatch(/GPG error|not signed|NO_PUBKEY|Permission denied/);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Reading package lists/);
    }, 320_000);
  },
);
