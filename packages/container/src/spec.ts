// A container made from an image, as docker-style front ends (diyc-run, diyc) describe it:
// the spec's types, and the base record it gives, before any stage prepared anything: its
// command and environment (the image's defaults, then the user's), hostname and domain,
// the namespaces to create, the filesystems every container gets, and diyc's isolation
// defaults (Docker's capabilities and seccomp profile, runc's masked paths, a device
// cgroup of what /dev holds).
import { readFileSync } from 'node:fs';
import { withImage, type Image } from '@diyc/image';
import { formatPublish, withIpv6Off, type NetConfig, type Publish } from '@diyc/net';
import {
  allCapabilities,
  capabilitySets,
  containerDevices,
  containerMounts,
  DEFAULT_CAPABILITIES,
  DEFAULT_DEVICE_RULES,
  defaultSeccompProfile,
  MASKED_PATHS,
  READONLY_PATHS,
} from '@diyc/nsexec';
import {
  ANNOTATION,
  DEFAULT_PATH,
  DiycError,
  emptyRecord,
  hostnameFor,
  setEnv,
  setNamespace,
  type ContainerRecord,
  type RecordMount,
  type RecordRlimit,
  type RecordSeccomp,
  type Resources,
} from '@diyc/record';
import { initPath } from '@diyc/syscalls';

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

/**
 * A container made from an image, as a docker-style front end asks for one (diyc-run,
 * diyc): everything the base record is made from. The front end's own options (detach,
 * logs, verbosity) are not here.
 */
export interface ContainerSpec {
  name: string;
  /** --rm: its files go when it ends, so its root filesystem is mounted volatile (no sync). */
  remove?: boolean;
  /** The container's hostname (docker's --hostname); default: its name. */
  hostname?: string;
  image: string;
  /** The command: replaces the image's Cmd, after its Entrypoint; empty: the image's Cmd. */
  command: string[];
  /** --entrypoint: replaces the image's Entrypoint (and drops its Cmd); [] for none. */
  entrypoint?: string[];
  net: NetMode;
  /** The bridge and subnet when net is bridge. */
  netConfig: NetConfig;
  ip?: string;
  publish: Publish[];
  /** memory, pids and cpu (OCI form); the device rules come from security. */
  resources: Resources;
  /** -e K=V, in order; they win over the files'. */
  env: string[];
  /** The variables read from --env-file files (K=V). */
  fileEnv: string[];
  workdir?: string;
  /** The root filesystem is mounted read-only. */
  readOnly: boolean;
  /** As OCI process.rlimits. */
  ulimits: RecordRlimit[];
  /** As OCI linux.sysctl (namespaced ones only: checked at start). */
  sysctls: Record<string, string>;
  security: SecurityOptions;
  /** USER[:GROUP], looked up in the image when the container starts. */
  user?: string;
  volumes: Volume[];
  tmpfs: TmpfsMount[];
  /** diyc-init as PID 1, the command its child. */
  init: boolean;
  dns: DnsOptions;
}

export const DOMAIN = 'diyc';

/** The base record of `options`: what the image and the options ask, before any stage ran. */
export function baseRecord(options: ContainerSpec, image: Image, terminal: boolean): ContainerRecord {
  // The host's environment never leaks in: only PATH, HOME, HOSTNAME and TERM.
  const record = withImage(image, emptyRecord(options.command), options.entrypoint);
  const hostname = options.hostname ?? hostnameFor(options.name);
  let env = setEnv(record.process.env, 'HOSTNAME', hostname);
  if (!env.some((e) => e.startsWith('PATH='))) env = setEnv(env, 'PATH', DEFAULT_PATH);
  // HOME, when neither the image nor -e sets it, is the user's: set when it starts (start.ts).
  if (terminal) env = setEnv(env, 'TERM', process.env.TERM ?? 'xterm');
  for (const v of [...options.fileEnv, ...options.env]) {
    const eq = v.indexOf('=');
    env = setEnv(env, v.slice(0, eq), v.slice(eq + 1));
  }
  record.process.env = env;
  record.process.terminal = terminal;
  if (options.workdir !== undefined) record.process.cwd = options.workdir;
  // The overlay stage fills in the path; read-only is remounted by the child (plan-fs).
  if (options.readOnly) record.root = { path: '', readonly: true };
  if (options.ulimits.length > 0) record.process.rlimits = options.ulimits;
  // IPv6 is off in a network namespace of the container's own unless asked for (the net
  // stage does the same on the bridge): diyc gives it no IPv6 address to use.
  const sysctls = options.net === 'none' ? withIpv6Off(options.sysctls) : options.sysctls;
  if (sysctls && Object.keys(sysctls).length > 0) record.linux.sysctl = { ...sysctls };
  record.hostname = hostname;
  record.domainname = DOMAIN;
  for (const ns of ['mount', 'uts', 'ipc', 'pid', 'cgroup'] as const) setNamespace(record, ns);
  // --net none: a network namespace of its own with only lo. bridge: the net stage
  // joins the one it made. host: the host's.
  if (options.net === 'none') setNamespace(record, 'network');
  record.mounts = [...containerMounts({ ipc: true }), ...userMounts(options)];
  if (options.init) {
    // diyc-init, bound read-only where the container's /dev is (a tmpfs of its own, so
    // the image's files are not touched), runs the command as its child.
    record.mounts.push({ destination: INIT_PATH, type: 'bind', source: initPath(), options: ['bind', 'ro', 'nosuid', 'nodev'] });
    record.process.args = [INIT_PATH, '--', ...record.process.args];
  }
  record.linux.devices = containerDevices();
  applySecurity(record, options.security);
  record.linux.resources = { ...options.resources, ...record.linux.resources };
  record.annotations[ANNOTATION.name] = options.name;
  if (options.remove === true) record.annotations[ANNOTATION.volatileRootfs] = 'true';
  if (image.config.User) record.annotations[ANNOTATION.imageUser] = image.config.User;
  if (image.config.StopSignal) record.annotations[ANNOTATION.stopSignal] = image.config.StopSignal;
  if (options.user !== undefined) record.annotations[ANNOTATION.user] = options.user;
  const { dns } = options;
  if (dns.servers.length > 0) record.annotations[ANNOTATION.dns] = dns.servers.join(',');
  if (dns.search.length > 0) record.annotations[ANNOTATION.dnsSearch] = dns.search.join(',');
  if (dns.hosts.length > 0) record.annotations[ANNOTATION.addHosts] = dns.hosts.map((h) => `${h.name}=${h.ip}`).join(',');
  // What the net stage is asked for: a bridge, maybe an address and published ports.
  if (options.net === 'bridge') {
    record.annotations[ANNOTATION.bridge] = options.netConfig.bridge;
    if (options.ip !== undefined) record.annotations[ANNOTATION.ip] = options.ip;
    if (options.publish.length > 0) record.annotations[ANNOTATION.publish] = options.publish.map(formatPublish).join(',');
  }
  record.annotations[ANNOTATION.netMode] = options.net;
  return record;
}

/** Where --init puts diyc-init inside the container. */
export const INIT_PATH = '/dev/init';

/** --volume and --tmpfs as OCI mounts, after the ones every container gets. */
function userMounts(options: ContainerSpec): RecordMount[] {
  return [
    ...options.volumes.map(
      (v): RecordMount => ({ destination: v.container, type: 'bind', source: v.host, options: ['rbind', v.readonly ? 'ro' : 'rw'] }),
    ),
    ...options.tmpfs.map(
      (t): RecordMount => ({ destination: t.path, type: 'tmpfs', source: 'tmpfs', options: [...TMPFS_DEFAULTS, ...t.options] }),
    ),
  ];
}

/** The capabilities a container gets: Docker's set, with --cap-drop then --cap-add. */
export function containerCapabilities(security: SecurityOptions): string[] {
  if (security.privileged) return allCapabilities();
  const caps = new Set(security.capDrop.includes('ALL') ? [] : DEFAULT_CAPABILITIES);
  for (const cap of security.capDrop) caps.delete(cap);
  for (const cap of security.capAdd.includes('ALL') ? allCapabilities() : security.capAdd) caps.add(cap);
  return [...caps];
}

/** The seccomp profile a --security-opt seccomp=FILE names: the OCI form, as Docker's files are. */
function seccompFile(file: string): RecordSeccomp {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DiycError(
      'usage',
      `--security-opt seccomp=${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  try {
    return JSON.parse(text) as RecordSeccomp;
  } catch (err) {
    throw new DiycError('usage', `--security-opt seccomp=${file}: not JSON: ${(err as Error).message}`);
  }
}

/**
 * Puts the container's policy in the record: capabilities, no_new_privs, seccomp, the
 * masked and read-only paths, and the device rules. --privileged gives up all but the
 * namespaces (what it gives away is said in its --help).
 */
export function applySecurity(record: ContainerRecord, security: SecurityOptions): void {
  const caps = containerCapabilities(security);
  record.process.capabilities = capabilitySets(caps);
  if (security.noNewPrivileges) record.process.noNewPrivileges = true;
  if (typeof security.seccomp === 'object') record.linux.seccomp = seccompFile(security.seccomp.file);
  else if (security.seccomp === 'default' && !security.privileged) record.linux.seccomp = defaultSeccompProfile(caps);
  record.linux.resources = {
    ...record.linux.resources,
    devices: security.privileged ? [{ allow: true, access: 'rwm' }] : [...DEFAULT_DEVICE_RULES],
  };
  if (!security.privileged) {
    record.linux.maskedPaths = [...MASKED_PATHS];
    record.linux.readonlyPaths = [...READONLY_PATHS];
  }
}
