// planFromRecord(): a container record, turned into the plan the native child runs.
// All policy lives here; @diyc/syscalls only carries it out.
import { join } from 'node:path';
import { ANNOTATION, RecordError, type ContainerRecord, type RecordDevice, type RecordMount } from '@diyc/record';
import { MS, type MountStep, type Namespace, type SpawnPlan } from '@diyc/syscalls';
import { DEV_SYMLINKS } from './container-mounts.js';
import { parseMountOptions } from './mount-options.js';

export interface PlanOptions {
  /** Make the command the terminal's foreground process group (stdin is a terminal). */
  foreground?: boolean;
  stdio?: [number | null, number | null, number | null];
  setsid?: boolean;
  hold?: boolean;
}

function mountSteps(mount: RecordMount, root: string): MountStep[] {
  const target = join(root, mount.destination);
  const { flags, propagation, data } = parseMountOptions(mount.options);
  const steps: MountStep[] = [];
  if (mount.destination !== '/') steps.push({ op: 'mkdir', target, mode: 0o755 });
  const base: MountStep = { op: 'mount', target, flags };
  if (mount.source !== undefined) base.source = mount.source;
  if (mount.type !== undefined && (flags & MS.BIND) === 0) base.fstype = mount.type;
  if (data !== undefined) base.data = data;
  steps.push(base);
  // A bind mount ignores every flag but MS_REC on its first call: read-only and the
  // others take a remount (mount(2), "Creating a bind mount").
  const remountable = flags & ~(MS.BIND | MS.REC);
  if ((flags & MS.BIND) !== 0 && remountable !== 0) {
    steps.push({ op: 'mount', target, flags: MS.REMOUNT | MS.BIND | remountable });
  }
  if (propagation !== 0) steps.push({ op: 'mount', target, flags: propagation });
  return steps;
}

function deviceSteps(devices: readonly RecordDevice[], root: string): MountStep[] {
  return devices.map((d) => ({
    op: 'mknod' as const,
    target: join(root, d.path),
    type: d.type === 'c' ? 'char' as const : d.type === 'b' ? 'block' as const : 'fifo' as const,
    major: d.major ?? 0,
    minor: d.minor ?? 0,
    mode: d.fileMode ?? 0o666,
  }));
}

/**
 * The spawn plan for a record: which namespaces to create and join, the cgroup to
 * enter, the mounts (with a tmpfs /dev filled with the record's devices and the
 * standard links), the root to pivot into, the user, and the command.
 */
export function planFromRecord(record: ContainerRecord, options: PlanOptions = {}): SpawnPlan {
  const { process: proc, linux } = record;
  if (proc.args.length === 0) throw new RecordError('the record has no command (process.args is empty)');
  const create: Namespace[] = [];
  const join_: { type: Namespace; path: string }[] = [];
  for (const ns of linux.namespaces) {
    if (ns.path === undefined) create.push(ns.type);
    else join_.push({ type: ns.type, path: ns.path });
  }
  const hasNs = (type: Namespace): boolean => linux.namespaces.some((ns) => ns.type === type);
  const root = record.root?.path;
  if ((root !== undefined || record.mounts.length > 0) && !hasNs('mount')) {
    throw new RecordError('mounts and root.path need a mount namespace: add {"type": "mount"} to linux.namespaces');
  }
  if ((record.hostname !== undefined || record.domainname !== undefined) && !hasNs('uts')) {
    throw new RecordError('a hostname needs a UTS namespace, or it would rename the host: add {"type": "uts"}');
  }

  const mounts: MountStep[] = [];
  const mountRoot = root ?? '/';
  for (const mount of record.mounts) {
    mounts.push(...mountSteps(mount, mountRoot));
    if (mount.destination === '/dev' && mount.type === 'tmpfs') {
      mounts.push(...deviceSteps(linux.devices ?? [], mountRoot));
      for (const [target, path] of DEV_SYMLINKS) mounts.push({ op: 'symlink', source: target, target: join(mountRoot, path) });
    }
  }

  const plan: SpawnPlan = {
    argv: proc.args,
    env: proc.env,
    create,
    join: join_,
    mounts,
    cwd: proc.cwd,
  };
  const procs = record.annotations[ANNOTATION.cgroupProcs];
  if (procs) plan.cgroupProcs = procs.split(':').filter((p) => p.length > 0);
  if (record.hostname !== undefined) plan.hostname = record.hostname;
  if (record.domainname !== undefined) plan.domainname = record.domainname;
  if (root !== undefined) plan.root = root;
  if (proc.user) {
    plan.uid = proc.user.uid;
    plan.gid = proc.user.gid;
  }
  if (options.foreground) plan.foreground = true;
  if (options.stdio) plan.stdio = options.stdio;
  if (options.setsid) plan.setsid = true;
  if (options.hold) plan.hold = true;
  return plan;
}
