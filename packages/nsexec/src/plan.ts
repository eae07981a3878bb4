// planFromRecord(): a container record, turned into the plan the native child runs.
// All policy lives here; @diyc/syscalls only carries it out.
import { ANNOTATION, DiycError, type ContainerRecord } from '@diyc/record';
import type { Trace } from '@diyc/record';
import type { Namespace, SpawnPlan } from '@diyc/syscalls';
import { fsSteps, hasOwnNamespace, rootPropagation } from './plan-fs.js';
import { processPlan, seccompPlan } from './plan-process.js';
import type { StdioProxy } from './stdio.js';

export interface PlanOptions {
  /** Make the command the terminal's foreground process group (stdin is a terminal). */
  foreground?: boolean;
  stdio?: [number | null, number | null, number | null];
  setsid?: boolean;
  /** The container's own pty, or pipes in place of the user's terminal (stdio.ts). */
  stdioProxy?: StdioProxy;
  /** A program that supervises the container's process in place of this one (diyc-shim). */
  supervisor?: SpawnPlan['supervisor'];
  hold?: boolean;
  /** Join a new session keyring: a runtime's containers do, a bare nsexec does not. */
  newKeyring?: boolean;
  /** After joining a PID namespace, leave the command to the caller's subreaper (OCI). */
  detachAfterFork?: boolean;
  /** Wait on this FIFO before execve (OCI create/start). */
  startFifo?: string;
  /** Send a pty's master to this unix socket (OCI --console-socket). */
  consoleSocket?: string;
  /** Descriptors above 2 the command inherits (LISTEN_FDS style); all others close. */
  keepFds?: number[];
  /** chroot instead of pivot_root (a root on ramfs). */
  noPivot?: boolean;
  /** Relative bind sources are relative to this (an OCI bundle). */
  base?: string;
  /** Where -v traces go (seccomp names left out). */
  trace?: Trace;
  /** Where compiled seccomp filters are cached (the state root's run/seccomp). */
  seccompCache?: string;
  /**
   * A container without a mount namespace of its own (OCI allows it): its mounts are made
   * in the host's, and it is chroot'ed, not pivoted. diyc-run never asks for this.
   */
  allowHostMountNamespace?: boolean;
}

const SUPPORTED: readonly string[] = ['mount', 'uts', 'ipc', 'pid', 'network', 'cgroup', 'user'];

/**
 * The spawn plan for a record: which namespaces to create and join, the cgroup to
 * enter, the filesystem steps, the root to pivot into, and the process with its user,
 * capabilities, rlimits and seccomp filter.
 */
export function planFromRecord(record: ContainerRecord, options: PlanOptions = {}): SpawnPlan {
  const { linux } = record;
  const create: Namespace[] = [];
  const join: { type: Namespace; path: string }[] = [];
  for (const ns of linux.namespaces) {
    if (!SUPPORTED.includes(ns.type)) throw new DiycError('invalid', `linux.namespaces: ${ns.type} namespaces are not supported by diyc`);
    if (ns.path === undefined) create.push(ns.type as Namespace);
    else join.push({ type: ns.type as Namespace, path: ns.path });
  }
  const root = record.root?.path;
  const mounts = fsSteps(record, options.base !== undefined ? { base: options.base } : {});
  // Joining the host's own mount namespace by path is no mount namespace at all: a
  // pivot_root there would move the root of every process on the host.
  const hostMountNs = !hasOwnNamespace(record, 'mount');
  if ((root !== undefined || mounts.length > 0) && hostMountNs && !options.allowHostMountNamespace) {
    throw new DiycError('invalid', 'mounts and root.path need a mount namespace: add {"type": "mount"} to linux.namespaces');
  }
  const makesUser = linux.namespaces.some((ns) => ns.type === 'user' && ns.path === undefined);
  if (makesUser && !(linux.uidMappings?.length && linux.gidMappings?.length)) {
    throw new DiycError('invalid', 'a new user namespace needs linux.uidMappings and linux.gidMappings');
  }
  if ((record.hostname !== undefined || record.domainname !== undefined) && !hasOwnNamespace(record, 'uts')) {
    throw new DiycError('invalid', 'a hostname needs a UTS namespace, or it would rename the host: add {"type": "uts"}');
  }
  const plan: SpawnPlan = { ...processPlan(record.process), create, join, mounts };
  const seccomp = seccompPlan(linux.seccomp, {
    ...(options.trace ? { trace: options.trace } : {}),
    ...(options.seccompCache !== undefined ? { cacheDir: options.seccompCache } : {}),
  });
  if (seccomp) plan.seccomp = seccomp;
  const procs = record.annotations[ANNOTATION.cgroupProcs];
  if (procs) plan.cgroupProcs = procs.split(':').filter((p) => p.length > 0);
  if (record.hostname !== undefined) plan.hostname = record.hostname;
  if (record.domainname !== undefined) plan.domainname = record.domainname;
  if (root !== undefined) plan.root = root;
  if (root !== undefined && hostMountNs) plan.chrootOnly = true;
  const propagation = rootPropagation(record);
  if (propagation !== undefined) plan.rootPropagation = propagation;
  if (makesUser) {
    plan.uidMappings = linux.uidMappings ?? [];
    plan.gidMappings = linux.gidMappings ?? [];
  }
  if (options.foreground) plan.foreground = true;
  if (options.stdio) plan.stdio = options.stdio;
  if (options.setsid) plan.setsid = true;
  if (options.hold) plan.hold = true;
  if (options.newKeyring) plan.newKeyring = true;
  if (options.detachAfterFork) plan.detachAfterFork = true;
  if (options.startFifo !== undefined) {
    plan.startFifo = options.startFifo;
    // startContainer hooks run in the container's process once `start` opens the FIFO,
    // after its seccomp filter and right before its execve (runc's order).
    const hooks = record.hooks?.startContainer ?? [];
    if (hooks.length > 0) {
      plan.startHooks = hooks.map((h) => ({
        path: h.path,
        ...(h.args ? { args: h.args } : {}),
        ...(h.env ? { env: h.env } : {}),
        ...(h.timeout !== undefined ? { timeout: h.timeout } : {}),
      }));
    }
  }
  if (options.consoleSocket !== undefined) {
    plan.consoleSocket = options.consoleSocket;
    const size = record.process.consoleSize;
    if (size) plan.consoleSize = { rows: size.height, cols: size.width };
  }
  if (options.keepFds) plan.keepFds = options.keepFds;
  if (options.stdioProxy) Object.assign(plan, options.stdioProxy.plan());
  if (options.supervisor) plan.supervisor = options.supervisor;
  if (options.noPivot) plan.noPivot = true;
  return plan;
}
