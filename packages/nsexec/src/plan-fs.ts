// A record's filesystem, as the ordered list of steps the child runs before pivot_root:
// its mounts (with /dev filled), sysctls, masked and read-only paths, a read-only root
// and the root's propagation. Every target is a path inside the root; the child
// resolves it there (openat2 RESOLVE_IN_ROOT), so an image's symlinks never lead out.
import { lstatSync, statSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { machineLayout } from '@diyc/cgroup';
import { DiycError, type ContainerRecord, type RecordDevice, type RecordMount } from '@diyc/record';
import { MOUNT_ATTR, MS, type MountStep } from '@diyc/syscalls';
import { DEV_SYMLINKS } from './container-mounts.js';
import { PROPAGATION, parseMountOptions } from './mount-options.js';

export interface FsPlanOptions {
  /** Relative bind sources are relative to this (an OCI bundle); default the cwd. */
  base?: string;
}

/** What the container is made of that changes how its filesystem is made. */
interface Context extends FsPlanOptions {
  /** It makes a user namespace: no mknod, no v1 cgroup mounts, sysfs only with its own network. */
  userns: boolean;
  ownNetwork: boolean;
  ownCgroupns: boolean;
  cgroupsPath?: string;
  /** The root path on the host, where the record has one. */
  root?: string;
  /** Read-only tmpfs mounts, made read-write and made read-only once everything is in place. */
  readonlyLater: MountStep[];
}

/**
 * OCI's recursive mount options (runc's recAttrFlags): MOUNT_ATTR_* set or cleared on the
 * mount and every mount under it with mount_setattr(2), where `ro` on a bind reaches the
 * top mount only (mount(2), "Creating a bind mount").
 */
const RECURSIVE_OPTIONS: Record<string, { set?: number; clear?: number }> = {
  rro: { set: MOUNT_ATTR.RDONLY },
  rrw: { clear: MOUNT_ATTR.RDONLY },
  rnosuid: { set: MOUNT_ATTR.NOSUID },
  rsuid: { clear: MOUNT_ATTR.NOSUID },
  rnodev: { set: MOUNT_ATTR.NODEV },
  rdev: { clear: MOUNT_ATTR.NODEV },
  rnoexec: { set: MOUNT_ATTR.NOEXEC },
  rexec: { clear: MOUNT_ATTR.NOEXEC },
  rnodiratime: { set: MOUNT_ATTR.NODIRATIME },
  rdiratime: { clear: MOUNT_ATTR.NODIRATIME },
  rrelatime: { set: MOUNT_ATTR.RELATIME },
  rnorelatime: { clear: MOUNT_ATTR.RELATIME },
  rnoatime: { set: MOUNT_ATTR.NOATIME },
  ratime: { clear: MOUNT_ATTR.NOATIME },
  rstrictatime: { set: MOUNT_ATTR.STRICTATIME },
  rnostrictatime: { clear: MOUNT_ATTR.STRICTATIME },
  rnosymfollow: { set: MOUNT_ATTR.NOSYMFOLLOW },
  rsymfollow: { clear: MOUNT_ATTR.NOSYMFOLLOW },
};

/** The recursive mount options (runc 1.1's rro, rnosuid...): what `features` lists. */
export const RECURSIVE_MOUNT_OPTIONS: readonly string[] = Object.keys(RECURSIVE_OPTIONS);

/** A mount's recursive options as mount_setattr(2)'s set and clear masks, and its other options. */
export function recursiveAttributes(options: readonly string[] = []): { set: number; clear: number; rest: string[] } {
  let set = 0;
  let clear = 0;
  const rest: string[] = [];
  for (const option of options) {
    const attr = RECURSIVE_OPTIONS[option];
    if (!attr) {
      rest.push(option);
    } else if (attr.clear !== undefined) {
      clear |= attr.clear;
    } else {
      set |= attr.set ?? 0;
      // An access-time setting is a field: setting one means clearing the field too.
      if (((attr.set ?? 0) & MOUNT_ATTR._ATIME) === (attr.set ?? 0)) clear |= MOUNT_ATTR._ATIME;
    }
  }
  return { set, clear, rest };
}

/**
 * proc and sysfs are mounted on a real directory only, as runc insists: a symlink there
 * (an image's /proc -> /somewhere) is refused, not followed, even inside the root.
 */
function checkKernelMountPoint(mount: RecordMount, ctx: Context): void {
  if ((mount.type !== 'proc' && mount.type !== 'sysfs') || ctx.root === undefined) return;
  try {
    if (!lstatSync(join(ctx.root, mount.destination)).isDirectory()) {
      throw new DiycError(
        'invalid',
        `filesystem "${mount.type}" must be mounted on ordinary directory (${mount.destination} in the root is not one)`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Whether a bind source is a file: its target must then be a file too. */
function sourceIsFile(source: string): boolean {
  try {
    return !statSync(source).isDirectory();
  } catch {
    return false;
  }
}

function mountSteps(mount: RecordMount, options: Context): MountStep[] {
  if (mount.type === 'cgroup') return cgroupMountSteps(mount, options);
  checkKernelMountPoint(mount, options);
  // sysfs belongs to a network namespace: in a user namespace without its own network,
  // only the host's /sys, bound, can be had (as runc does).
  const hostSys = mount.type === 'sysfs' && options.userns && !options.ownNetwork;
  if (hostSys) {
    mount = { ...mount, type: 'bind', source: '/sys', options: ['rbind', ...(mount.options ?? []).filter((o) => o !== 'bind')] };
  }
  const recursive = recursiveAttributes(mount.options);
  const parsed = parseMountOptions(recursive.rest);
  const { propagation, data } = parsed;
  let { flags } = parsed;
  const bind = (flags & MS.BIND) !== 0 || mount.type === 'bind';
  // A tmpfs (or /dev) asked read-only is made read-write, filled (the devices, links and
  // directories of the steps after it), and made read-only at the end, as runc does.
  if (!bind && flags & MS.RDONLY && (mount.type === 'tmpfs' || mount.destination === '/dev')) {
    flags &= ~MS.RDONLY;
    options.readonlyLater.push({ op: 'mount', target: mount.destination, flags: MS.REMOUNT | MS.BIND | MS.RDONLY, keepFlags: true });
  }
  const steps: MountStep[] = [];
  let source = mount.source;
  if (bind) {
    if (source === undefined) throw new DiycError('invalid', `mount ${mount.destination}: a bind mount needs a source`);
    if (!isAbsolute(source)) source = join(options.base ?? process.cwd(), source);
  }
  const target = mount.destination;
  if (target !== '/') steps.push(bind && sourceIsFile(source as string) ? { op: 'mkfile', target } : { op: 'mkdir', target, mode: 0o755 });
  const base: MountStep = { op: 'mount', target, flags: bind ? flags | MS.BIND : flags };
  if (source !== undefined) base.source = source;
  // In a new user namespace, a bind source is opened by the runtime, the host's root (a
  // directory under one only root may enter is still bound), as runc's mount sources are.
  if (bind && options.userns && !hostSys) base.sourceByParent = true;
  if (mount.type !== undefined && !bind) base.fstype = mount.type;
  // A bind mount's data is passed on too: mount(2) ignores it, as it does for runc.
  if (data !== undefined) base.data = data;
  steps.push(base);
  // A bind mount ignores every flag but MS_REC on its first call: read-only and the
  // others take a remount (mount(2), "Creating a bind mount"), which keeps the flags the
  // source had (a nosuid host directory stays nosuid inside).
  const remountable = flags & ~(MS.BIND | MS.REC);
  if (bind && remountable !== 0) steps.push({ op: 'mount', target, flags: MS.REMOUNT | MS.BIND | remountable, keepFlags: true });
  if (propagation !== 0) steps.push({ op: 'mount', target, flags: propagation });
  if (recursive.set !== 0 || recursive.clear !== 0) steps.push({ op: 'setattr', target, set: recursive.set, clear: recursive.clear });
  return steps;
}

const DEVICE_TYPES = { c: 'char', u: 'char', b: 'block', p: 'fifo' } as const;

function deviceSteps(devices: readonly RecordDevice[], userns: boolean): MountStep[] {
  // In a user namespace mknod(2) is refused: the host's own node is bound instead.
  if (userns) {
    return devices.flatMap((d): MountStep[] => [
      { op: 'mkfile', target: d.path, mode: 0o644 },
      { op: 'mount', source: d.path, target: d.path, flags: MS.BIND },
    ]);
  }
  return devices.map((d) => {
    if (!d.path.startsWith('/dev/')) throw new DiycError('invalid', `linux.devices: ${d.path} is not under /dev`);
    const step: MountStep = {
      op: 'mknod',
      target: d.path,
      type: DEVICE_TYPES[d.type],
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      mode: d.fileMode ?? 0o666,
    };
    if (d.uid !== undefined) step.uid = d.uid;
    if (d.gid !== undefined) step.gid = d.gid;
    return step;
  });
}

/** The /proc/self/ns name of each OCI namespace type. */
const NS_FILE: Record<string, string> = {
  network: 'net',
  ipc: 'ipc',
  uts: 'uts',
  mount: 'mnt',
  pid: 'pid',
  cgroup: 'cgroup',
  user: 'user',
};

/** Whether `path` (a namespace a config joins) is this process's own, the host's. */
function isHostNamespace(type: string, path: string): boolean {
  try {
    const theirs = statSync(path);
    const ours = statSync(`/proc/self/ns/${NS_FILE[type] ?? type}`);
    return theirs.dev === ours.dev && theirs.ino === ours.ino;
  } catch {
    return false;
  }
}

export type HostNamespaceCheck = (type: string, path: string) => boolean;

/**
 * Whether the container has a namespace of `type` apart from the host's: one it makes, or
 * one it joins by path that is not the host's. A config that joins the host's own by
 * path (/proc/1/ns/net) shares the host's, as one that names none.
 */
export function hasOwnNamespace(record: ContainerRecord, type: string, hostNamespace: HostNamespaceCheck = isHostNamespace): boolean {
  return record.linux.namespaces.some((ns) => ns.type === type && (ns.path === undefined || !hostNamespace(type, ns.path)));
}

/**
 * Why a sysctl cannot be set in this container, or null. Only the namespaced ones can, in
 * a namespace of the container's own: writing any other through the container's
 * /proc/sys would change the host (runc's rule).
 */
export function sysctlProblem(key: string, record: ContainerRecord, hostNamespace: HostNamespaceCheck = isHostNamespace): string | null {
  if (!/^[a-z0-9_]+(\.[a-z0-9_*-]+)+$/i.test(key)) return `sysctl '${key}' is not a sysctl name`;
  const inOne = (type: string): boolean => hasOwnNamespace(record, type, hostNamespace);
  if (/^kernel\.(msg|sem|shm)/.test(key) || key.startsWith('fs.mqueue.'))
    return inOne('ipc') ? null : `sysctl ${key} needs an IPC namespace of the container's own`;
  if (key.startsWith('net.')) return inOne('network') ? null : `sysctl ${key} needs a network namespace of the container's own`;
  if (key === 'kernel.hostname' || key === 'kernel.domainname')
    return inOne('uts') ? null : `sysctl ${key} needs a UTS namespace of the container's own`;
  return `sysctl ${key} is not namespaced: setting it in a container would change the host`;
}

/**
 * A mount of type "cgroup" (OCI): the container's cgroups at /sys/fs/cgroup. On a v2
 * host, cgroup2 itself. On v1 (or hybrid), a tmpfs with one directory per v1 hierarchy. With
 * a cgroup namespace of its own each is mounted afresh, showing the container's cgroup as
 * the root; without one (or in a user namespace, which cannot mount v1 hierarchies),
 * the container's cgroup directories are bound from the host.
 */
function cgroupMountSteps(mount: RecordMount, ctx: Context): MountStep[] {
  // No cgroup of its own and no cgroup namespace (nsexec --root): a bind would show the
  // host's whole tree, so nothing is mounted there.
  if (ctx.cgroupsPath === undefined && !ctx.ownCgroupns) return [];
  const { flags } = parseMountOptions(mount.options);
  const layout = machineLayout();
  const target = mount.destination;
  const fresh = ctx.ownCgroupns && !ctx.userns;
  const path = ctx.cgroupsPath ?? '/';
  const steps: MountStep[] = [{ op: 'mkdir', target, mode: 0o755 }];
  const attach = (dir: string, hostMount: string, fstype: string, data?: string): void => {
    steps.push({ op: 'mkdir', target: dir, mode: 0o755 });
    if (fresh || (ctx.userns && fstype === 'cgroup2')) {
      const step: MountStep = { op: 'mount', source: 'cgroup', target: dir, fstype, flags: flags & ~MS.RDONLY };
      if (data !== undefined) step.data = data;
      steps.push(step);
    } else {
      steps.push({ op: 'mount', source: join(hostMount, path), target: dir, flags: MS.BIND | MS.REC });
    }
    if (flags & MS.RDONLY) steps.push({ op: 'mount', target: dir, flags: MS.REMOUNT | MS.BIND | MS.RDONLY, keepFlags: true });
  };
  if (layout.mode === 'unified' && layout.v2) {
    steps.pop();
    attach(target, layout.v2, 'cgroup2');
    return steps;
  }
  steps.push({ op: 'mount', source: 'cgroup', target, fstype: 'tmpfs', flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, data: 'mode=755' });
  // Co-mounted controllers (cpu,cpuacct) share one hierarchy: one mount, named as on the host.
  const hierarchies = new Map<string, string[]>();
  for (const [controller, point] of layout.v1) hierarchies.set(point, [...(hierarchies.get(point) ?? []), controller]);
  for (const [point, controllers] of hierarchies) attach(join(target, basename(point)), point, 'cgroup', controllers.join(','));
  // A hybrid host's unified tree is left out: the container has no cgroup of its own
  // there, and the host's would show.
  if (flags & MS.RDONLY)
    steps.push({ op: 'mount', target, flags: MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, data: 'mode=755' });
  return steps;
}

/** The record's filesystem as the child's steps, in the order they must run. */
export function fsSteps(record: ContainerRecord, options: FsPlanOptions = {}): MountStep[] {
  const { linux } = record;
  const made = (type: string): boolean => linux.namespaces.some((ns) => ns.type === type && ns.path === undefined);
  const ctx: Context = { ...options, userns: made('user'), ownNetwork: made('network'), ownCgroupns: made('cgroup'), readonlyLater: [] };
  if (linux.cgroupsPath !== undefined) ctx.cgroupsPath = linux.cgroupsPath;
  if (record.root?.path !== undefined) ctx.root = record.root.path;
  const steps: MountStep[] = [];
  const cgroupMounts = new Set<string>();
  for (const mount of record.mounts) {
    // The same cgroup mount twice (a spec that adds its own to containerMounts' list):
    // cgroup2 refuses to be mounted again on itself (EBUSY), and the first already shows it.
    if (mount.type === 'cgroup') {
      const key = JSON.stringify([mount.destination, mount.options ?? []]);
      if (cgroupMounts.has(key)) continue;
      cgroupMounts.add(key);
    }
    steps.push(...mountSteps(mount, ctx));
    if (mount.destination === '/dev' && mount.type === 'tmpfs') {
      steps.push(...deviceSteps(linux.devices ?? [], ctx.userns));
      for (const [target, path] of DEV_SYMLINKS) steps.push({ op: 'symlink', source: target, target: path });
      // A read-only /dev is read-only before the process binds its pty on /dev/console
      // (after pivot_root): the file it binds on is made while /dev can still be written.
      if (ctx.readonlyLater.some((s) => s.target === '/dev')) steps.push({ op: 'mkfile', target: '/dev/console', mode: 0o600 });
    }
  }
  if (!record.mounts.some((m) => m.destination === '/dev' && m.type === 'tmpfs'))
    steps.push(...deviceSteps(linux.devices ?? [], ctx.userns));
  for (const [key, value] of Object.entries(linux.sysctl ?? {})) {
    const problem = sysctlProblem(key, record);
    if (problem) throw new DiycError('invalid', `linux.sysctl: ${problem}`);
    steps.push({ op: 'write', target: `/proc/sys/${key.replace(/\./g, '/')}`, data: value });
  }
  for (const path of linux.maskedPaths ?? []) steps.push({ op: 'mask', target: path, optional: true });
  for (const path of linux.readonlyPaths ?? []) {
    steps.push({ op: 'mount', source: path, target: path, flags: MS.BIND | MS.REC, sourceInRoot: true, optional: true });
    steps.push({ op: 'mount', target: path, flags: MS.REMOUNT | MS.BIND | MS.RDONLY, keepFlags: true, optional: true });
  }
  steps.push(...ctx.readonlyLater);
  if (record.root?.readonly) steps.push({ op: 'mount', target: '/', flags: MS.REMOUNT | MS.BIND | MS.RDONLY, keepFlags: true });
  return steps;
}

/** linux.rootfsPropagation as mount(2) flags, set on `/` after the pivot; undefined when not asked. */
export function rootPropagation(record: ContainerRecord): number | undefined {
  const propagation = record.linux.rootfsPropagation;
  if (propagation === undefined) return undefined;
  const flags = PROPAGATION[propagation];
  if (flags === undefined) throw new DiycError('invalid', `linux.rootfsPropagation: unknown '${propagation}'`);
  return flags;
}

/**
 * One line for the -v trace: what a mount or mask step does, as mount(8) would be told to
 * do it ("bind /src on /dst", "remount /proc/sys read-only"). Other steps (mkdir, mknod,
 * write...) are not traced: they only make what the mounts and the command need.
 */
export function describeMountStep(step: MountStep): string | null {
  if (step.op === 'mask') return `mask ${step.target}`;
  if (step.op !== 'mount') return null;
  const flags = step.flags ?? 0;
  const rec = flags & MS.REC ? 'r' : '';
  if (flags & MS.REMOUNT) return `remount ${step.target} ${flags & MS.RDONLY ? 'read-only' : 'read-write'}`;
  if (flags & MS.BIND) return `${rec}bind ${step.source ?? '?'} on ${step.target}`;
  // The name mount(8) and OCI's rootfsPropagation give these flags (rprivate...).
  const propagation = Object.entries(PROPAGATION).find(
    ([, bits]) => bits === (flags & (MS.PRIVATE | MS.SLAVE | MS.SHARED | MS.UNBINDABLE | MS.REC)),
  );
  if (propagation && step.fstype === undefined) return `make ${step.target} ${propagation[0]}`;
  return `mount ${step.fstype ?? step.source ?? '?'} on ${step.target}${flags & MS.RDONLY ? ' read-only' : ''}`;
}
