// diyc-run's options, checked once at the edge and turned into RunOptions.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, posix, resolve } from 'node:path';
import { many, one, type ParsedFlags } from '@diyc/cli';
import { resourcesFromParsed } from '@diyc/cgroup';
import { netConfig, parseIp, parsePublish, type NetConfig, type Publish } from '@diyc/net';
import { DiycError, hostnameFor, hostnameProblem, nameProblem, type RecordRlimit, type Resources } from '@diyc/record';
import { CAPABILITIES, RLIMITS, type Capability, type RlimitType } from '@diyc/syscalls';

export type NetMode = 'bridge' | 'none' | 'host';

/** What the container may do: diyc-run's defaults, loosened or tightened by flags. */
export interface SecurityOptions {
  /** --privileged: every capability, no seccomp, every device, no masked paths. */
  privileged: boolean;
  /** Capability names (CAP_*), or ALL. */
  capAdd: string[];
  capDrop: string[];
  noNewPrivileges: boolean;
  /** The default profile, none, or the OCI profile in a file. */
  seccomp: 'default' | 'unconfined' | { file: string };
}

/** --volume HOST:CONTAINER[:ro]: a host directory or file bound into the container. */
export interface Volume {
  host: string;
  container: string;
  readonly: boolean;
}

/** --tmpfs PATH[:OPTIONS]: a fresh tmpfs at PATH, with the mount options given. */
export interface TmpfsMount {
  path: string;
  options: string[];
}

/** docker's defaults for --tmpfs, before the options given (a later `exec` wins over noexec). */
export const TMPFS_DEFAULTS = ['nosuid', 'nodev', 'noexec', 'mode=1777'];

/** /etc/resolv.conf and /etc/hosts as the flags ask. */
export interface DnsOptions {
  servers: string[];
  search: string[];
  hosts: { name: string; ip: string }[];
}

export interface RunOptions {
  name: string;
  image: string;
  /** The command: replaces the image's Cmd, after its Entrypoint; empty: the image's Cmd. */
  command: string[];
  /** --entrypoint: replaces the image's Entrypoint (and drops its Cmd); [] for none. */
  entrypoint?: string[];
  net: NetMode;
  ip?: string;
  publish: Publish[];
  /** memory, pids and cpu as the flags ask (OCI form); the device rules come from security. */
  resources: Resources;
  /** -e K=V, in order; they win over the files'. */
  env: string[];
  /** --env-file FILE, in order, and the variables read from them (K=V). */
  envFiles: string[];
  fileEnv: string[];
  workdir?: string;
  /** --read-only: the root filesystem is mounted read-only. */
  readOnly: boolean;
  /** --ulimit NAME=SOFT[:HARD], as OCI process.rlimits. */
  ulimits: RecordRlimit[];
  /** --sysctl KEY=VALUE, as OCI linux.sysctl (namespaced ones only: checked at start). */
  sysctls: Record<string, string>;
  verbose: boolean;
  remove: boolean;
  detach: boolean;
  /** -d: the log is rotated before it passes logSize bytes (0: never), keeping logFiles old ones. */
  logSize: number;
  logFiles: number;
  /** The bridge and subnet when net is bridge. */
  netConfig: NetConfig;
  security: SecurityOptions;
  /** --user USER[:GROUP], looked up in the image when the container starts. */
  user?: string;
  volumes: Volume[];
  tmpfs: TmpfsMount[];
  /** --init: diyc-init as PID 1, the command its child. */
  init: boolean;
  dns: DnsOptions;
}

const usage = (message: string): DiycError => new DiycError('usage', message);

/** A detached container's log is rotated before it passes this (--log-size), keeping this many old ones. */
export const DEFAULT_LOG_SIZE = 10 * 1024 * 1024;
export const DEFAULT_LOG_FILES = 2;

/** How many processes a container may have unless --pids says otherwise (podman's pids_limit). */
export const DEFAULT_PIDS_LIMIT = 2048;

/** --log-size SIZE: 10M, 1G, a bare number of bytes; 0 for no limit. */
function logSize(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LOG_SIZE;
  const m = /^(\d+)([kmg]?)i?b?$/i.exec(text);
  if (!m) throw usage(`--log-size ${text}: give a size, as 10M or 1G (0 for no limit)`);
  return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase());
}

/** A whole number of 0 or more, or the default. */
function count(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw usage(`${flag} ${text}: give a whole number`);
  return Number(text);
}

/** --pids N (docker's --pids-limit): the default without it; 0 or -1 for no limit. */
function pidsLimit(text: string | undefined): string | undefined {
  if (text === undefined) return String(DEFAULT_PIDS_LIMIT);
  return text === '0' || text === '-1' ? undefined : text;
}

/** Reads diyc-run's flags and operands (NAME IMAGE [CMD [ARG...]]); bad ones are 'usage' errors. */
export function runOptions(flags: ParsedFlags, operands: string[], env: NodeJS.ProcessEnv = process.env): RunOptions {
  const [name, image, ...command] = operands;
  if (name === undefined || image === undefined) throw usage('usage: diyc-run [OPTIONS] NAME IMAGE [CMD [ARG...]]');
  const nameIssue = nameProblem(name, 'container name');
  if (nameIssue) throw usage(nameIssue);
  const hostIssue = hostnameProblem(hostnameFor(name));
  if (hostIssue) throw usage(`container name '${name}' cannot be a hostname: ${hostIssue}`);
  const ip = one(flags.ip);
  // docker's `-it` reads here as diyC's -i (--ip) with the address "t".
  if (ip === 't') throw usage('-it: -i is diyC\'s --ip here (an address); the command gets a terminal of its own whenever stdin is one: leave out -i, or give -t alone');
  const publish = many(flags.publish).map(parsePublish);
  // A network namespace of its own on the bridge, unless --net says otherwise (as Docker
  // and podman): sharing the host's reached its 127.0.0.1-only servers, its loopback
  // traffic and its abstract unix sockets. --ip is diyC's -i: an address on the bridge.
  const net: NetMode = (one(flags.net) as NetMode | undefined) ?? 'bridge';
  if (net !== 'bridge' && ip !== undefined) throw usage(`--ip needs --net bridge (not --net ${net})`);
  if (net !== 'bridge' && publish.length > 0) throw usage(`--publish needs --net bridge (not --net ${net})`);
  if (ip !== undefined) parseIp(ip);
  // -m as diyC's: a bare number is megabytes.
  const resources = resourcesFromParsed({ memory: flags.mem, pids: pidsLimit(one(flags.pids) ?? one(flags['pids-limit'])), cpus: flags.cpus }, 'm');
  const vars = envFlags(many(flags.env), env);
  // Absolute: the --dry-run pipeline that replays them may run from another directory.
  const envFiles = many(flags['env-file']).map((file) => resolve(file));
  const fileEnv = envFiles.flatMap((file) => parseEnvFile(readEnvFile(file), env, file));
  const entrypoint = one(flags.entrypoint);
  const workdir = checkWorkdir(one(flags.workdir));
  const user = checkUser(one(flags.user));
  const dns: DnsOptions = {
    servers: many(flags.dns).map(parseDnsServer),
    search: many(flags['dns-search']).map(parseDnsSearch),
    hosts: many(flags['add-host']).map(parseAddHost),
  };
  const sysctls = Object.fromEntries(many(flags.sysctl).map(parseSysctl));
  if (net === 'host' && Object.keys(sysctls).some((k) => k.startsWith('net.'))) throw usage('--sysctl net.*: with --net host the container shares the host\'s network: leave out --net host, or it would change the host');
  if (net === 'host' && (dns.servers.length > 0 || dns.search.length > 0)) throw usage('--dns and --dns-search need the container\'s own network (not --net host, which keeps the host\'s resolv.conf)');
  const options: RunOptions = {
    name,
    image,
    command,
    net,
    publish,
    resources,
    env: vars,
    envFiles,
    fileEnv,
    readOnly: flags['read-only'] === true,
    ulimits: many(flags.ulimit).map(parseUlimit),
    sysctls,
    verbose: flags.verbose === true,
    remove: flags.rm === true,
    detach: flags.detach === true,
    logSize: logSize(one(flags['log-size'])),
    logFiles: count(one(flags['log-files']), '--log-files', DEFAULT_LOG_FILES),
    netConfig: netConfig({}, env),
    security: readSecurity(flags),
    volumes: many(flags.volume).map(parseVolume),
    tmpfs: many(flags.tmpfs).map(parseTmpfs),
    init: flags.init === true,
    dns,
  };
  if (ip !== undefined) options.ip = ip;
  if (user !== undefined) options.user = user;
  if (workdir !== undefined) options.workdir = workdir;
  if (entrypoint !== undefined) options.entrypoint = entrypoint === '' ? [] : [entrypoint];
  return options;
}

// -e, -w and -u, as diyc-run and diyc-exec take them.

/** -e KEY=VALUE, or a bare -e KEY for the host's value (docker's). */
export function envFlags(values: string[], hostEnv: NodeJS.ProcessEnv = process.env): string[] {
  return values.flatMap((v) => envEntry(v, hostEnv, () => usage(`--env ${v}: use KEY=VALUE, or KEY for the host's value`)));
}

export function checkWorkdir(dir: string | undefined): string | undefined {
  if (dir !== undefined && !dir.startsWith('/')) throw usage(`--workdir ${dir}: use an absolute path`);
  return dir;
}

/** USER[:GROUP], names or numbers: looked up in the container's files when it starts. */
export function checkUser(user: string | undefined): string | undefined {
  if (user !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(user)) throw usage(`--user ${user}: use USER[:GROUP], names or numbers`);
  return user;
}

function readEnvFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw usage(`--env-file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/**
 * An --env-file as docker reads one: a KEY=VALUE per line, taken as it stands (no quotes
 * removed); a bare KEY takes the host's value, and is left out when the host has none;
 * blank lines and lines starting with # are skipped.
 */
export function parseEnvFile(text: string, hostEnv: NodeJS.ProcessEnv, file = 'FILE'): string[] {
  return text.split('\n').flatMap((raw, i) => {
    const line = raw.replace(/\r$/, '').trimStart();
    if (line === '' || line.startsWith('#')) return [];
    return envEntry(line, hostEnv, (key) => usage(`--env-file ${file}, line ${i + 1}: '${key}' is not a variable name (use KEY=VALUE)`));
  });
}

/** KEY=VALUE as it stands, or a bare KEY with the host's value (left out when the host has none), as docker's -e. */
function envEntry(text: string, hostEnv: NodeJS.ProcessEnv, refuse: (key: string) => DiycError): string[] {
  const eq = text.indexOf('=');
  const key = eq < 0 ? text.trimEnd() : text.slice(0, eq);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw refuse(key);
  if (eq >= 0) return [text];
  return hostEnv[key] === undefined ? [] : [`${key}=${hostEnv[key]}`];
}

/** A path inside the container: absolute, normalised, and not the root itself. */
function containerPath(path: string, flag: string): string {
  if (!path.startsWith('/')) throw usage(`${flag}: ${path} is not an absolute path in the container`);
  const normal = posix.normalize(path).replace(/\/+$/, '');
  if (normal === '' || normal === '/') throw usage(`${flag}: cannot mount over the container's root`);
  return normal;
}

/** HOST:CONTAINER[:ro|rw]; the host side must exist (diyc does not make it, unlike docker). */
export function parseVolume(text: string): Volume {
  const parts = text.split(':');
  const [host, container, mode] = parts;
  if (parts.length < 2 || parts.length > 3 || !host || !container) throw usage(`--volume ${text}: use HOST:CONTAINER[:ro]`);
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw usage(`--volume ${text}: the mode is ro or rw, not ${mode}`);
  if (!isAbsolute(host)) throw usage(`--volume ${text}: the host side must be an absolute path (named volumes are not supported)`);
  if (!existsSync(host)) throw usage(`--volume ${text}: ${host} does not exist on the host: create it first`);
  return { host: resolve(host), container: containerPath(container, `--volume ${text}`), readonly: mode === 'ro' };
}

/** docker's --ulimit NAME=SOFT[:HARD] (nofile=1024:4096): NAME is an RLIMIT_ without its prefix. */
export function parseUlimit(text: string): RecordRlimit {
  const m = /^([a-z]+)=(\d+)(?::(\d+))?$/.exec(text);
  const type = `RLIMIT_${m?.[1]?.toUpperCase() ?? ''}`;
  if (!m || !RLIMITS.includes(type as RlimitType)) throw usage(`--ulimit ${text}: use NAME=SOFT[:HARD] with NAME one of ${RLIMITS.map((r) => r.slice(7).toLowerCase()).join(', ')}`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard)) throw usage(`--ulimit ${text}: the limit is too large`);
  if (soft > hard) throw usage(`--ulimit ${text}: the soft limit is above the hard one`);
  return { type, soft, hard };
}

/** docker's --sysctl KEY=VALUE (net.ipv4.ip_unprivileged_port_start=80). */
export function parseSysctl(text: string): [string, string] {
  const eq = text.indexOf('=');
  const key = text.slice(0, eq);
  if (eq <= 0 || !/^[a-z0-9_]+(\.[a-z0-9_-]+)+$/i.test(key)) throw usage(`--sysctl ${text}: use KEY=VALUE, as net.ipv4.ip_unprivileged_port_start=80`);
  return [key, text.slice(eq + 1)];
}

/** PATH[:OPTIONS], OPTIONS as mount(8)'s -o (size=64m,exec,...). */
export function parseTmpfs(text: string): TmpfsMount {
  const colon = text.indexOf(':');
  const path = containerPath(colon < 0 ? text : text.slice(0, colon), `--tmpfs ${text}`);
  return { path, options: colon < 0 ? [] : text.slice(colon + 1).split(',').filter((o) => o !== '') };
}

export function parseDnsServer(text: string): string {
  if (isIP(text) === 0) throw usage(`--dns ${text}: give the name server's IP address`);
  return text;
}

export function parseDnsSearch(text: string): string {
  if (text !== '.' && !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(text)) throw usage(`--dns-search ${text}: not a domain name`);
  return text;
}

/** NAME:IP, as docker's --add-host (the IP may be IPv6, colons and all). */
export function parseAddHost(text: string): { name: string; ip: string } {
  const colon = text.indexOf(':');
  const [name, ip] = colon < 0 ? [text, ''] : [text.slice(0, colon), text.slice(colon + 1)];
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(name) || isIP(ip) === 0) throw usage(`--add-host ${text}: use NAME:IP`);
  return { name, ip };
}

/** CAP_NET_ADMIN, NET_ADMIN and net_admin all name CAP_NET_ADMIN; ALL is all of them. */
export function capabilityName(text: string, flag: string): string {
  const upper = text.toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!CAPABILITIES.includes(name as Capability)) throw usage(`${flag} ${text}: no such capability (see capabilities(7))`);
  return name;
}

function readSecurity(flags: ParsedFlags): SecurityOptions {
  const security: SecurityOptions = {
    privileged: flags.privileged === true,
    capAdd: many(flags['cap-add']).map((c) => capabilityName(c, '--cap-add')),
    capDrop: many(flags['cap-drop']).map((c) => capabilityName(c, '--cap-drop')),
    noNewPrivileges: flags['no-new-privileges'] === true,
    seccomp: 'default',
  };
  for (const opt of many(flags['security-opt'])) {
    // Docker reads both seccomp=VALUE and the older seccomp:VALUE.
    const m = /^([a-z-]+)(?:[=:](.*))?$/.exec(opt);
    const [key, value] = [m?.[1], m?.[2]];
    if (key === 'seccomp' && value !== undefined && value !== '') {
      security.seccomp = value === 'unconfined' ? 'unconfined' : { file: value };
    } else if (key === 'no-new-privileges' && (value === undefined || value === 'true' || value === 'false')) {
      security.noNewPrivileges = value !== 'false';
    } else if (key === 'apparmor' || key === 'label') {
      throw usage(`--security-opt ${opt}: diyc has no ${key === 'label' ? 'SELinux' : 'AppArmor'} support`);
    } else {
      throw usage(`--security-opt ${opt}: use seccomp=unconfined, seccomp=FILE or no-new-privileges`);
    }
  }
  return security;
}
