#!/usr/bin/env node
// diyc-oci against runc under the same engine, in one go: `ctr run --rm` of the default
// busybox image running `true`, through a private containerd, with runc (Debian's) and
// with diyc-oci as the runtime binary, alternated round by round. Also the runtime alone:
// create + start + wait + delete of one bundle, runc against diyc-oci.
// NODE_EXTRA_CA_CERTS is unset: reading a CA bundle costs every Node start ~30 ms in this
// sandbox, and users' machines do not load one.
//
//   node tools/bench/oci.mjs [ROUNDS]      (root; containerd and runc from Debian)
//   DIYC_OCI_BINARY=PATH                   the diyc-oci program (default packages/oci/bin/
//                                          diyc-oci, what an npm install links: its native
//                                          front does start, kill, delete, state, list; pnpm's
//                                          node_modules/.bin script costs ~5 ms a call more)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alternate } from './lib.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rounds = Number(process.argv[2] ?? 20);
const diycOci = process.env.DIYC_OCI_BINARY ?? join(repo, 'packages', 'oci', 'bin', 'diyc-oci');
const { NODE_EXTRA_CA_CERTS: _unset, ...env } = process.env;
const work = mkdtempSync(join(tmpdir(), 'diyc-bench-oci-'));
const socket = join(work, 'containerd.sock');
const parent = `diyc-bench-oci-${process.pid}`;
const image = 'diyc.local/busybox:latest';
const run = (argv) => execFileSync(argv[0], argv.slice(1), { env, encoding: 'utf8' });

let daemon;
try {
  const archive = run([process.execPath, join(repo, 'tools', 'make-docker-archive.mjs'), join(work, 'busybox-docker.tar'), image])
    .trim()
    .split('\n')
    .at(-1); // a first run also says it made busybox.tar
  writeFileSync(
    join(work, 'config.toml'),
    [
      'version = 2',
      `root = "${work}/root"`,
      `state = "${work}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      `[grpc]\n  address = "${socket}"`,
      `[ttrpc]\n  address = "${socket}.ttrpc"`,
    ].join('\n'),
  );
  // containerd's children (the shim, the runtime) get `env` too: with the CA bundle, every
  // `diyc-oci create` under it read it: ~45 ms a container, x1.98 of runc for x1.24 here.
  daemon = spawn('containerd', ['--config', join(work, 'config.toml')], { env, stdio: 'ignore' });
  for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
  const ctr = ['ctr', '--address', socket, '--namespace', 'bench'];
  run([...ctr, 'images', 'import', archive]);
  const ctrRun = (runtime, id) => [
    ...ctr,
    'run',
    '--rm',
    ...(runtime ? ['--runc-binary', runtime] : []),
    '--runc-root',
    join(work, `rt-${id}`),
    '--fifo-dir',
    join(work, 'fifo'),
    '--cgroup',
    `/${parent}/${id}`,
    image,
    id,
    'true',
  ];
  const engine = alternate({ runc: ctrRun(undefined, 'runc'), 'diyc-oci': ctrRun(diycOci, 'diyc') }, rounds, env);

  // The runtime alone: the same bundle (busybox rootfs, diyc-oci's default spec running true).
  const bundle = join(work, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  run(['tar', '-xpf', join(repo, 'tools', 'out', 'busybox.tar'), '-C', join(bundle, 'rootfs')]);
  run([diycOci, 'spec', '--no-terminal', '--bundle', bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.args = ['true'];
  spec.linux.cgroupsPath = `/${parent}/bundle`;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const lifecycle = (runtime) => [
    'sh',
    '-c',
    `${runtime} --root ${work}/root-$$ create --bundle ${bundle} b >/dev/null && ${runtime} --root ${work}/root-$$ start b && ` +
      `while ${runtime} --root ${work}/root-$$ state b | grep -q '"running"'; do :; done; ${runtime} --root ${work}/root-$$ delete --force b`,
  ];
  const alone = alternate({ runc: lifecycle('runc'), 'diyc-oci': lifecycle(diycOci) }, rounds, env);
  // One call an engine makes often, `state` of a created container, and `list` of a root
  // holding one: both the native front's, against runc's. Each runtime its own bundle (the
  // same rootfs, a cgroup each) and root; the held process keeps its output, so create's
  // goes to /dev/null, not to a pipe that would never close.
  for (const [runtime, id] of [
    ['runc', 'r'],
    [diycOci, 'd'],
  ]) {
    const dir = join(work, `probe-${id}`);
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        ...spec,
        root: { path: join(bundle, 'rootfs'), readonly: true },
        linux: { ...spec.linux, cgroupsPath: `/${parent}/probe-${id}` },
      }),
    );
    run(['sh', '-c', `"$0" --root ${work}/root-${id} create --bundle ${dir} ${id} >/dev/null 2>&1`, runtime]);
  }
  const calls = alternate(
    {
      'node -e 0': ['node', '-e', '0'],
      'runc state': ['runc', '--root', `${work}/root-r`, 'state', 'r'],
      'diyc-oci state': [diycOci, '--root', `${work}/root-d`, 'state', 'd'],
      'runc list': ['runc', '--root', `${work}/root-r`, 'list'],
      'diyc-oci list': [diycOci, '--root', `${work}/root-d`, 'list'],
    },
    rounds * 2,
    env,
  );
  run(['runc', '--root', `${work}/root-r`, 'delete', '--force', 'r']);
  run([diycOci, '--root', `${work}/root-d`, 'delete', '--force', 'd']);

  console.log(`\nOCI runtimes, ${rounds} rounds alternated (median ms)`);
  console.log(
    `  ctr run --rm busybox true    runc ${engine.runc.toFixed(1)}   diyc-oci ${engine['diyc-oci'].toFixed(1)}   x${(engine['diyc-oci'] / engine.runc).toFixed(2)}`,
  );
  console.log(
    `  create+start+delete          runc ${alone.runc.toFixed(1)}   diyc-oci ${alone['diyc-oci'].toFixed(1)}   x${(alone['diyc-oci'] / alone.runc).toFixed(2)}`,
  );
  for (const call of ['state', 'list']) {
    const [theirs, ours] = [calls[`runc ${call}`], calls[`diyc-oci ${call}`]];
    console.log(
      `  one call: diyc-oci ${call.padEnd(9)}runc ${theirs.toFixed(1)}   diyc-oci ${ours.toFixed(1)}   x${(ours / theirs).toFixed(2)}   (node -e 0 ${calls['node -e 0'].toFixed(1)})`,
    );
  }
} finally {
  daemon?.kill('SIGTERM');
  if (daemon && daemon.exitCode === null) await new Promise((r) => daemon.on('exit', r));
  endLeftovers();
  try {
    execFileSync('sh', [
      '-c',
      `for d in /sys/fs/cgroup/*/${parent} /sys/fs/cgroup/${parent}; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} +; done; true`,
    ]);
  } catch {
    /* reported above */
  }
  rmSync(work, { recursive: true, force: true });
}

/**
 * What containerd does not end with itself when a run fails half-way: its shims (they
 * outlive it by design), and the containers they held, in this run's cgroups. All are this
 * run's: a shim names this run's socket, a container is under this run's parent cgroup.
 */
function endLeftovers() {
  const socket = `${work}/containerd.sock`;
  const pids = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('containerd-shim-runc-v2') && argv.includes(socket)) pids.push(Number(pid));
    } catch {
      /* gone */
    }
  }
  // v1: the parent in each hierarchy; v2: the parent itself.
  const cgroups = [...readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h, parent)), join('/sys/fs/cgroup', parent)];
  for (const dir of cgroups.filter((d) => existsSync(d))) {
    try {
      const procs = execFileSync('find', [dir, '-name', 'cgroup.procs', '-exec', 'cat', '{}', '+'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      pids.push(...procs.split('\n').filter(Boolean).map(Number));
    } catch {
      /* gone meanwhile */
    }
  }
  for (const pid of new Set(pids)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  // A killed process leaves its cgroup within moments; the rmdir below needs it gone.
  if (pids.length > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
}
