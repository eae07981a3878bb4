#!/usr/bin/env node
// A Kubernetes pod cycle through containerd's CRI plugin, with the runtime handler `runc`
// (Debian's runc) and `diyc` (diyc-oci), alternated round by round: crictl runp, create,
// start, exec (-s), stop, rm, stopp, rmp of a CNI-networked pod (bridge + host-local + loopback)
// whose container exits on TERM, as kubelet makes it. Each step's median, the cycle's, and
// diyc's ratio to runc. The private containerd, registry, bridge and cgroup parent are made
// here and removed at the end (the same setup as test-e2e/cri-harness.ts).
// NODE_EXTRA_CA_CERTS is unset, for this process's children and containerd's: reading a CA
// bundle costs every Node start ~30 ms in this sandbox, and a node's containerd has none.
//
//   node tools/bench/cri.mjs [ROUNDS]      (root; crictl, containerd, runc, docker-registry,
//                                           skopeo, containernetworking-plugins)
//   DIYC_CRI_DIYC_BINARY=PATH              the program behind the diyc handler (default packages/oci/bin/diyc-oci,
//                                           what an npm install links; not pnpm's node_modules/.bin shell script)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './lib.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rounds = Number(process.argv[2] ?? 10);
const handlers = { runc: '/usr/sbin/runc', diyc: process.env.DIYC_CRI_DIYC_BINARY ?? join(repo, 'packages', 'oci', 'bin', 'diyc-oci') };
const { NODE_EXTRA_CA_CERTS: _unset, ...env } = process.env;
const steps = ['runp', 'create', 'start', 'exec', 'stop', 'rm', 'stopp', 'rmp'];
// Timed too, outside the cycle: a streaming exec (through the stream server) and logs.
const extras = ['exec-it', 'logs'];

for (const need of ['crictl', 'containerd', 'docker-registry', 'skopeo']) {
  if (spawnSync('sh', ['-c', `command -v ${need}`]).status !== 0) {
    console.error(
      `cri bench: ${need} is missing${need === 'crictl' ? ' (build it from cri-tools v1.32.0 with Go 1.23 from bookworm-backports and its vendored modules)' : ''}`,
    );
    process.exit(1);
  }
}

const work = mkdtempSync(join(tmpdir(), 'diyc-bench-cri-'));
const socket = join(work, 'containerd.sock');
const parent = `diyc-bench-cri-${process.pid}`;
const network = `diyc-bench-cri-${process.pid}`;
const bridge = `dbcri${process.pid % 100000}`;
const run = (argv, options = {}) => execFileSync(argv[0], argv.slice(1), { env, encoding: 'utf8', ...options });
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const crictlArgv = [
  'crictl',
  '--config',
  join(work, 'crictl.yaml'),
  '--runtime-endpoint',
  `unix://${socket}`,
  '--image-endpoint',
  `unix://${socket}`,
  '--timeout',
  '60s',
];
const crictl = (...args) => run([...crictlArgv, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const ipForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
const hadVarLibCni = existsSync('/var/lib/cni'); // libcni caches its results there, whatever containerd's dirs
const tablesBefore = spawnSync('iptables-save', [], { encoding: 'utf8' })
  .stdout.split('\n')
  .filter((l) => l.startsWith('*'));

/** A /24 of 10.2xx no route of this machine's covers. */
function freeSubnet() {
  const routes = spawnSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout;
  for (let i = 0; i < 200; i++) {
    const prefix = `10.${200 + ((process.pid + i) % 50)}.${(process.pid * 7 + i * 13) % 250}`;
    if (!routes.includes(`${prefix}.`)) return prefix;
  }
  throw new Error('no free subnet');
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The sandbox image: busybox's layer, sleeping until TERM (registry.k8s.io is out of reach). */
function pauseArchive(tag) {
  const parts = join(work, 'pause');
  mkdirSync(parts);
  const layer = readFileSync(join(repo, 'tools', 'out', 'busybox.tar'));
  writeFileSync(join(parts, 'layer.tar'), layer);
  writeFileSync(
    join(parts, 'config.json'),
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait; done'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(layer).digest('hex')}`] },
    }),
  );
  writeFileSync(join(parts, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: [tag], Layers: ['layer.tar'] }]));
  run(['tar', '-cf', `${parts}.tar`, '-C', parts, 'manifest.json', 'config.json', 'layer.tar']);
  return `${parts}.tar`;
}

let registry;
let daemon;
try {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  mkdirSync(join(work, 'registry'));
  writeFileSync(
    join(work, 'registry', 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${work}/registry/data\nhttp:\n  addr: ${host}\n`,
  );
  registry = spawn('docker-registry', ['serve', join(work, 'registry', 'config.yml')], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try {
      await (await fetch(`http://${host}/v2/`)).body?.cancel();
      break;
    } catch {
      if (i > 100) throw new Error('docker-registry did not start');
      await pause(50);
    }
  }
  const image = `${host}/diyc/busybox:latest`;
  const pauseImage = `${host}/diyc/pause:1`;
  const archive = run([process.execPath, join(repo, 'tools', 'make-docker-archive.mjs'), join(work, 'busybox-docker.tar'), image])
    .trim()
    .split('\n')
    .at(-1); // a first run also says it made busybox.tar
  for (const [source, ref] of [
    [archive, image],
    [pauseArchive(pauseImage), pauseImage],
  ]) {
    run(['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', `docker-archive:${source}`, `docker://${ref}`]);
  }

  const prefix = freeSubnet();
  mkdirSync(join(work, 'cni'));
  writeFileSync(
    join(work, 'cni', '10-bench.conflist'),
    JSON.stringify({
      cniVersion: '0.4.0',
      name: network,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: true,
          ipam: { type: 'host-local', dataDir: join(work, 'ipam'), ranges: [[{ subnet: `${prefix}.0/24` }]] },
        },
        { type: 'loopback' },
      ],
    }),
  );
  mkdirSync(join(work, 'certs.d', host), { recursive: true });
  writeFileSync(
    join(work, 'certs.d', host, 'hosts.toml'),
    `server = "http://${host}"\n[host."http://${host}"]\n  capabilities = ["pull", "resolve"]\n`,
  );
  writeFileSync(join(work, 'crictl.yaml'), `runtime-endpoint: unix://${socket}\nimage-endpoint: unix://${socket}\n`);
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  writeFileSync(
    join(work, 'config.toml'),
    [
      'version = 2',
      `root = "${work}/root"`,
      `state = "${work}/state"`,
      `[grpc]\n  address = "${socket}"`,
      `[ttrpc]\n  address = "${socket}.ttrpc"`,
      `[plugins."io.containerd.internal.v1.opt"]\n  path = "${work}/opt"`,
      `[${cri}]`,
      `  sandbox_image = "${pauseImage}"`,
      '  stream_server_address = "127.0.0.1"',
      '  stream_server_port = "0"',
      '  netns_mounts_under_state_dir = true',
      '  restrict_oom_score_adj = true',
      `  [${cri}.containerd]`,
      '    snapshotter = "overlayfs"',
      '    default_runtime_name = "runc"',
      ...Object.entries(handlers).flatMap(([name, binary]) => [
        `    [${cri}.containerd.runtimes.${name}]`,
        '      runtime_type = "io.containerd.runc.v2"',
        `      [${cri}.containerd.runtimes.${name}.options]`,
        `        BinaryName = "${binary}"`,
        `        Root = "${work}/${name}-root"`,
        '        SystemdCgroup = false',
      ]),
      `  [${cri}.cni]`,
      '    bin_dir = "/usr/lib/cni"',
      `    conf_dir = "${work}/cni"`,
      '    max_conf_num = 1',
      `  [${cri}.registry]`,
      `    config_path = "${work}/certs.d"`,
      '',
    ].join('\n'),
  );
  const log = openSync(join(work, 'containerd.log'), 'a');
  daemon = spawn('containerd', ['--config', join(work, 'config.toml')], { env, stdio: ['ignore', log, log] });
  closeSync(log);
  for (let i = 0; spawnSync(crictlArgv[0], [...crictlArgv.slice(1), 'version'], { env }).status !== 0; i++) {
    if (i > 200) throw new Error(`containerd did not start: ${readFileSync(join(work, 'containerd.log'), 'utf8').slice(-1500)}`);
    await pause(50);
  }
  crictl('pull', image);
  crictl('pull', pauseImage);

  // kubelet's namespaces for a pod without shareProcessNamespace: the pod's network and IPC,
  // the container's own PID namespace (crictl's default, 0, would be the pod's).
  const namespaces = { network: 0, pid: 1, ipc: 0 };
  const specs = (handler, round) => {
    const pod = join(work, `pod-${handler}-${round}.json`);
    writeFileSync(
      pod,
      JSON.stringify({
        metadata: { name: `bench-${handler}-${round}`, namespace: 'bench', uid: `${handler}-${round}`, attempt: 0 },
        log_directory: join(work, 'logs'),
        linux: { cgroup_parent: `/${parent}/pod-${handler}-${round}`, security_context: { namespace_options: namespaces } },
      }),
    );
    const container = join(work, `ctr-${handler}-${round}.json`);
    writeFileSync(
      container,
      JSON.stringify({
        metadata: { name: 'main' },
        image: { image },
        log_path: `${handler}-${round}.log`,
        // Exits at once on TERM (wait is interrupted by a trapped signal), as a well-behaved pod does.
        command: ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'],
        linux: { security_context: { namespace_options: namespaces } },
      }),
    );
    return { pod, container };
  };

  const blank = () => Object.fromEntries([...steps, ...extras, 'cycle'].map((s) => [s, []]));
  const times = Object.fromEntries(Object.keys(handlers).map((h) => [h, blank()]));
  const timed = (list, fn) => {
    const start = process.hrtime.bigint();
    const out = fn();
    list.push(Number(process.hrtime.bigint() - start) / 1e6);
    return out;
  };
  const warmup = 2;
  for (let round = 0; round < rounds + warmup; round++) {
    for (const handler of Object.keys(handlers)) {
      const t = round >= warmup ? times[handler] : blank();
      const { pod, container } = specs(handler, round);
      const sandbox = timed(t.runp, () => crictl('runp', '--runtime', handler, pod));
      const id = timed(t.create, () => crictl('create', sandbox, container, pod));
      timed(t.start, () => crictl('start', id));
      timed(t.exec, () => crictl('exec', '-s', id, 'true'));
      timed(t['exec-it'], () => crictl('exec', id, 'true'));
      timed(t.logs, () => crictl('logs', id));
      timed(t.stop, () => crictl('stop', '-t', '10', id));
      timed(t.rm, () => crictl('rm', id));
      timed(t.stopp, () => crictl('stopp', sandbox));
      timed(t.rmp, () => crictl('rmp', sandbox));
      t.cycle.push(steps.reduce((sum, step) => sum + (t[step].at(-1) ?? 0), 0));
      spawnSync('sh', [
        '-c',
        `rmdir /sys/fs/cgroup/*/${parent}/pod-${handler}-${round} /sys/fs/cgroup/${parent}/pod-${handler}-${round} 2>/dev/null`,
      ]);
    }
  }

  console.log(`\nCRI pod cycle through containerd, ${rounds} rounds alternated (median ms)`);
  console.log(`  ${'step'.padEnd(8)} ${'runc'.padStart(8)} ${'diyc'.padStart(8)}   diyc/runc`);
  for (const step of [...steps, 'cycle', ...extras]) {
    const r = median(times.runc[step]);
    const d = median(times.diyc[step]);
    const note = step === 'cycle' ? '   (the steps above, one pod)' : extras.includes(step) ? '   (not in the cycle)' : '';
    console.log(`  ${step.padEnd(8)} ${r.toFixed(1).padStart(8)} ${d.toFixed(1).padStart(8)}   x${(d / r).toFixed(2)}${note}`);
  }
} catch (err) {
  // crictl's own message says which step failed (diyc-oci's known bugs: see issue 19).
  console.error(`cri bench: ${err.stderr?.toString().trim() || err.message}`);
  process.exitCode = 1;
} finally {
  if (daemon && daemon.exitCode === null) {
    spawnSync(crictlArgv[0], [...crictlArgv.slice(1), 'rmp', '--all', '--force'], { env, stdio: 'ignore' });
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
  }
  registry?.kill('SIGTERM');
  // Shims outlive their daemon on purpose; ours must not (their -address names our socket).
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)) {
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(work)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  spawnSync('sh', [
    '-c',
    `for d in /sys/fs/cgroup/*/${parent} /sys/fs/cgroup/${parent}; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} +; done; true`,
  ]);
  for (const m of readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${work}/`))
    .sort()
    .reverse()) {
    spawnSync('umount', ['-l', m]);
  }
  spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
  // CNI's ipMasq rules name the network in their comment; rmp removes them, this is in case.
  for (const rule of spawnSync('iptables', ['-t', 'nat', '-S', 'POSTROUTING'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((r) => r.includes(`"${network}"`))) {
    spawnSync('sh', ['-c', `iptables -t nat ${rule.replace(/^-A /, '-D ')}`]);
  }
  // The tables CNI's first rules made (nf_tables backend), empty now, and forwarding the bridge turned on.
  const nfTables = /nf_tables/.test(spawnSync('iptables', ['--version'], { encoding: 'utf8' }).stdout);
  for (const section of nfTables ? spawnSync('iptables-save', [], { encoding: 'utf8' }).stdout.split(/^\*/m).slice(1) : []) {
    const table = section.split('\n')[0];
    if (!tablesBefore.includes(`*${table}`) && !/^-A /m.test(section)) spawnSync('nft', ['delete', 'table', 'ip', table]);
  }
  if (ipForward === '0' && !/diyc|CNI-/.test(spawnSync('iptables-save', [], { encoding: 'utf8' }).stdout))
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '0');
  for (const dir of ['/run/containerd/s', '/run/containerd']) {
    try {
      rmdirSync(dir);
    } catch {
      /* in use, or not ours */
    }
  }
  if (!hadVarLibCni) spawnSync('sh', ['-c', 'find /var/lib/cni -depth -type d -empty -delete'], { stdio: 'ignore' });
  if (existsSync(work)) rmSync(work, { recursive: true, force: true });
}
