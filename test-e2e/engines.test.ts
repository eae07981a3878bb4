// diyc-oci under the engines that drive runtimes: containerd (through ctr and its runc shim)
// and podman (through conmon). Each engine runs privately: its own root, state, socket and
// cgroup parent in a temporary directory, so nothing of the machine's is touched, and
// everything it made is gone afterwards. The image is the default busybox image, wrapped as
// a `docker save` archive, which both engines load without a registry.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { DEFAULT_ROOT } from '@diyc/oci';
import { binDir, busyboxTarball, isRoot, onTerminal, repo, rootReason, runCommand, tempDir } from './helpers.js';

const have = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const diycOci = join(binDir, 'diyc-oci');
const imageName = 'diyc.local/busybox:latest';

/** The busybox image as `docker save` writes it, made by the tool a user would run. */
async function dockerArchive(dir: string): Promise<string> {
  busyboxTarball();
  const archive = join(dir, 'busybox-docker.tar');
  const r = await runCommand(process.execPath, [join(repo, 'tools', 'make-docker-archive.mjs'), archive, imageName]);
  expect(r.code, r.stderr).toBe(0);
  return archive;
}

/** Ends the processes whose command line mentions `marker` (the engine's private paths). */
function endProcessesMentioning(marker: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

/** Unmounts what is still mounted under `dir`, deepest first. */
function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(dir));
  for (const m of mounts.sort().reverse()) spawnSync('umount', ['-l', m]);
}

const cgroupParentGone = (parent: string) => {
  const cgroups = createCgroupManager({ parent });
  cgroups.pruneParent();
  return !cgroups.exists(`/${parent}`);
};

describe.skipIf(!isRoot || !have('containerd') || !have('ctr'))(`containerd with --runc-binary diyc-oci (${rootReason})`, () => {
  // Made in beforeAll: a run filtered to other tests makes none, so leaves none.
  let work = { path: '', remove: () => {} };
  const parent = `diyc-e2e-ctd-${process.pid}`;
  let socket = '';
  let daemon: ReturnType<typeof spawn> | undefined;
  const ctr = (...args: string[]) => runCommand('ctr', ['--address', socket, '--namespace', 'diyc-e2e', ...args], { timeoutMs: 60_000 });
  /** `ctr run` with diyc-oci as the runtime, and every path of its own. */
  const runFlags = (id: string) => [
    '--runc-binary',
    diycOci,
    '--runc-root',
    join(work.path, 'runc'),
    '--fifo-dir',
    join(work.path, 'fifo'),
    '--cgroup',
    `/${parent}/${id}`,
  ];

  beforeAll(async () => {
    work = tempDir('diyc-ctd-e2e-');
    socket = join(work.path, 'containerd.sock');
    const config = join(work.path, 'config.toml');
    writeFileSync(
      config,
      [
        'version = 2',
        `root = "${work.path}/root"`,
        `state = "${work.path}/state"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        `[grpc]\n  address = "${socket}"`,
        `[ttrpc]\n  address = "${socket}.ttrpc"`,
      ].join('\n'),
    );
    daemon = spawn('containerd', ['--config', config], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
    const loaded = await ctr('images', 'import', await dockerArchive(work.path));
    expect(loaded.code, loaded.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    for (const id of ['once', 'tty', 'bg']) {
      await ctr('task', 'kill', '-s', 'KILL', id);
      await ctr('task', 'rm', '-f', id);
      await ctr('containers', 'rm', id);
    }
    daemon?.kill('SIGTERM');
    if (daemon && daemon.exitCode === null) await new Promise((r) => daemon?.on('exit', r));
    endProcessesMentioning(work.path); // shims outlive a daemon on purpose; ours must not
    // containerd 1.6 puts its shims' sockets in /run/containerd/s whatever its state dir:
    // remove the directories our daemon made, if nothing else uses them (rmdir of empty ones).
    for (const dir of ['/run/containerd/s', '/run/containerd/fifo', '/run/containerd']) spawnSync('rmdir', [dir]);
    unmountUnder(work.path);
    const parentGone = cgroupParentGone(parent);
    work.remove();
    expect(parentGone).toBe(true);
  }, 60_000);

  it("runs a container to its end: output, exit status, PID namespace, the config's capabilities and seccomp", async () => {
    const r = await ctr(
      'run',
      '--rm',
      ...runFlags('once'),
      imageName,
      'once',
      'sh',
      '-c',
      'echo pid $$; grep -E "^(CapEff|Seccomp):" /proc/self/status | tr -s "\\t" " "; exit 3',
    );
    expect(r.code, r.stderr).toBe(3);
    // PID 1 of its own namespace; ctr's default spec gives Docker's capabilities and no
    // seccomp profile (ctr asks for one with --seccomp): diyc-oci does what the spec says.
    expect(r.stdout).toBe('pid 1\nCapEff: 00000000a80425fb\nSeccomp: 0\n');
  });

  it('gives a container a terminal with -t', async () => {
    await onTerminal(
      [
        'ctr',
        '--address',
        socket,
        '--namespace',
        'diyc-e2e',
        'run',
        '--rm',
        '-t',
        ...runFlags('tty'),
        imageName,
        'tty',
        'sh',
        '-c',
        '"tty; read line; echo got \\$line; exit 5"',
      ],
      {},
      async (t) => {
        await t.screen(/\/dev\/pts\/0/);
        t.keys('typed', 'Enter');
        await t.screen(/got typed/);
        expect(await t.exitStatus()).toBe('5');
      },
    );
  });

  it('runs detached, with exec, ps and kill', async () => {
    const started = await ctr('run', '-d', ...runFlags('bg'), imageName, 'bg', 'sleep', '300');
    expect(started.code, started.stderr).toBe(0);
    const exec = await ctr(
      'task',
      'exec',
      '--fifo-dir',
      join(work.path, 'fifo'),
      '--exec-id',
      'e1',
      'bg',
      'sh',
      '-c',
      'echo with $(cat /proc/1/cmdline | tr "\\0" " "); exit 4',
    );
    expect(exec.stdout).toBe('with sleep 300\n');
    expect(exec.code).toBe(4);
    const ps = await ctr('task', 'ps', 'bg');
    expect(ps.stdout).toMatch(/^PID\s+INFO\n\d+\s+-\n?$/);
    expect((await ctr('task', 'kill', '-s', 'KILL', 'bg')).code).toBe(0);
    let listed = '';
    for (let i = 0; i < 100 && !/bg\s+\d+\s+STOPPED/.test(listed); i++) {
      listed = (await ctr('task', 'ls')).stdout;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(listed).toMatch(/bg\s+\d+\s+STOPPED/);
    expect((await ctr('task', 'rm', 'bg')).code).toBe(0);
    expect(createCgroupManager().exists(`/${parent}/bg`)).toBe(false);
  });
});

describe.skipIf(!isRoot || !have('podman'))(`podman --runtime diyc-oci (${rootReason})`, () => {
  let work = { path: '', remove: () => {} };
  const parent = `diyc-e2e-podman-${process.pid}`;
  const TMPFS_MAGIC = 0x01021994;
  const conf = () => join(work.path, 'containers.conf');
  const podman = (...args: string[]) =>
    runCommand(
      'podman',
      [
        '--root',
        join(work.path, 'root'),
        '--runroot',
        join(work.path, 'runroot'),
        '--tmpdir',
        join(work.path, 'tmp'),
        '--runtime',
        diycOci,
        '--cgroup-manager',
        'cgroupfs',
        '--events-backend',
        'none',
        '--storage-driver',
        'overlay',
        ...args,
      ],
      { env: { ...process.env, CONTAINERS_CONF: conf() }, timeoutMs: 60_000 },
    );
  const run = ['run', '--network', 'none', '--cgroup-parent', `/${parent}`];

  beforeAll(async () => {
    work = tempDir('diyc-podman-e2e-');
    // Podman's default ulimits ask for more open files than a container of this machine's
    // may have; the machine's limits are what a container gets here.
    writeFileSync(conf(), '[containers]\ndefault_ulimits = []\n');
    const loaded = await podman('load', '-i', await dockerArchive(work.path));
    expect(loaded.code, loaded.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await podman('rm', '-f', '-a');
    await podman('system', 'reset', '-f');
    endProcessesMentioning(work.path); // conmon, if a test failed half-way
    // Podman runs the runtime with no --root (its cleanup process too, so a --runtime-flag
    // root would not reach every call): diyc-oci used its default, /run/diyc-oci. Its
    // compiled-seccomp cache is the test's to remove; the root goes only if left empty.
    rmSync(join(DEFAULT_ROOT, 'seccomp'), { recursive: true, force: true });
    spawnSync('rmdir', [DEFAULT_ROOT]);
    unmountUnder(work.path);
    // Podman keeps conmon's own cgroup, <parent>/conmon; the containers' are diyc-oci's to remove.
    const cgroups = createCgroupManager({ parent });
    const left = cgroups.list();
    if (left.includes('conmon')) cgroups.remove(`/${parent}/conmon`, { force: true });
    const parentGone = cgroupParentGone(parent);
    // Podman's cgroupfs manager also makes <parent>/conmon, with a `tasks` file, under the
    // directories of /sys/fs/cgroup that are no cgroup hierarchy here (plain tmpfs
    // directories: hugetlb, net_cls, perf_event on this host): removed as plain files.
    for (const dir of readdirSync('/sys/fs/cgroup')) {
      const base = join('/sys/fs/cgroup', dir);
      if (!lstatSync(base).isSymbolicLink() && statfsSync(base).type === TMPFS_MAGIC)
        rmSync(join(base, parent), { recursive: true, force: true });
    }
    work.remove();
    expect(left.filter((name) => name !== 'conmon')).toEqual([]);
    expect(parentGone).toBe(true);
  }, 60_000);

  it("runs a container to its end with --rm, with podman's seccomp profile and capabilities", async () => {
    const r = await podman(
      ...run,
      '--rm',
      '--hostname',
      'pm',
      imageName,
      'sh',
      '-c',
      'echo $(hostname); grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\\t" " "; exit 6',
    );
    expect(r.code, r.stderr).toBe(6);
    expect(r.stdout).toBe('pm\nNoNewPrivs: 0\nSeccomp: 2\n');
  });

  it('runs detached; exec, stop and rm', async () => {
    const started = await podman(...run, '-d', '--name', 'bg', imageName, 'sleep', '300');
    expect(started.code, started.stderr).toBe(0);
    const exec = await podman('exec', 'bg', 'sh', '-c', 'echo in $(hostname); exit 2');
    expect(exec.code).toBe(2);
    expect(exec.stdout).toMatch(/^in [0-9a-f]{12}\n$/);
    const stopped = await podman('stop', '-t', '1', 'bg');
    expect(stopped.code, stopped.stderr).toBe(0);
    const state = await podman('inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'bg');
    expect(state.stdout.trim()).toBe('exited 137');
    expect((await podman('rm', 'bg')).code).toBe(0);
  });
});
