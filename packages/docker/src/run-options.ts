// docker run's and docker create's flags, with docker's meanings and defaults, checked once
// at the edge and turned into RunRequest: what the container is (its spec's parts) and
// how diyc runs it (detached or not, its log). Reading an --env-file
// is the only thing done here that touches the machine.
import { resolve } from 'node:path';
import { many, one, parseSignal, writeErr, type ArgsDef, type FlagHint, type ParsedFlags } from '@diyc/cli';
import { parseSize } from '@diyc/cgroup';
import {
  checkUser,
  checkWorkdir,
  envFlags,
  parseAddHost,
  parseDnsSearch,
  parseDnsServer,
  parseEnvFile,
  parseSysctl,
  parseTmpfs,
  parseUlimit,
  readEnvFile,
  securityOptions,
  type DnsOptions,
  type NetMode,
  type SecurityOptions,
} from '@diyc/container';
import { parseIp, parsePublish, type Publish } from '@diyc/net';
import { DiycError, hostnameProblem, nameProblem, type RecordRlimit, type Resources } from '@diyc/record';
import type { PullPolicy } from './images.js';
import { parseMountFlag, parseVolumeFlag, type MountSpec } from './mounts.js';
import { checkHealthFlags, parseRetries, type HealthFlags } from './health.js';
import { parseGoDuration } from './human.js';
import { parseRestartPolicy, type RestartPolicy } from './restart.js';

const usage = (message: string): DiycError => new DiycError('usage', message);

/** podman's default, and diyc-run's: a fork bomb stays inside (docker has no limit). */
export const DEFAULT_PIDS_LIMIT = 2048;
/** docker's json-file driver keeps everything; diyc's shim rotates at this size, keeping this many old files. */
export const DEFAULT_LOG_SIZE = 10 * 1024 * 1024;
export const DEFAULT_LOG_FILES = 2;
/** docker refuses a memory limit below 6 MB: the container could not start. */
const MIN_MEMORY = 6 * 1024 * 1024;

/** A -p with no host port: one is chosen when the container is made (`docker port` shows it). */
export interface RandomPort {
  hostIp?: string;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

export type PortFlag = { publish: Publish } | { random: RandomPort };

/** docker's HEALTHCHECK, durations in milliseconds (kept in docker.json; diyc runs no checks yet). */
export interface RunRequest {
  image: string;
  command: string[];
  name?: string;
  detach: boolean;
  interactive: boolean;
  tty: boolean;
  remove: boolean;
  env: string[];
  fileEnv: string[];
  mounts: MountSpec[];
  ports: PortFlag[];
  net: NetMode;
  ip?: string;
  hostname?: string;
  workdir?: string;
  user?: string;
  /** --entrypoint: [] for none. */
  entrypoint?: string[];
  init: boolean;
  readOnly: boolean;
  resources: Resources;
  security: SecurityOptions;
  dns: DnsOptions;
  ulimits: RecordRlimit[];
  sysctls: Record<string, string>;
  stopSignal?: string;
  /** Seconds `stop` waits before SIGKILL (docker's default 10). */
  stopTimeout?: number;
  restart: RestartPolicy;
  /** The --health-* flags, merged with the image's HEALTHCHECK when it is made. */
  health: HealthFlags;
  labels: Record<string, string>;
  pull: PullPolicy;
  platform?: string;
  quiet: boolean;
  cidfile?: string;
  logSize: number;
  logFiles: number;
}

/** The flags of `run` and `create`, with docker's names, letters and meanings. */
export const RUN_ARGS: ArgsDef = {
  name: {
    type: 'string',
    valueHint: 'NAME',
    description: "the container's name (default: one made up, as docker makes them: focused_lovelace)",
  },
  detach: {
    type: 'boolean',
    alias: 'd',
    description: 'run it in the background and print its ID (run only); its output goes to its log: diyc logs NAME',
  },
  interactive: { type: 'boolean', alias: 'i', description: 'keep its stdin open: yours in the foreground, an open pipe with -d' },
  tty: { type: 'boolean', alias: 't', description: 'give it a terminal of its own (a pty), proxied to yours' },
  rm: { type: 'boolean', description: 'remove the container (and its anonymous volumes) when it ends' },
  env: {
    type: 'string',
    alias: 'e',
    valueHint: 'KEY=VALUE',
    description: 'set an environment variable; a bare KEY takes yours (repeatable)',
  },
  'env-file': { type: 'string', valueHint: 'FILE', description: 'read variables from FILE, a KEY=VALUE a line (repeatable)' },
  volume: {
    type: 'string',
    alias: 'v',
    valueHint: 'SRC:DEST[:ro]',
    description:
      'a host path (/dir, ./dir: made when missing), a named volume (NAME: made when missing) or an anonymous one (DEST alone) at DEST (repeatable)',
  },
  mount: {
    type: 'string',
    valueHint: 'type=bind|volume|tmpfs,...',
    description:
      'a mount: type=bind,source=/host,target=/path[,readonly]; type=volume,source=NAME,target=/path; type=tmpfs,target=/path[,tmpfs-size=64m] (repeatable)',
  },
  publish: {
    type: 'string',
    alias: 'p',
    valueHint: '[IP:][HOST:]PORT[/udp]',
    description: 'publish a port: 8080:80, 127.0.0.1:8080:80, 8080-8090:80-90, or 80 for a free host port (repeatable)',
  },
  network: {
    type: 'string',
    valueHint: 'bridge|none|host',
    description: "bridge (the default: its own network on the diyc bridge, made on first use), none (only lo) or host (the host's)",
  },
  net: { type: 'string', valueHint: 'bridge|none|host', description: 'the same as --network' },
  ip: { type: 'string', valueHint: 'IP', description: 'its address on the bridge (default: the next free one)' },
  hostname: { type: 'string', alias: 'h', valueHint: 'NAME', description: 'its hostname (default: its short ID, as docker)' },
  workdir: { type: 'string', alias: 'w', valueHint: 'DIR', description: 'the working directory inside' },
  user: { type: 'string', alias: 'u', valueHint: 'USER[:GROUP]', description: 'run as this user of the image (a name or a number)' },
  entrypoint: { type: 'string', valueHint: 'CMD', description: 'run CMD in place of the image\'s ENTRYPOINT ("" for none)' },
  init: { type: 'boolean', description: 'run an init as PID 1 (diyc-init) that passes signals on and reaps zombies' },
  'read-only': { type: 'boolean', description: 'mount its root filesystem read-only' },
  tmpfs: { type: 'string', valueHint: 'PATH[:OPTS]', description: 'a tmpfs at PATH (repeatable)' },
  memory: { type: 'string', alias: 'm', valueHint: 'SIZE', description: 'memory limit: 512m, 1g, or bytes' },
  'memory-swap': {
    type: 'string',
    valueHint: 'SIZE',
    description: 'memory and swap together (default twice --memory, as docker; -1 for no swap limit)',
  },
  cpus: { type: 'string', valueHint: 'N', description: 'CPU limit, as a number of CPUs (0.5: half of one)' },
  'cpu-shares': { type: 'string', alias: 'c', valueHint: 'N', description: 'relative CPU weight (default 1024)' },
  'cpuset-cpus': { type: 'string', valueHint: 'LIST', description: 'the CPUs it may run on: 0-1, 0,2' },
  'pids-limit': {
    type: 'string',
    valueHint: 'N',
    description: `most processes at once (default ${DEFAULT_PIDS_LIMIT}, as podman; -1 for none)`,
  },
  'cap-add': { type: 'string', valueHint: 'CAP', description: "add a capability to docker's default set (repeatable; ALL for all)" },
  'cap-drop': { type: 'string', valueHint: 'CAP', description: 'drop a capability (repeatable; ALL for all)' },
  privileged: {
    type: 'boolean',
    description: "every capability, no seccomp filter, every device, /proc and /sys unmasked: trust the image as the host's root",
  },
  'security-opt': { type: 'string', valueHint: 'OPT', description: 'no-new-privileges, seccomp=unconfined or seccomp=FILE (repeatable)' },
  'add-host': { type: 'string', valueHint: 'NAME:IP', description: 'a line for /etc/hosts (repeatable)' },
  dns: { type: 'string', valueHint: 'IP', description: 'a name server for /etc/resolv.conf (repeatable)' },
  'dns-search': { type: 'string', valueHint: 'DOMAIN', description: 'a search domain for /etc/resolv.conf (repeatable)' },
  ulimit: { type: 'string', valueHint: 'NAME=SOFT[:HARD]', description: 'a resource limit: nofile=1024:4096 (repeatable)' },
  sysctl: { type: 'string', valueHint: 'KEY=VALUE', description: 'a namespaced sysctl: net.*, kernel.shm*, ... (repeatable)' },
  'stop-signal': {
    type: 'string',
    valueHint: 'SIGNAL',
    description: "what `stop` sends first (default the image's STOPSIGNAL, else SIGTERM)",
  },
  'stop-timeout': { type: 'string', valueHint: 'SECONDS', description: 'how long `stop` waits before SIGKILL (default 10)' },
  restart: {
    type: 'string',
    valueHint: 'no|on-failure[:N]|always|unless-stopped',
    description: "start it again when it ends (no daemon: its supervisor's exit command does); not after stop or kill (default no)",
  },
  'health-cmd': {
    type: 'string',
    valueHint: 'COMMAND',
    description: 'a command that checks its health (run with /bin/sh -c; exit 0: healthy)',
  },
  'health-interval': { type: 'string', valueHint: 'DURATION', description: 'time between checks (default 30s)' },
  'health-timeout': { type: 'string', valueHint: 'DURATION', description: 'how long a check may run (default 30s)' },
  'health-retries': { type: 'string', valueHint: 'N', description: 'failures in a row that make it unhealthy (default 3)' },
  'health-start-period': {
    type: 'string',
    valueHint: 'DURATION',
    description: 'failures in this time after a start do not count (default 0s)',
  },
  'health-start-interval': { type: 'string', valueHint: 'DURATION', description: 'time between checks during the start period' },
  'no-healthcheck': { type: 'boolean', description: "no health check, not even the image's" },
  label: { type: 'string', alias: 'l', valueHint: 'KEY=VALUE', description: 'a label (repeatable)' },
  pull: {
    type: 'enum',
    options: ['missing', 'always', 'never'],
    description: 'pull the image: when it is missing (the default), always, or never',
  },
  platform: { type: 'string', valueHint: 'OS/ARCH', description: 'which image of a multi-platform one to pull' },
  quiet: { type: 'boolean', alias: 'q', description: 'say nothing while pulling' },
  cidfile: { type: 'string', valueHint: 'FILE', description: "write the container's ID to FILE" },
  'log-opt': {
    type: 'string',
    valueHint: 'max-size=SIZE|max-file=N',
    description: `the log's rotation: max-size (default ${DEFAULT_LOG_SIZE / 1024 / 1024}m), max-file (default ${DEFAULT_LOG_FILES + 1}) (repeatable)`,
  },
  'log-driver': {
    type: 'string',
    valueHint: 'json-file|local',
    description: 'accepted for json-file and local: diyc keeps one kind of log',
  },
  'sig-proxy': { type: 'boolean', description: 'pass signals on to the container (the default; --no-sig-proxy is refused)' },
  image: { type: 'positional', description: 'the image: busybox, busybox:1.36, host:5000/repo:tag, NAME@sha256:...' },
  command: { type: 'positional', description: "the command and its arguments (default: the image's)", required: false },
};

/** Flags docker has and diyc has not: a line that says so, rather than "unknown option". */
export const RUN_HINTS: FlagHint[] = [
  ...[
    '--gpus',
    '--device',
    '--device-cgroup-rule',
    '--blkio-weight',
    '--memory-reservation',
    '--kernel-memory',
    '--oom-kill-disable',
    '--oom-score-adj',
    '--userns',
    '--uts',
    '--pid',
    '--ipc',
    '--cgroupns',
    '--runtime',
    '--isolation',
    '--volumes-from',
    '--link',
    '--expose',
    '--mac-address',
    '--ip6',
    '--group-add',
    '--shm-size',
    '--storage-opt',
    '--cgroup-parent',
    '--detach-keys',
    '--attach',
    '-a',
    '--network-alias',
    '--publish-all',
    '-P',
    '--env-host',
    '--domainname',
    '--label-file',
    '--disable-content-trust',
    '--use-api-socket',
  ].map((flag) => ({ flag, hint: `${flag} is not supported by diyc yet (diyc run --help lists what it takes)` })),
];

/** -p: a publication, or a container port whose host port is chosen when it is made. */
export function parsePortFlag(text: string): PortFlag {
  const m = /^(?:([0-9.]+)::)?(\d+)(?:\/(tcp|udp))?$/.exec(text);
  if (!m) return { publish: parsePublish(text) };
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw usage(`--publish ${text}: the container port must be from 1 to 65535`);
  const hostIp = m[1];
  if (hostIp !== undefined) {
    try {
      parseIp(hostIp);
    } catch {
      throw usage(`--publish ${text}: '${hostIp}' is not an IPv4 address`);
    }
  }
  const protocol = (m[3] as 'tcp' | 'udp' | undefined) ?? 'tcp';
  return { random: { ...(hostIp !== undefined && hostIp !== '0.0.0.0' ? { hostIp } : {}), containerPort: port, protocol } };
}

/** -m: docker's sizes (512m, 1g, bytes), at least 6 MB; --memory-swap: the total, -1 for no limit on swap. */
export function memoryResources(memory: string | undefined, swap: string | undefined): Resources['memory'] | undefined {
  const size = (text: string, flag: string): number => {
    try {
      return parseSize(text, 'b');
    } catch (err) {
      throw usage(`${flag} ${text}: ${(err as Error).message}`);
    }
  };
  if (memory === undefined) {
    if (swap !== undefined && swap !== '-1')
      throw usage('--memory-swap needs --memory: the total of memory and swap is above the memory limit');
    return undefined;
  }
  const limit = size(memory, '--memory');
  if (limit < MIN_MEMORY) throw usage(`--memory ${memory}: the minimum memory limit is 6MB`);
  if (swap === '-1') return { limit, swap: -1 };
  const total = swap === undefined ? limit * 2 : size(swap, '--memory-swap');
  if (total < limit) throw usage(`--memory-swap ${swap}: it is memory and swap together, so at least --memory (${memory})`);
  return { limit, swap: total };
}

function wholeNumber(text: string, flag: string, min = 0): number {
  if (!/^-?\d+$/.test(text) || Number(text) < min)
    throw usage(`${flag} ${text}: give a whole number${min > 0 ? ` of ${min} or more` : ''}`);
  return Number(text);
}

/** --cpus, --cpu-shares, --cpuset-cpus, -m, --memory-swap and --pids-limit as OCI resources. */
export function resourcesOf(flags: ParsedFlags): Resources {
  const resources: Resources = {};
  const memory = memoryResources(one(flags.memory), one(flags['memory-swap']));
  if (memory) resources.memory = memory;
  const pids = one(flags['pids-limit']);
  const pidsLimit = pids === undefined ? DEFAULT_PIDS_LIMIT : wholeNumber(pids, '--pids-limit', -1);
  if (pidsLimit > 0) resources.pids = { limit: pidsLimit };
  const cpu: NonNullable<Resources['cpu']> = {};
  const cpus = one(flags.cpus);
  if (cpus !== undefined) {
    const n = Number(cpus);
    if (!Number.isFinite(n) || n <= 0) throw usage(`--cpus ${cpus}: give a positive number of CPUs, as 0.5 or 2`);
    cpu.quota = Math.max(1000, Math.round(n * 100_000));
    cpu.period = 100_000;
  }
  const shares = one(flags['cpu-shares']);
  if (shares !== undefined) cpu.shares = wholeNumber(shares, '--cpu-shares', 2);
  const cpuset = one(flags['cpuset-cpus']);
  if (cpuset !== undefined) {
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(cpuset)) throw usage(`--cpuset-cpus ${cpuset}: give CPUs as 0-3 or 0,2`);
    cpu.cpus = cpuset;
  }
  if (Object.keys(cpu).length > 0) resources.cpu = cpu;
  return resources;
}

/** --label KEY=VALUE (a bare KEY is an empty value). */
export function parseLabels(values: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const text of values) {
    const eq = text.indexOf('=');
    const key = eq < 0 ? text : text.slice(0, eq);
    if (key === '') throw usage(`--label ${text}: use KEY=VALUE`);
    labels[key] = eq < 0 ? '' : text.slice(eq + 1);
  }
  return labels;
}

/** --log-opt max-size=SIZE and max-file=N: the shim's rotation. */
function logOptions(values: string[]): { logSize: number; logFiles: number } {
  let logSize = DEFAULT_LOG_SIZE;
  let logFiles = DEFAULT_LOG_FILES;
  for (const text of values) {
    const [key, value = ''] = text.split('=', 2) as [string, string?];
    if (key === 'max-size') {
      try {
        logSize = parseSize(value, 'b');
      } catch {
        throw usage(`--log-opt ${text}: give a size, as 10m`);
      }
      // 0 would be a log never rotated, which a container's flood grows until the disk is full: docker refuses it.
      if (logSize <= 0) throw usage(`--log-opt ${text}: max-size must be a positive number`);
    } else if (key === 'max-file') {
      logFiles = wholeNumber(value, '--log-opt max-file', 1) - 1;
    } else {
      throw usage(`--log-opt ${text}: diyc takes max-size and max-file`);
    }
  }
  return { logSize, logFiles };
}

/** --network: bridge, none or host (docker's default network is called bridge too; `default` is it). */
function networkMode(text: string | undefined): NetMode {
  if (text === undefined || text === 'bridge' || text === 'default') return 'bridge';
  if (text === 'none' || text === 'host') return text;
  if (text.startsWith('container:')) throw usage(`--network ${text}: diyc cannot share another container's network yet`);
  throw new DiycError('not-found', `network ${text} not found: diyc has bridge, host and none (diyc network ls)`);
}

/** Reads the flags and operands (IMAGE [COMMAND [ARG...]]) of run or create. */
export function runRequest(flags: ParsedFlags, operands: string[], env: NodeJS.ProcessEnv = process.env): RunRequest {
  const [image, ...command] = operands;
  if (image === undefined) throw usage('"diyc run" requires at least 1 argument: IMAGE [COMMAND] [ARG...]');
  const name = one(flags.name);
  if (name !== undefined) {
    const problem = nameProblem(name.replace(/^\//, ''), 'container name');
    if (problem) throw usage(`--name: ${problem}`);
  }
  const hostname = one(flags.hostname);
  if (hostname !== undefined && hostnameProblem(hostname)) throw usage(`--hostname: ${hostnameProblem(hostname)}`);
  const net = networkMode(one(flags.network) ?? one(flags.net));
  const ports = many(flags.publish).map(parsePortFlag);
  if (net !== 'bridge' && ports.length > 0) writeErr(`WARNING: Published ports are discarded when using host or none network mode\n`);
  const ip = one(flags.ip);
  if (ip !== undefined) {
    if (net !== 'bridge') throw usage(`--ip needs --network bridge (not ${net})`);
    parseIp(ip);
  }
  const restart = parseRestartPolicy(one(flags.restart));
  const remove = flags.rm === true;
  if (remove && restart.Name !== 'no') throw usage('Conflicting options: --restart and --rm');
  const entrypoint = one(flags.entrypoint);
  const stopTimeout = one(flags['stop-timeout']);
  const logDriver = one(flags['log-driver']);
  if (logDriver !== undefined && !['json-file', 'local'].includes(logDriver))
    throw usage(`--log-driver ${logDriver}: diyc keeps one kind of log (json-file and local are taken as it)`);
  if (flags['sig-proxy'] === false) throw usage('--sig-proxy=false is not supported: signals always reach the container');
  const sysctls = Object.fromEntries(many(flags.sysctl).map(parseSysctl));
  if (net === 'host' && Object.keys(sysctls).some((k) => k.startsWith('net.')))
    throw usage("--sysctl net.*: not with --network host, which would change the host's");
  const dns: DnsOptions = {
    servers: many(flags.dns).map(parseDnsServer),
    search: many(flags['dns-search']).map(parseDnsSearch),
    hosts: many(flags['add-host']).map(parseAddHost),
  };
  const workdir = checkWorkdir(one(flags.workdir));
  const user = checkUser(one(flags.user));
  const platform = one(flags.platform);
  const cidfile = one(flags.cidfile);
  const stopSignal = one(flags['stop-signal']);
  if (stopSignal !== undefined) parseSignal(stopSignal);
  const request: RunRequest = {
    image,
    command,
    detach: flags.detach === true,
    interactive: flags.interactive === true,
    tty: flags.tty === true,
    remove,
    env: envFlags(many(flags.env), env),
    fileEnv: many(flags['env-file'])
      .map((f) => resolve(f))
      .flatMap((file) => parseEnvFile(readEnvFile(file), env, file)),
    mounts: [
      ...many(flags.volume).map((v) => parseVolumeFlag(v)),
      ...many(flags.mount).map((m) => parseMountFlag(m)),
      ...many(flags.tmpfs).map((t) => ({ type: 'tmpfs' as const, ...(({ path, options }) => ({ target: path, options }))(parseTmpfs(t)) })),
    ],
    ports: net === 'bridge' ? ports : [],
    net,
    init: flags.init === true,
    readOnly: flags['read-only'] === true,
    resources: resourcesOf(flags),
    security: securityOptions({
      privileged: flags.privileged === true,
      capAdd: many(flags['cap-add']),
      capDrop: many(flags['cap-drop']),
      securityOpt: many(flags['security-opt']),
    }),
    dns,
    ulimits: many(flags.ulimit).map(parseUlimit),
    sysctls,
    restart,
    health: healthFlags(flags),
    labels: parseLabels(many(flags.label)),
    pull: (one(flags.pull) as PullPolicy | undefined) ?? 'missing',
    quiet: flags.quiet === true,
    ...logOptions(many(flags['log-opt'])),
  };
  if (name !== undefined) request.name = name.replace(/^\//, '');
  if (hostname !== undefined) request.hostname = hostname;
  if (ip !== undefined) request.ip = ip;
  if (workdir !== undefined) request.workdir = workdir;
  if (user !== undefined) request.user = user;
  if (entrypoint !== undefined) request.entrypoint = entrypoint === '' ? [] : [entrypoint];
  if (stopSignal !== undefined) request.stopSignal = stopSignal;
  if (stopTimeout !== undefined) request.stopTimeout = wholeNumber(stopTimeout, '--stop-timeout', -1);
  if (platform !== undefined) request.platform = platform;
  if (cidfile !== undefined) request.cidfile = cidfile;
  const mountTargets = request.mounts.map((m) => m.target);
  const twice = mountTargets.find((t, i) => mountTargets.indexOf(t) !== i);
  if (twice !== undefined) throw usage(`Duplicate mount point: ${twice}`);
  return request;
}

/** The --health-* flags as given (the image's HEALTHCHECK fills the rest when the container is made). */
function healthFlags(flags: ParsedFlags): HealthFlags {
  const duration = (flag: string): number | undefined => {
    const text = one(flags[flag]);
    return text === undefined ? undefined : parseGoDuration(text, `--${flag}`);
  };
  const health: HealthFlags = { none: flags['no-healthcheck'] === true };
  const cmd = one(flags['health-cmd']);
  const retries = one(flags['health-retries']);
  if (cmd !== undefined) health.cmd = cmd;
  if (retries !== undefined) health.retries = parseRetries(retries);
  for (const [key, flag] of [
    ['interval', 'health-interval'],
    ['timeout', 'health-timeout'],
    ['startPeriod', 'health-start-period'],
    ['startInterval', 'health-start-interval'],
  ] as const) {
    const ms = duration(flag);
    if (ms !== undefined) health[key] = ms;
  }
  return checkHealthFlags(health);
}
