// The container's base record, before any stage prepared anything: its command and
// environment (the image's defaults, then the user's), hostname and domain, the
// namespaces to create, and the filesystems every container gets.
import { withImage, type Image } from '@diyc/image';
import { readFileSync } from 'node:fs';
import {
  allCapabilities, capabilitySets, containerDevices, containerMounts, DEFAULT_CAPABILITIES, DEFAULT_DEVICE_RULES,
  defaultSeccompProfile, MASKED_PATHS, READONLY_PATHS,
} from '@diyc/nsexec';
import { formatPublish } from '@diyc/net';
import { ANNOTATION, DEFAULT_PATH, DiycError, emptyRecord, hostnameFor, setEnv, setNamespace, type ContainerRecord, type RecordSeccomp } from '@diyc/record';
import type { RunOptions, SecurityOptions } from './options.js';

export const DOMAIN = 'diyc';

export function baseRecord(options: RunOptions, image: Image, terminal: boolean): ContainerRecord {
  // The host's environment never leaks in: only PATH, HOME, HOSTNAME and TERM.
  const record = withImage(image, emptyRecord(options.command));
  let env = setEnv(record.process.env, 'HOSTNAME', hostnameFor(options.name));
  if (!env.some((e) => e.startsWith('PATH='))) env = setEnv(env, 'PATH', DEFAULT_PATH);
  if (!env.some((e) => e.startsWith('HOME='))) env = setEnv(env, 'HOME', '/root');
  if (terminal) env = setEnv(env, 'TERM', process.env.TERM ?? 'xterm');
  for (const v of options.env) {
    const eq = v.indexOf('=');
    env = setEnv(env, v.slice(0, eq), v.slice(eq + 1));
  }
  record.process.env = env;
  record.process.terminal = terminal;
  if (options.workdir !== undefined) record.process.cwd = options.workdir;
  record.hostname = hostnameFor(options.name);
  record.domainname = DOMAIN;
  for (const ns of ['mount', 'uts', 'ipc', 'pid', 'cgroup'] as const) setNamespace(record, ns);
  // --net none: a network namespace of its own with only lo. bridge: the net stage
  // joins the one it made. host: the host's.
  if (options.net === 'none') setNamespace(record, 'network');
  record.mounts = containerMounts({ ipc: true });
  record.linux.devices = containerDevices();
  applySecurity(record, options.security);
  record.linux.resources = { ...options.resources, ...record.linux.resources };
  record.annotations[ANNOTATION.name] = options.name;
  if (image.config.User) record.annotations[ANNOTATION.imageUser] = image.config.User;
  // What the net stage is asked for: a bridge, maybe an address and published ports.
  if (options.net === 'bridge') {
    record.annotations[ANNOTATION.bridge] = options.netConfig.bridge;
    if (options.ip !== undefined) record.annotations[ANNOTATION.ip] = options.ip;
    if (options.publish.length > 0) record.annotations[ANNOTATION.publish] = options.publish.map(formatPublish).join(',');
  }
  record.annotations[ANNOTATION.netMode] = options.net;
  return record;
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
    throw new DiycError('usage', `--security-opt seccomp=${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
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
  record.linux.resources = { ...record.linux.resources, devices: security.privileged ? [{ allow: true, access: 'rwm' }] : [...DEFAULT_DEVICE_RULES] };
  if (!security.privileged) {
    record.linux.maskedPaths = [...MASKED_PATHS];
    record.linux.readonlyPaths = [...READONLY_PATHS];
  }
}

/** uid and gid for an image's User ("1000", "1000:1000", "nobody", "nobody:nogroup"). */
export function resolveUser(user: string, passwd: string, group: string): { uid: number; gid: number } {
  const [u = '', g] = user.split(':');
  const lookup = (table: string, key: string, idField: number): number | undefined => {
    if (/^\d+$/.test(key)) return Number(key);
    const row = table.split('\n').map((l) => l.split(':')).find((f) => f[0] === key);
    return row?.[idField] !== undefined ? Number(row[idField]) : undefined;
  };
  const uid = lookup(passwd, u, 2);
  if (uid === undefined) throw new DiycError('not-found', `user '${u}' is not in the image's /etc/passwd`);
  let gid: number | undefined;
  if (g !== undefined) gid = lookup(group, g, 2);
  else gid = Number(passwd.split('\n').map((l) => l.split(':')).find((f) => f[0] === u || f[2] === String(uid))?.[3] ?? uid);
  if (gid === undefined) throw new DiycError('not-found', `group '${g}' is not in the image's /etc/group`);
  return { uid, gid };
}
