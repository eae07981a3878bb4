// The container record: the OCI runtime-spec config.json
// (https://github.com/opencontainers/runtime-spec/blob/main/config.md), the fields diyc
// honours typed here, with diyc's own facts under `annotations`. Each pipeline stage
// reads it, adds what it owns, and passes it on; nsexec runs it; diyc-oci reads it from
// a bundle. Whatever it says is input from outside: parseRecord checks every field diyc
// acts on, and names the one that is wrong.
import { DiycError } from './errors.js';
import { checkRecord } from './validate.js';

export type NamespaceType = 'mount' | 'uts' | 'ipc' | 'pid' | 'network' | 'cgroup' | 'user' | 'time';

export interface RecordMount {
  /** Where, inside the container's root. */
  destination: string;
  type?: string;
  source?: string;
  /** mount(8)-style options: ro, nosuid, nodev, noexec, bind, rbind, private, mode=755, ... */
  options?: string[];
}

/** A device node to make in the container's /dev (linux.devices). */
export interface RecordDevice {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** A rule of the device cgroup (linux.resources.devices): type a/c/b, access r/w/m. */
export interface DeviceRule {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number | null;
  minor?: number | null;
  access?: string;
}

export interface Resources {
  memory?: {
    limit?: number;
    reservation?: number;
    swap?: number;
    kernel?: number;
    kernelTCP?: number;
    swappiness?: number;
    disableOOMKiller?: boolean;
    useHierarchy?: boolean;
    checkBeforeUpdate?: boolean;
  };
  pids?: { limit: number };
  cpu?: {
    shares?: number;
    quota?: number;
    period?: number;
    burst?: number;
    realtimeRuntime?: number;
    realtimePeriod?: number;
    cpus?: string;
    mems?: string;
    idle?: number;
  };
  devices?: DeviceRule[];
  blockIO?: Record<string, unknown>;
  hugepageLimits?: { pageSize: string; limit: number }[];
  network?: Record<string, unknown>;
  rdma?: Record<string, unknown>;
  unified?: Record<string, string>;
}

export interface Capabilities {
  bounding?: string[];
  effective?: string[];
  permitted?: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface RecordRlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface RecordUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

export interface RecordProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  args: string[];
  env: string[];
  cwd: string;
  user?: RecordUser;
  capabilities?: Capabilities;
  noNewPrivileges?: boolean;
  rlimits?: RecordRlimit[];
  oomScoreAdj?: number;
  apparmorProfile?: string;
  selinuxLabel?: string;
}

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface RecordSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: { names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }[];
}

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface Hooks {
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface ContainerRecord {
  ociVersion: string;
  root?: { path: string; readonly?: boolean };
  process: RecordProcess;
  hostname?: string;
  domainname?: string;
  mounts: RecordMount[];
  hooks?: Hooks;
  linux: {
    /** A namespace with a path is joined; one without is created. */
    namespaces: { type: NamespaceType; path?: string }[];
    uidMappings?: IdMapping[];
    gidMappings?: IdMapping[];
    cgroupsPath?: string;
    resources?: Resources;
    devices?: RecordDevice[];
    maskedPaths?: string[];
    readonlyPaths?: string[];
    seccomp?: RecordSeccomp;
    sysctl?: Record<string, string>;
    rootfsPropagation?: string;
    mountLabel?: string;
  };
  annotations: Record<string, string>;
}

/** diyc's annotation keys: facts a stage leaves for the ones after it. */
/** The prefix of diyc's own annotations, which only its stages write. */
export const ANNOTATION_PREFIX = 'org.diyc.';

export const ANNOTATION = {
  name: 'org.diyc.name',
  image: 'org.diyc.image',
  /** 'true' when the container's own layer goes when it ends (--rm): overlayfs need not sync it. */
  volatileRootfs: 'org.diyc.rootfs.volatile',
  /** cgroup.procs files to enter, joined by ':' (one per v1 hierarchy, or the v2 one). */
  cgroupProcs: 'org.diyc.cgroup.procs',
  ip: 'org.diyc.net.ip',
  bridge: 'org.diyc.net.bridge',
  gateway: 'org.diyc.net.gateway',
  netns: 'org.diyc.net.netns',
  publish: 'org.diyc.net.publish',
  /** bridge, none or host: diyc-run's --net. */
  netMode: 'org.diyc.net.mode',
  /** The image config's User, resolved in the rootfs when the container starts. */
  imageUser: 'org.diyc.image.user',
  /** The image config's StopSignal: what diyc-stop sends first. */
  stopSignal: 'org.diyc.stop.signal',
  /** diyc-run's --user, resolved the same way; it wins over the image's. */
  user: 'org.diyc.user',
  /** --dns servers and --dns-search domains, comma-separated, for /etc/resolv.conf. */
  dns: 'org.diyc.dns',
  dnsSearch: 'org.diyc.dns.search',
  /** --add-host entries, NAME=IP joined by ',', for /etc/hosts. */
  addHosts: 'org.diyc.hosts',
} as const;

/** The version of the OCI runtime spec diyc writes and reports (it reads 1.0.0 and later 1.x). */
export const OCI_VERSION = '1.2.0';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A record with nothing prepared: run `args` in the current root. */
export function emptyRecord(args: string[] = []): ContainerRecord {
  return {
    ociVersion: OCI_VERSION,
    process: { args, env: [`PATH=${DEFAULT_PATH}`], cwd: '/' },
    mounts: [],
    linux: { namespaces: [] },
    annotations: {},
  };
}

/** A record that cannot be read: not JSON, or a field of the wrong shape (named). */
const recordError = (message: string): DiycError => new DiycError('invalid', message);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses and checks a record from JSON text. Empty text gives an empty record, so a
 * stage can start a pipeline. Fields diyc does not know are kept as they are.
 */
export function parseRecord(text: string): ContainerRecord {
  if (text.trim() === '') return emptyRecord();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw recordError(`the record is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw recordError('the record must be a JSON object');
  const base = emptyRecord();
  const record = { ...base, ...raw } as ContainerRecord;
  if (isObject(record.process)) record.process = { ...base.process, ...record.process };
  if (isObject(record.linux)) record.linux = { ...base.linux, ...record.linux };
  if (record.annotations === undefined || record.annotations === null) record.annotations = {};
  const problem = checkRecord(record);
  if (problem) throw recordError(problem);
  return record;
}

/** The record as the JSON a stage writes to stdout. */
export function formatRecord(record: ContainerRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** Adds (or replaces) a namespace entry. */
export function setNamespace(record: ContainerRecord, type: NamespaceType, path?: string): void {
  const rest = record.linux.namespaces.filter((ns) => ns.type !== type);
  record.linux.namespaces = [...rest, path === undefined ? { type } : { type, path }];
}

/** Sets an environment variable in process.env, replacing an earlier value. */
export function setEnv(env: string[], key: string, value: string): string[] {
  return [...env.filter((e) => !e.startsWith(`${key}=`)), `${key}=${value}`];
}
