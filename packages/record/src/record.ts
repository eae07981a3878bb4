// The container record: a subset of the OCI runtime-spec config.json
// (https://github.com/opencontainers/runtime-spec/blob/main/config.md), with diyc's
// own facts under `annotations`. Each pipeline stage reads it, adds what it owns, and
// passes it on; nsexec runs it.

export type NamespaceType = 'mount' | 'uts' | 'ipc' | 'pid' | 'network' | 'cgroup';

export interface RecordMount {
  /** Where, inside the container's root. */
  destination: string;
  type?: string;
  source?: string;
  /** mount(8)-style options: ro, nosuid, nodev, noexec, bind, rbind, private, mode=755, ... */
  options?: string[];
}

export interface RecordDevice {
  path: string;
  type: 'c' | 'b' | 'p';
  major?: number;
  minor?: number;
  fileMode?: number;
}

export interface Resources {
  memory?: { limit?: number; swap?: number };
  pids?: { limit: number };
  cpu?: { quota?: number; period?: number };
}

export interface ContainerRecord {
  ociVersion: string;
  root?: { path: string; readonly?: boolean };
  process: {
    terminal?: boolean;
    args: string[];
    env: string[];
    cwd: string;
    user?: { uid: number; gid: number };
  };
  hostname?: string;
  domainname?: string;
  mounts: RecordMount[];
  linux: {
    /** A namespace with a path is joined; one without is created. */
    namespaces: { type: NamespaceType; path?: string }[];
    cgroupsPath?: string;
    resources?: Resources;
    devices?: RecordDevice[];
    readonlyPaths?: string[];
  };
  annotations: Record<string, string>;
}

/** diyc's annotation keys: facts a stage leaves for the ones after it. */
export const ANNOTATION = {
  name: 'org.diyc.name',
  image: 'org.diyc.image',
  /** cgroup.procs files to enter, joined by ':' (one per v1 hierarchy, or the v2 one). */
  cgroupProcs: 'org.diyc.cgroup.procs',
  ip: 'org.diyc.net.ip',
  bridge: 'org.diyc.net.bridge',
  gateway: 'org.diyc.net.gateway',
  netns: 'org.diyc.net.netns',
  publish: 'org.diyc.net.publish',
  memory: 'org.diyc.cgroup.memory',
} as const;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A record with nothing prepared: run `args` in the current root. */
export function emptyRecord(args: string[] = []): ContainerRecord {
  return {
    ociVersion: '1.0.2',
    process: { args, env: [`PATH=${DEFAULT_PATH}`], cwd: '/' },
    mounts: [],
    linux: { namespaces: [] },
    annotations: {},
  };
}

export class RecordError extends Error {
  override name = 'RecordError';
}

const NAMESPACES: readonly NamespaceType[] = ['mount', 'uts', 'ipc', 'pid', 'network', 'cgroup'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
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
    throw new RecordError(`the record is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new RecordError('the record must be a JSON object');
  const base = emptyRecord();
  const record = { ...base, ...raw } as ContainerRecord;
  if (!isObject(record.process)) throw new RecordError('process must be an object');
  record.process = { ...base.process, ...record.process };
  if (!isStringArray(record.process.args)) throw new RecordError('process.args must be an array of strings');
  if (!isStringArray(record.process.env)) throw new RecordError('process.env must be an array of strings');
  if (typeof record.process.cwd !== 'string' || !record.process.cwd.startsWith('/')) throw new RecordError('process.cwd must be an absolute path');
  if (!Array.isArray(record.mounts)) throw new RecordError('mounts must be an array');
  for (const m of record.mounts) {
    if (!isObject(m) || typeof m.destination !== 'string' || !m.destination.startsWith('/')) throw new RecordError('each mount needs an absolute destination');
  }
  if (!isObject(record.linux)) throw new RecordError('linux must be an object');
  record.linux = { ...base.linux, ...record.linux };
  if (!Array.isArray(record.linux.namespaces)) throw new RecordError('linux.namespaces must be an array');
  for (const ns of record.linux.namespaces) {
    if (!isObject(ns) || !NAMESPACES.includes(ns.type as NamespaceType)) throw new RecordError(`unknown namespace type ${JSON.stringify(isObject(ns) ? ns.type : ns)}`);
  }
  if (!isObject(record.annotations)) record.annotations = {};
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
