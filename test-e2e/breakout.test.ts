// Breakout: each way out of a container that the isolation issue listed, tried for real
// from inside one (or through its image), and asserted from the host's side. Where it
// is safe, the same attack runs with the control turned off (--privileged, a capability
// added, seccomp unconfined), to show that the control is what stops it. A user's
// container still works with the defaults: chown, su, ping.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager, detectLayout } from '@diyc/cgroup';
import { busyboxTarball, isRoot, repo, rootReason, runBin, runCommand, tempDir, testNetwork, userEnv } from './helpers.js';

/** The block device under the host's `/`, as major:minor (mountinfo field 3). */
function hostRootDisk(): [number, number] {
  const line = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === '/');
  const [major, minor] = (line?.split(' ')[2] ?? '0:0').split(':').map(Number);
  return [major ?? 0, minor ?? 0];
}

describe.skipIf(!isRoot)(`breakout: a container does not reach the host (${rootReason})`, () => {
  const work = tempDir('diyc-breakout-');
  const root = join(work.path, 'state');
  const parent = `diyc-e2e-breakout-${process.pid}`;
  const { bridge, subnet, prefix } = testNetwork('b');
  const env = { ...process.env, DIYC_ROOT: root, DIYC_CGROUP_PARENT: parent, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet };
  const names = new Set<string>();
  const name = (n: string) => {
    names.add(n);
    return n;
  };
  const run = (args: string[]) => runBin('diyc-run', args, { env, timeoutMs: 60_000 });
  /** Runs `script` in a throwaway container of the attack image, with `flags` first. */
  const inside = (script: string, flags: string[] = []) => run([...flags, '--rm', name(`b${names.size}`), 'attack', 'sh', '-c', script]);
  const [diskMajor, diskMinor] = hostRootDisk();
  const host = join(work.path, 'host'); // a host directory an attack aims at

  beforeAll(async () => {
    mkdirSync(host, { recursive: true });
    // The attack image: busybox, a static probe for the system calls busybox cannot
    // make, and two device nodes an image could ship: the host's root disk and
    // /dev/kmsg, world-writable, in a GNU-format tar (whose device numbers used to be lost).
    const tree = join(work.path, 'tree');
    mkdirSync(tree);
    execFileSync('tar', ['-xpf', busyboxTarball(), '-C', tree]);
    execFileSync('gcc', ['-static', '-O2', '-o', join(tree, 'bin', 'probe'), join(repo, 'test-e2e', 'probe.c')]);
    mkdirSync(join(tree, 'attack'));
    execFileSync('mknod', ['-m', '666', join(tree, 'attack', 'disk'), 'b', String(diskMajor), String(diskMinor)]);
    execFileSync('mknod', ['-m', '666', join(tree, 'attack', 'kmsg'), 'c', '1', '11']);
    execFileSync('tar', ['--format=gnu', '-cf', join(work.path, 'attack.tar'), '-C', tree, '.']);
    // The same image with /etc a symlink to a host directory: an attack on its first run.
    execFileSync('rm', ['-rf', join(tree, 'etc')]);
    execFileSync('ln', ['-s', host, join(tree, 'etc')]);
    execFileSync('tar', ['--format=gnu', '-cf', join(work.path, 'etclink.tar'), '-C', tree, '.']);
    for (const [file, image] of [
      ['attack.tar', 'attack'],
      ['etclink.tar', 'etclink'],
    ]) {
      const r = await runBin('diyc-image', ['unpack', join(work.path, file as string), '--name', image as string], { env });
      expect(r.code, r.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    for (const n of names) await runBin('diyc-rm', ['-f', n], { env });
    await runBin('diyc-net', ['clean'], { env });
    const cgroups = createCgroupManager({ parent });
    for (const n of cgroups.list()) cgroups.remove(cgroups.pathOf(n), { force: true });
    cgroups.pruneParent();
    work.remove();
  });

  it('/etc replaced by a symlink to a host directory: diyc-run writes hostname, hosts, resolv.conf inside the container', async () => {
    for (const target of [host, '../../../../..']) {
      const n = name(`etc${names.size}`);
      expect((await run([n, 'attack', 'sh', '-c', `rm -rf /etc; ln -s ${target} /etc`])).code).toBe(0);
      const again = await run([n, 'attack', 'sh', '-c', 'cat /etc/hostname']);
      expect(again.stdout, `${target}: ${again.stderr}`).toBe(`${n}\n`);
      expect(readdirSync(host), target).toEqual([]);
    }
    // Through a magic link of /proc (refused by RESOLVE_NO_MAGICLINKS, or a plain directory
    // of the image's /proc before it is mounted): never the host.
    const magic = name('etcmagic');
    await run([magic, 'attack', 'sh', '-c', `rm -rf /etc; ln -s /proc/1/root${host} /etc`]);
    await run([magic, 'attack', 'true']);
    expect(readdirSync(host)).toEqual([]);
    // An image that ships the symlink: the same on its first run.
    const first = await run(['--rm', name('etcimage'), 'etclink', 'cat', `${host}/hostname`]);
    expect(first.stdout, first.stderr).toBe('etcimage\n');
    expect(readdirSync(host)).toEqual([]);
    // A loop cannot be written through, and says so.
    const n = name('etcloop');
    await run([n, 'attack', 'sh', '-c', 'rm -rf /etc; ln -s /etc /etc']);
    const loop = await run([n, 'attack', 'true']);
    expect(loop.code).toBe(125);
    expect(loop.stderr).toContain("/etc/hostname goes through a symlink loop in the container's files");
  });

  it('a container that leaves a device node or a FIFO where diyc writes /etc/hosts and /etc/hostname: run again, it gets files', async () => {
    // mknod is allowed (CAP_MKNOD, as Docker): the node is harmless inside (the device
    // cgroup), but diyc-run writes /etc/hosts from the host, outside that cgroup. c 1 3
    // stands for the host's disk here: written, it would swallow the file.
    const made = await run([
      name('shaper'),
      'attack',
      'sh',
      '-c',
      'rm /etc/hosts /etc/hostname && mknod /etc/hosts c 1 3 && mkfifo /etc/hostname',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const again = await run([
      'shaper',
      'attack',
      'sh',
      '-c',
      'stat -c %F /etc/hosts /etc/hostname; cat /etc/hostname; grep -c shaper /etc/hosts',
    ]);
    expect(again.stdout, again.stderr).toBe('regular file\nregular file\nshaper\n1\n');
  }, 30_000);

  it('cgroup v1 release_agent: the hierarchy cannot be mounted, the host runs no script', async () => {
    const marker = join(work.path, 'release-agent-ran');
    const script = join(work.path, 'agent.sh');
    writeFileSync(script, `#!/bin/sh\ntouch ${marker}\n`);
    chmodSync(script, 0o755);
    const attack = await inside(
      `mkdir -p /tmp/cg && mount -t cgroup -o devices cgroup /tmp/cg && echo ${script} > /tmp/cg/release_agent && echo mounted; /bin/probe mount`,
    );
    expect(attack.stdout).not.toContain('mounted');
    expect(attack.stdout).toContain('mount: EPERM');
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(marker)).toBe(false);
    // With every capability and no filter, the mount itself goes through (and is left at
    // that: writing release_agent would change this machine's own cgroup tree).
    const privileged = await inside('mkdir -p /tmp/cg && mount -t cgroup -o devices cgroup /tmp/cg && echo mounted && umount /tmp/cg', [
      '--privileged',
    ]);
    expect(privileged.stdout, privileged.stderr).toBe('mounted\n');
  });

  it("the host's disk, from mknod or from the image: neither opened nor mounted", async () => {
    const attack = await inside(
      `mknod /tmp/d b ${diskMajor} ${diskMinor} && echo made; head -c1 /tmp/d >/dev/null; head -c1 /attack/disk >/dev/null; mount -t ext4 /attack/disk /mnt && echo mounted`,
    );
    expect(attack.stdout).toBe('made\n'); // mknod is allowed (CAP_MKNOD, as Docker): using the node is not
    expect(attack.stderr.match(/Operation not permitted/g)?.length).toBeGreaterThanOrEqual(2);
    // The device cgroup is the control. This machine refuses its own disk even to the
    // host's root, so it is shown on a block device the host can open (a loop device):
    // refused by default, opened with --privileged.
    const loop = 'mknod /tmp/loop b 7 0 && dd if=/tmp/loop of=/dev/null count=0 2>/dev/null && echo opened';
    expect((await inside(loop)).stdout).toBe('');
    expect((await inside(loop, ['--privileged'])).stdout).toBe('opened\n');
    // Nor the host's system console (c 5:1: the container has none of its own), opened for reading only.
    expect((await inside('mknod /tmp/console c 5 1 && { : < /tmp/console; } 2>/dev/null && echo opened')).stdout).toBe('');
  });

  it('descriptors of the caller above 2 do not reach the container: no way back through /proc/self/fd', async () => {
    const fd = openSync(host, 'r'); // a directory of the host, open without close-on-exec in the child
    try {
      const child = spawn(
        'diyc-run',
        ['--rm', name('fds'), 'attack', 'sh', '-c', '/bin/probe fds; test -e /proc/$$/fd/3 && echo escaped'],
        {
          env: userEnv(env),
          stdio: ['ignore', 'pipe', 'pipe', fd],
        },
      );
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      await new Promise((r) => child.on('close', r));
      expect(out).toBe('fds:\n');
    } finally {
      closeSync(fd);
    }
  });

  it("a detached container's stdin is a pipe of its own, not the host's /dev/null (which root inside could chmod through /proc/1/fd/0)", async () => {
    const detached = name('stdin');
    expect(
      (
        await run([
          '-d',
          '--net',
          'none',
          detached,
          'attack',
          'sh',
          '-c',
          'for f in 0 2; do readlink /proc/self/fd/$f; done > /tmp/fds; cat && echo end-of-file >> /tmp/fds; sleep 60',
        ])
      ).code,
    ).toBe(0);
    let r = { stdout: '' };
    for (let i = 0; i < 50 && !r.stdout.includes('end-of-file'); i++) r = await runBin('diyc-exec', [detached, 'cat', '/tmp/fds'], { env });
    expect(r.stdout).toMatch(/^pipe:\[\d+\]\npipe:\[\d+\]\nend-of-file\n$/);
    await runBin('diyc-rm', ['-f', detached], { env });
  });

  it('a /dev/kmsg shipped in the image cannot be written by a user inside; privileged, it can', async () => {
    const attack = await inside("su -s /bin/sh nobody -c 'echo diyc-breakout > /attack/kmsg' && echo wrote");
    expect(attack.stdout).toBe('');
    expect(attack.stderr).toContain('Operation not permitted');
    const privileged = await inside(`su -s /bin/sh nobody -c 'echo diyc-breakout-${process.pid} > /attack/kmsg' && echo wrote`, [
      '--privileged',
    ]);
    expect(privileged.stdout).toBe('wrote\n');
  });

  it("holds Docker's capabilities, with seccomp in filter mode; --no-new-privileges, --cap-drop and --privileged change them", async () => {
    const status = async (flags: string[] = []) => {
      const r = await inside('grep -E "^(Cap[A-Za-z]+|NoNewPrivs|Seccomp):" /proc/self/status', flags);
      return Object.fromEntries(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(/:\s+/)),
      );
    };
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW
    // SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP: bits 0 1 3 4 5 6 7 8 10 13 18 27 29 31.
    expect(await status()).toEqual({
      CapInh: '0000000000000000',
      CapPrm: '00000000a80425fb',
      CapEff: '00000000a80425fb',
      CapBnd: '00000000a80425fb',
      CapAmb: '0000000000000000',
      NoNewPrivs: '0',
      Seccomp: '2',
    });
    expect((await status(['--no-new-privileges'])).NoNewPrivs).toBe('1');
    expect((await status(['--cap-drop', 'ALL', '--cap-add', 'net_bind_service'])).CapEff).toBe('0000000000000400');
    // Privileged: all that this process holds (a sandbox may lack some).
    const all = /^CapBnd:\s*(\w+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    expect(await status(['--privileged'])).toMatchObject({ CapEff: all, CapBnd: all, Seccomp: '0' });
  });

  it('/proc and /sys: sysctls read-only, secrets masked, kernel addresses hidden, /sys not remountable, the clock not settable', async () => {
    const before = readFileSync('/proc/sys/vm/stat_interval', 'utf8');
    const nullBefore = statSync('/dev/null').ctimeMs;
    const r = await inside(
      [
        'echo 7 > /proc/sys/vm/stat_interval 2>/dev/null || echo sysctl-refused',
        // A masked file is a bind of the host's /dev/null: touching it (or chmod) must not reach the host's inode.
        'touch /proc/timer_list 2>/dev/null || echo mask-read-only',
        'head -c 16 /proc/kallsyms; echo',
        'echo keys=$(wc -c < /proc/keys) timers=$(wc -c < /proc/timer_list)',
        'mount -o remount,rw /sys 2>/dev/null || echo sys-stays-ro',
        '/bin/probe settime',
      ].join('; '),
    );
    expect(r.stdout.split('\n')).toEqual([
      'sysctl-refused',
      'mask-read-only',
      '0000000000000000',
      'keys=0 timers=0',
      'sys-stays-ro',
      'settime: EPERM',
      '',
    ]);
    expect(readFileSync('/proc/sys/vm/stat_interval', 'utf8')).toBe(before);
    expect(statSync('/dev/null').ctimeMs).toBe(nullBefore);
    // A capability brings back what it allows, seccomp included (nothing is set: NULL).
    expect((await inside('/bin/probe settime', ['--cap-add', 'SYS_TIME'])).stdout).toBe('settime: ok 0\n');
    // Privileged: unmasked, and CAP_SYSLOG shows the addresses.
    const privileged = await inside('echo keys=$(wc -c < /proc/timer_list); head -c 16 /proc/kallsyms; echo', ['--privileged']);
    expect(privileged.stdout).not.toContain('keys=0\n');
    expect(privileged.stdout).not.toContain('0000000000000000');
  });

  it('seccomp keeps out keyctl, bpf, perf_event_open, userfaultfd and new user namespaces; unconfined, keyctl answers', async () => {
    // A call numbered above all the profile names (1000: no kernel has it) is ENOSYS, not
    // EPERM (runc's stub), so that a newer libc falls back as on an older kernel.
    const r = await inside('for c in keyring bpf perf userfaultfd userns; do /bin/probe $c; done; /bin/probe nosys 1000');
    expect(r.stdout.trim().split('\n')).toEqual([
      'keyring: EPERM',
      'bpf: EPERM',
      'perf: EPERM',
      'userfaultfd: EPERM',
      'userns: EPERM',
      'nosys: ENOSYS',
    ]);
    expect((await inside('/bin/probe keyring', ['--security-opt', 'seccomp=unconfined'])).stdout).toMatch(/^keyring: ok \d+\n$/);
  });

  it("the caller's session keyring stays out: a container joins a fresh one", async () => {
    const probe = join(work.path, 'probe');
    execFileSync('gcc', ['-static', '-O2', '-o', probe, join(repo, 'test-e2e', 'probe.c')]);
    const ours = spawnSync(probe, ['keyring'], { encoding: 'utf8' }).stdout;
    expect(ours).toMatch(/^keyring: ok \d+\n$/);
    const theirs = (await inside('/bin/probe keyring', ['--security-opt', 'seccomp=unconfined'])).stdout;
    expect(theirs).toMatch(/^keyring: ok \d+\n$/);
    expect(theirs).not.toBe(ours);
  });

  it("the host's users cannot reach an image's device node, or a setuid program a container made, in diyc's directories", async () => {
    const asNobody = (script: string) =>
      runCommand('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'sh', '-c', script]);
    const image = JSON.parse(readFileSync(join(root, 'images', 'attack', 'image.json'), 'utf8')) as { layers: string[] };
    const kmsg = join(root, 'layers', (image.layers[0] as string).replace('sha256:', ''), 'attack', 'kmsg');
    // The control: directories open to all, as an install made before this check left them.
    // Any user of the host then writes the host's kernel log through the image's node (0666).
    chmodSync(work.path, 0o711);
    for (const dir of [root, join(root, 'layers')]) chmodSync(dir, 0o755);
    const open = await asNobody(`echo "diyc breakout test: a host user through an image's node" > ${kmsg} && echo wrote`);
    expect(open.stdout, open.stderr).toBe('wrote\n');
    // A container (kept, not --rm) writes a setuid-root program into its upper layer.
    const made = await run([name('suid'), 'attack', 'sh', '-c', 'cp /bin/busybox /suid && chmod 4755 /suid']);
    expect(made.code, made.stderr).toBe(0);
    const suid = join(root, 'containers', 'suid', 'upper', 'suid');
    expect(statSync(suid).mode & 0o4777).toBe(0o4755);
    // diyc-run narrowed the layers and containers directories to root.
    for (const dir of ['layers', 'containers']) expect((statSync(join(root, dir)).mode & 0o777).toString(8)).toBe('700');
    const denied = await asNobody(`echo x > ${kmsg}; ${suid} true`);
    expect(denied.stderr).toMatch(/kmsg: Permission denied[\s\S]*suid: Permission denied/);
  });

  it("diyc-rm, -stop and -exec refuse ../NAME before touching anything: a cgroup outside diyc's stays", async () => {
    const layout = detectLayout();
    const pids = layout.mode === 'unified' ? (layout.v2 as string) : (layout.v1.get('pids') as string);
    const outside = join(pids, `diyc-e2e-outside-${process.pid}`);
    mkdirSync(outside);
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      writeFileSync(join(outside, 'cgroup.procs'), String(sleeper.pid));
      // PARENT/../NAME is the outside cgroup: what `diyc-rm ../NAME` used to kill and remove.
      const other = `../${basename(outside)}`;
      for (const args of [
        ['diyc-rm', '-f', other],
        ['diyc-stop', other],
        ['diyc-exec', other, 'true'],
      ]) {
        const r = await runBin(args[0] as string, args.slice(1), { env });
        expect(r.stderr, args.join(' ')).toContain('may hold only letters, digits');
        expect(r.code, args.join(' ')).not.toBe(0);
      }
      expect(readFileSync(join(outside, 'cgroup.procs'), 'utf8').trim()).toBe(String(sleeper.pid));
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.on('close', r));
      rmdirSync(outside);
    }
  });

  it("a user's container still works: chown, su to a user, ping the gateway (NET_RAW)", async () => {
    expect((await runBin('diyc-net', ['setup'], { env })).code).toBe(0);
    const r = await run([
      '--rm',
      '--net',
      'bridge',
      name('works'),
      'attack',
      'sh',
      '-c',
      [
        'touch /tmp/f && chown 1000:1000 /tmp/f && stat -c %u:%g /tmp/f',
        "su -s /bin/sh nobody -c 'id -u'",
        `ping -c 1 -W 2 ${prefix}.1 >/dev/null && echo ping-ok`,
      ].join('; '),
    ]);
    expect(r.stdout.split('\n'), r.stderr).toEqual(['1000:1000', '65534', 'ping-ok', '']);
  });

  it('diyc-run --help says what --privileged gives away', async () => {
    const help = await runCommand('diyc-run', ['--help'], { env: userEnv(env) });
    expect(help.stdout).toMatch(/--privileged[\s\S]*all capabilities[\s\S]*no seccomp filter[\s\S]*the host's disks/);
  });
});
