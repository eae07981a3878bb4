// A private containerd with its CRI plugin on, as kubelet talks to it, for the CRI pod
// tests and the pod benchmark's reference: its own root, state, sockets, runtime roots and
// cgroup parent under a temporary directory; CNI (Debian's containernetworking-plugins:
// bridge + host-local + loopback) with its own conflist, bridge name, subnet and IPAM
// directory; images served by a private docker-registry on 127.0.0.1 and pulled by
// containerd; a sandbox (pause) image made here from the default busybox image, since
// registry.k8s.io cannot be reached. Two runtime handlers, `runc` (Debian's runc) and
// `diyc` (diyc-oci), both io.containerd.runc.v2 with their own BinaryName.
//
// stop() ends and removes everything it made, and says what was left behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { binDir, busyboxTarball, repo, runCommand, tempDir, testNetwork, type Result } from './helpers.js';
import { push, startRegistry, type Registry } from './registry.js';

const CNI_DIR = '/usr/lib/cni';
const RUNC = '/usr/sbin/runc';
export const diycOci = join(binDir, 'diyc-oci');

const have = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

/** How to get crictl: it is not packaged by Debian 12, so it is built from cri-tools. */
export const crictlRecipe =
  'crictl is built from kubernetes-sigs/cri-tools at tag v1.32.0 with Go 1.23 from bookworm-backports ' +
  '(apt-get install -t bookworm-backports golang-1.23-go), from its vendored modules: ' +
  'GOFLAGS=-mod=vendor CGO_ENABLED=0 /usr/lib/go-1.23/bin/go build -o /usr/local/bin/crictl ./cmd/crictl';

/** Why the CRI tests cannot run here, or undefined when they can. */
export function criMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root: containerd, namespaces, mounts and cgroups';
  if (!have('crictl')) return `crictl is not installed: ${crictlRecipe}`;
  const missing = ['containerd', 'containerd-shim-runc-v2', 'docker-registry', 'skopeo'].filter((c) => !have(c));
  if (!existsSync(RUNC)) missing.push(RUNC);
  for (const plugin of ['bridge', 'host-local', 'loopback']) if (!existsSync(join(CNI_DIR, plugin))) missing.push(join(CNI_DIR, plugin));
  if (missing.length > 0)
    return `missing ${missing.join(', ')} (tools/setup.sh installs containerd, runc, docker-registry, skopeo and containernetworking-plugins)`;
  return undefined;
}

export type Handler = 'runc' | 'diyc';

/** The handler under test: DIYC_CRI_HANDLER=runc checks the tests themselves against runc. */
export function handlerUnderTest(env: NodeJS.ProcessEnv = process.env): Handler {
  return env.DIYC_CRI_HANDLER === 'runc' ? 'runc' : 'diyc';
}

export interface CriOptions {
  /** A short tag for the names of this run's objects (bridge, network, cgroup parent). */
  tag: string;
  /**
   * The program behind the `diyc` handler: diyc-oci, or $DIYC_CRI_DIYC_BINARY (a wrapper
   * around it, say).
   */
  diycBinary?: string;
  /**
   * A directory for a trace of every runtime call (argv, what fds 0-2 are, exit code,
   * time, output) and containerd's log: $DIYC_CRI_TRACE.
   */
  trace?: string;
}

export interface Cri {
  work: string;
  socket: string;
  registry: Registry;
  /** The busybox image, as containerd pulls it: 127.0.0.1:PORT/diyc/busybox:latest. */
  image: string;
  /** The sandbox image (sandbox_image), made here: 127.0.0.1:PORT/diyc/pause:1. */
  pauseImage: string;
  /** The CNI network's name, bridge and subnet prefix (a.b.c of a.b.c.0/24). */
  network: { name: string; bridge: string; prefix: string };
  /** The cgroup parent of this run's pods: a pod's cgroup_parent is /PARENT/POD. */
  parent: string;
  /** containerd's config.toml, as the docs show it. */
  config: string;
  crictl(args: string[], options?: { timeoutMs?: number }): Promise<Result>;
  /** crictl's argv (for a terminal). */
  crictlArgv: string[];
  /** Ends and removes everything; returns what had been left behind (empty when clean). */
  stop(): Promise<string[]>;
}

/** containerd's config: CRI on, cgroupfs, its own paths, the two handlers. */
export function containerdConfig(o: { work: string; socket: string; pauseImage: string; runc: string; diyc: string }): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const handler = (name: string, binary: string) => [
    `    [${cri}.containerd.runtimes.${name}]`,
    '      runtime_type = "io.containerd.runc.v2"',
    `      [${cri}.containerd.runtimes.${name}.options]`,
    `        BinaryName = "${binary}"`,
    `        Root = "${o.work}/${name}-root"`,
    '        SystemdCgroup = false',
  ];
  return [
    'version = 2',
    `root = "${o.work}/root"`,
    `state = "${o.work}/state"`,
    `[grpc]\n  address = "${o.socket}"`,
    `[ttrpc]\n  address = "${o.socket}.ttrpc"`,
    // Its default is /opt/containerd, the machine's.
    `[plugins."io.containerd.internal.v1.opt"]\n  path = "${o.work}/opt"`,
    `[${cri}]`,
    `  sandbox_image = "${o.pauseImage}"`,
    // exec, attach and port-forward streams: loopback only, any free port.
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    // Pods' network namespaces under the state directory, not /var/run/netns.
    '  netns_mounts_under_state_dir = true',
    // The sandbox asks for oom_score_adj -998; lowering it needs CAP_SYS_RESOURCE, which
    // root lacks on some machines (this one): without this even runc fails runp.
    '  restrict_oom_score_adj = true',
    `  [${cri}.containerd]`,
    '    snapshotter = "overlayfs"',
    '    default_runtime_name = "runc"',
    ...handler('runc', o.runc),
    ...handler('diyc', o.diyc),
    `  [${cri}.cni]`,
    `    bin_dir = "${CNI_DIR}"`,
    `    conf_dir = "${o.work}/cni"`,
    '    max_conf_num = 1',
    `  [${cri}.registry]`,
    `    config_path = "${o.work}/certs.d"`,
    '',
  ].join('\n');
}

/** The CNI conflist: a bridge of the run's own, host-local addresses kept in the run's directory. */
export function cniConflist(o: { name: string; bridge: string; prefix: string; ipamDir: string }): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: o.name,
      plugins: [
        {
          type: 'bridge',
          bridge: o.bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', dataDir: o.ipamDir, ranges: [[{ subnet: `${o.prefix}.0/24` }]], routes: [{ dst: '0.0.0.0/0' }] },
        },
        { type: 'loopback' },
      ],
    },
    null,
    2,
  );
}

/**
 * A logging wrapper in front of a runtime: appends argv, what fds 0-2 are (and whether
 * opened read-only), exit code, wall time and output to LOG, then runs the runtime with the
 * stdio it was given. create, exec and run keep their stdio untouched (it is the
 * container's); the other commands' output is captured and passed on.
 */
export function traceWrapper(real: string, log: string): string {
  return `#!/bin/bash
real=${JSON.stringify(real)}; log=${JSON.stringify(log)}
fd() { local t; t=$(readlink /proc/$$/fd/$1 2>/dev/null) || { echo closed; return; }
  local f; f=$(awk '/^flags:/{print $2}' /proc/$$/fdinfo/$1); case $(( 0$f & 3 )) in 0) echo "$t(ro)";; 1) echo "$t(wo)";; *) echo "$t(rw)";; esac; }
start=$(date +%s%N); fds="0=$(fd 0) 1=$(fd 1) 2=$(fd 2)"
cmd=; logfile=; prev=
for a in "$@"; do
  [ "$prev" = --log ] && logfile=$a
  if [ -z "$cmd" ] && [[ $a != -* && $prev != --log && $prev != --root && $prev != --log-format ]]; then cmd=$a; fi
  prev=$a
done
size=0; [ -f "$logfile" ] && size=$(stat -c %s "$logfile")
out=$(mktemp); err=$(mktemp)
case $cmd in
  create|exec|run) "$real" "$@"; rc=$? ;;
  *) "$real" "$@" >"$out" 2>"$err"; rc=$?; cat "$out"; cat "$err" >&2 ;;
esac
{ echo "$(date +%T.%3N) rc=$rc $(( ($(date +%s%N) - start) / 1000000 ))ms fds $fds :: $*"
  head -c 600 "$out" | sed 's/^/    out: /'; head -c 600 "$err" | sed 's/^/    err: /'
  [ -f "$logfile" ] && tail -c +$((size + 1)) "$logfile" | head -c 800 | sed 's/^/    log: /'; } >> "$log"
rm -f "$out" "$err"
exit $rc
`;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * The sandbox image: busybox's one layer, with an entrypoint that sleeps until TERM or INT
 * and, as PID 1 of a shared PID namespace, reaps what is orphaned to it (sh's wait does).
 */
async function pauseArchive(dir: string, layerTar: string, tag: string): Promise<string> {
  const parts = join(dir, 'pause-archive');
  mkdirSync(parts, { recursive: true });
  const layer = readFileSync(layerTar);
  copyFileSync(layerTar, join(parts, 'layer.tar'));
  writeFileSync(
    join(parts, 'config.json'),
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {
        Entrypoint: ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait; done'],
        Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
      },
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layer)}`] },
    }),
  );
  writeFileSync(join(parts, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: [tag], Layers: ['layer.tar'] }]));
  const archive = join(dir, 'pause-docker.tar');
  const r = await runCommand('tar', ['-cf', archive, '-C', parts, 'manifest.json', 'config.json', 'layer.tar']);
  if (r.code !== 0) throw new Error(`tar of the pause image failed: ${r.stderr}`);
  return archive;
}

/** The mount points of the machine's cgroup hierarchies (v1 controllers, named, unified). */
export function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(' ')[4] ?? '')
    .filter(Boolean);
}

/** The directories of cgroup REL (/a/b) that exist, one per hierarchy. */
export function cgroupDirs(rel: string): string[] {
  return cgroupMounts()
    .map((m) => join(m, rel))
    .filter((d) => existsSync(d));
}

/** The cgroup directories below (and including) `dir`, deepest first. */
function treeDeepestFirst(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    out.push(d);
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Kills what is left in cgroup REL and below, and removes the directories. */
export function removeCgroupTree(rel: string): void {
  for (const top of cgroupDirs(rel)) {
    for (const d of treeDeepestFirst(top)) {
      try {
        for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      } catch {
        /* no procs file */
      }
    }
    for (const d of treeDeepestFirst(top)) {
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(d);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
          spawnSync('sleep', ['0.1']);
        }
      }
    }
  }
}

/** The pids whose command line mentions `marker`. */
export function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      /* gone already */
    }
  }
  return pids;
}

/** Mount points under `dir`. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** The lines of iptables-save (both families) that mention `text`. */
export function iptablesMentioning(text: string): string[] {
  const lines: string[] = [];
  for (const save of ['iptables-save', 'ip6tables-save']) {
    const r = spawnSync(save, [], { encoding: 'utf8' });
    lines.push(...(r.stdout ?? '').split('\n').filter((l) => l.includes(text)));
  }
  return lines;
}

/**
 * Removes the NAT rules CNI's bridge plugin (ipMasq) made for network NAME and not
 * removed: the POSTROUTING jumps whose comment names it, and the CNI-... chains they jump to.
 */
function removeCniRules(name: string): void {
  const rules = spawnSync('iptables', ['-t', 'nat', '-S'], { encoding: 'utf8' }).stdout.split('\n');
  const chains = new Set<string>();
  for (const rule of rules.filter((r) => r.startsWith('-A POSTROUTING') && r.includes(`"${name}"`))) {
    const jump = /-j (CNI-\S+)/.exec(rule)?.[1];
    if (jump) chains.add(jump);
    // The rule as -S prints it, given back to -D (its comment is quoted: let a shell split it).
    spawnSync('sh', ['-c', `iptables -t nat ${rule.replace(/^-A /, '-D ')}`]);
  }
  for (const chain of chains) {
    spawnSync('iptables', ['-t', 'nat', '-F', chain]);
    spawnSync('iptables', ['-t', 'nat', '-X', chain]);
  }
}

/** The tables iptables-save shows, each with its number of rules. */
function iptablesTables(): Map<string, number> {
  const tables = new Map<string, number>();
  let current = '';
  for (const line of spawnSync('iptables-save', [], { encoding: 'utf8' }).stdout.split('\n')) {
    if (line.startsWith('*')) tables.set((current = line.slice(1)), 0);
    else if (line.startsWith('-A ')) tables.set(current, (tables.get(current) ?? 0) + 1);
  }
  return tables;
}

/**
 * With iptables' nf_tables backend, CNI's first rule creates the nat table and deleting
 * the rule leaves it, empty (as diyc-net's own clean does): a table that was not there
 * before and is empty now is dropped, so iptables-save reads as it did.
 */
function dropTablesMadeSince(before: Map<string, number>): void {
  if (!/nf_tables/.test(spawnSync('iptables', ['--version'], { encoding: 'utf8' }).stdout)) return;
  for (const [table, rules] of iptablesTables()) {
    if (!before.has(table) && rules === 0) spawnSync('nft', ['delete', 'table', 'ip', table]);
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startCri(options: CriOptions): Promise<Cri> {
  const work = tempDir(`diyc-cri-${options.tag}-`);
  chmodSync(work.path, 0o755);
  const socket = join(work.path, 'containerd.sock');
  const net = testNetwork(options.tag);
  const network = { name: `diyc-${options.tag}-${process.pid}`, bridge: net.bridge, prefix: net.prefix };
  const parent = `diyc-${options.tag}-${process.pid}`;
  const ipForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  const tablesBefore = iptablesTables();
  const hadVarLibCni = existsSync('/var/lib/cni');
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS; // costs every Node start ~30 ms; a node's containerd has none
  let daemon: ChildProcess | undefined;
  let registry: Registry | undefined;
  let stopped = false;

  const crictlArgv = [
    'crictl',
    '--config',
    join(work.path, 'crictl.yaml'),
    '--runtime-endpoint',
    `unix://${socket}`,
    '--image-endpoint',
    `unix://${socket}`,
    '--timeout',
    '60s',
  ];
  const crictl = (args: string[], o: { timeoutMs?: number } = {}) =>
    runCommand(crictlArgv[0] as string, [...crictlArgv.slice(1), ...args], { env, timeoutMs: o.timeoutMs ?? 90_000 });

  const stop = async (): Promise<string[]> => {
    if (stopped) return [];
    stopped = true;
    const left: string[] = [];
    if (daemon && daemon.exitCode === null) {
      // What a test left running: a pod that was not removed is a finding too.
      const pods = await crictl(['pods', '-q']);
      const ids = pods.stdout.split('\n').filter(Boolean);
      if (ids.length > 0) {
        left.push(`pods not removed: ${ids.join(' ')}`);
        for (const id of ids) {
          await crictl(['stopp', id]);
          await crictl(['rmp', '--force', id]);
        }
      }
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon?.once('exit', r));
    }
    if (options.trace && existsSync(join(work.path, 'containerd.log')))
      copyFileSync(join(work.path, 'containerd.log'), join(options.trace, 'containerd.log'));
    await registry?.stop();
    // Shims outlive their daemon on purpose; ours must not (their -address names our socket).
    const shims = processesMentioning(work.path);
    if (shims.length > 0)
      left.push(
        `processes: ${shims.map((p) => `${p} ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`).join('; ')}`,
      );
    for (const pid of shims)
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    const cgroups = cgroupDirs(`/${parent}`)
      .flatMap((d) => treeDeepestFirst(d))
      .filter((d) => !/\/pod-[^/]+$/.test(d) && !d.endsWith(`/${parent}`));
    if (cgroups.length > 0) left.push(`cgroups: ${cgroups.join(' ')}`);
    removeCgroupTree(`/${parent}`);
    await pause(200);
    const mounts = mountsUnder(work.path);
    if (mounts.length > 0) left.push(`mounts: ${mounts.join(' ')}`);
    for (const m of mounts.sort().reverse()) spawnSync('umount', ['-l', m]);
    const attached = spawnSync('ip', ['-o', 'link', 'show', 'master', network.bridge], { encoding: 'utf8' }).stdout.trim();
    if (attached)
      left.push(
        `veths on ${network.bridge}: ${attached
          .split('\n')
          .map((l) => l.split(':')[1]?.trim())
          .join(' ')}`,
      );
    // The bridge itself is the run's own: the bridge plugin makes it and never removes it.
    spawnSync('ip', ['link', 'del', network.bridge]);
    const rules = iptablesMentioning(network.name);
    if (rules.length > 0) left.push(`iptables: ${rules.join(' | ')}`);
    removeCniRules(network.name);
    dropTablesMadeSince(tablesBefore);
    // The bridge plugin turns forwarding on for its gateway, and never back: back off, unless
    // a diyc bridge or a CNI network made since needs it (as diyc-net's clean decides).
    const othersNeedForwarding = iptablesMentioning('diyc').length > 0 || iptablesMentioning('CNI-').length > 0;
    if (ipForward === '0' && !othersNeedForwarding) writeFileSync('/proc/sys/net/ipv4/ip_forward', '0');
    // containerd 1.6 keeps its shims' sockets in /run/containerd/s whatever its state
    // directory, and libcni caches results in /var/lib/cni: remove what is empty.
    for (const dir of ['/run/containerd/s', '/run/containerd']) spawnSync('rmdir', [dir], { stdio: 'ignore' });
    if (!hadVarLibCni) spawnSync('sh', ['-c', 'find /var/lib/cni -depth -type d -empty -delete'], { stdio: 'ignore' });
    work.remove();
    return left;
  };

  try {
    mkdirSync(join(work.path, 'cni'));
    mkdirSync(join(work.path, 'logs'));
    registry = await startRegistry(join(work.path, 'registry'));
    const image = `${registry.host}/diyc/busybox:latest`;
    const pauseImage = `${registry.host}/diyc/pause:1`;
    busyboxTarball();
    const archive = join(work.path, 'busybox-docker.tar');
    const made = await runCommand(process.execPath, [join(repo, 'tools', 'make-docker-archive.mjs'), archive, image], { env });
    if (made.code !== 0) throw new Error(`make-docker-archive failed: ${made.stderr}`);
    await push(`docker-archive:${archive}`, image);
    await push(`docker-archive:${await pauseArchive(work.path, join(repo, 'tools', 'out', 'busybox.tar'), pauseImage)}`, pauseImage);

    // The registry speaks plain HTTP on loopback: say so in a hosts.toml (config_path).
    mkdirSync(join(work.path, 'certs.d', registry.host), { recursive: true });
    writeFileSync(
      join(work.path, 'certs.d', registry.host, 'hosts.toml'),
      `server = "http://${registry.host}"\n[host."http://${registry.host}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
    writeFileSync(join(work.path, 'cni', '10-diyc.conflist'), cniConflist({ ...network, ipamDir: join(work.path, 'ipam') }));
    writeFileSync(join(work.path, 'crictl.yaml'), `runtime-endpoint: unix://${socket}\nimage-endpoint: unix://${socket}\ntimeout: 60\n`);

    let runc = RUNC;
    let diyc = options.diycBinary ?? diycOci;
    if (options.trace) {
      mkdirSync(options.trace, { recursive: true });
      for (const [name, real] of [
        ['runc', runc],
        ['diyc', diyc],
      ] as const) {
        const wrapper = join(work.path, `trace-${name}`);
        writeFileSync(wrapper, traceWrapper(real, join(options.trace, `${name}.log`)), { mode: 0o755 });
        if (name === 'runc') runc = wrapper;
        else diyc = wrapper;
      }
    }
    const config = containerdConfig({ work: work.path, socket, pauseImage, runc, diyc });
    writeFileSync(join(work.path, 'config.toml'), config);
    const log = join(work.path, 'containerd.log');
    const logFd = openSync(log, 'a');
    daemon = spawn('containerd', ['--config', join(work.path, 'config.toml')], { env, stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    for (let i = 0; ; i++) {
      if (existsSync(socket) && (await crictl(['version'], { timeoutMs: 5000 })).code === 0) break;
      if (i > 200 || daemon.exitCode !== null) throw new Error(`containerd did not start: ${readFileSync(log, 'utf8').slice(-2000)}`);
      await pause(50);
    }
    return { work: work.path, socket, registry, image, pauseImage, network, parent, config, crictl, crictlArgv, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Polls `check` every 50 ms until it returns a value, for at most `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined || Date.now() > end) return v;
    await pause(50);
  }
}

/** readlink(2) of /proc/PID/ns/KIND: the namespace's identity, as `net:[4026...]`. */
export function namespaceOf(pid: number, kind: string): string {
  return readlinkSync(`/proc/${pid}/ns/${kind}`);
}
