// The container's base record, before any stage prepared anything: its command and
// environment (the image's defaults, then the user's), hostname and domain, the
// namespaces to create, and the filesystems every container gets.
import { withImage, type Image } from '@diyc/image';
import { existsSync, readFileSync } from 'node:fs';
import {
  allCapabilities, capabilitySets, containerDevices, containerMounts, DEFAULT_CAPABILITIES, DEFAULT_DEVICE_RULES,
  defaultSeccompProfile, MASKED_PATHS, READONLY_PATHS,
} from '@diyc/nsexec';
import { formatPublish } from '@diyc/net';
import { ANNOTATION, DEFAULT_PATH, DiycError, emptyRecord, hostnameFor, setEnv, setNamespace, type ContainerRecord, type RecordMount, type RecordSeccomp } from '@diyc/record';
import { initPath } from '@diyc/syscalls';
import { TMPFS_DEFAULTS, type RunOptions, type SecurityOptions } from './options.js';

export const DOMAIN = 'diyc';

export function baseRecord(options: RunOptions, image: Image, terminal: boolean): ContainerRecord {
  // The host's environment never leaks in: only PATH, HOME, HOSTNAME and TERM.
  const record = withImage(image, emptyRecord(options.command), options.entrypoint);
  let env = setEnv(record.process.env, 'HOSTNAME', hostnameFor(options.name));
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
  // IPv6 is off in a network namespace of the container's own unless asked for: a
  // container on the bridge would otherwise take router advertisements from another
  // (Docker's CVE-2020-13401), and diyc gives it no IPv6 address to use.
  const ipv6: Record<string, string> = options.net === 'host' || !existsSync('/proc/sys/net/ipv6') ? {} : { 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1' };
  const sysctls = { ...ipv6, ...options.sysctls };
  if (Object.keys(sysctls).length > 0) record.linux.sysctl = sysctls;
  record.hostname = hostnameFor(options.name);
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
function userMounts(options: RunOptions): RecordMount[] {
  return [
    ...options.volumes.map((v): RecordMount => ({ destination: v.container, type: 'bind', source: v.host, options: ['rbind', v.readonly ? 'ro' : 'rw'] })),
    ...options.tmpfs.map((t): RecordMount => ({ destination: t.path, type: 'tmpfs', source: 'tmpfs', options: [...TMPFS_DEFAULTS, ...t.options] })),
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

/** Who the command runs as: uid, gid, the supplementary groups, and the home directory. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

const fieldsOf = (table: string): string[][] => table.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(':'));

/**
 * A user as docker's -u takes it ("1000", "1000:100", "nobody", "nobody:nogroup"), looked
 * up in the image's /etc/passwd and /etc/group: a name must be there; a number need not
 * be (then its group is 0 and its home /, as docker has it). The supplementary groups are
 * those /etc/group lists the user in.
 */
export function resolveUser(user: string, passwd: string, group: string): ResolvedUser {
  const [u = '', g] = user.split(':');
  const users = fieldsOf(passwd);
  const groups = fieldsOf(group);
  const entry = /^\d+$/.test(u) ? users.find((f) => f[2] === u) : users.find((f) => f[0] === u);
  if (!entry && !/^\d+$/.test(u)) throw new DiycError('not-found', `user '${u}' is not in the image's /etc/passwd`);
  // The image's files are the image maker's: a uid or gid that is not a number is refused.
  const id = (text: string | undefined, what: string): number => {
    if (text === undefined || !/^\d+$/.test(text) || Number(text) > 0xfffffffe) throw new DiycError('invalid', `the image's ${what} for '${user}' is '${text}', not a number`);
    return Number(text);
  };
  const uid = id(entry?.[2] ?? u, 'uid');
  let gid = id(entry?.[3] ?? '0', 'gid');
  if (g !== undefined) {
    const row = /^\d+$/.test(g) ? undefined : groups.find((f) => f[0] === g);
    if (!/^\d+$/.test(g) && !row) throw new DiycError('not-found', `group '${g}' is not in the image's /etc/group`);
    gid = id(row?.[2] ?? g, 'group id');
  }
  const name = entry?.[0];
  const additionalGids = name === undefined ? [] : groups
    .filter((f) => (f[3] ?? '').split(',').includes(name))
    .filter((f) => /^\d+$/.test(f[2] ?? ''))
    .map((f) => Number(f[2]))
    .filter((g) => g !== gid);
  return { uid, gid, additionalGids: [...new Set(additionalGids)], home: entry?.[5] || (uid === 0 ? '/root' : '/') };
}
