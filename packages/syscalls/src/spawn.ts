// spawn(): the container's first process, created by clone(2) in C++ (native/child.cc)
// from a plan prepared here. See that file for the order the child runs its steps in.
import { native, type NativeMountStep, type NativePlan } from './binding.js';
import { CLONE_NEW, type Namespace } from './constants.js';
import { syscallError, type SyscallError } from './errors.js';

/** One step of the mount list, run in order in the child's new mount namespace. */
export type MountStep =
  | { op: 'mount'; source?: string; target: string; fstype?: string; flags?: number; data?: string }
  | { op: 'mkdir'; target: string; mode?: number }
  | { op: 'symlink'; source: string; target: string }
  | { op: 'mknod'; target: string; type: 'char' | 'block' | 'fifo'; major?: number; minor?: number; mode?: number };

export interface SpawnPlan {
  /** The command; argv[0] is searched in the PATH of `env` unless it holds a slash. */
  argv: string[];
  /** The exact environment of the command, as KEY=VALUE strings. */
  env: string[];
  /** Namespaces to create (clone(2)). A new cgroup namespace is made once inside `cgroupProcs`. */
  create?: Namespace[];
  /** Namespaces to join, by path (setns(2)): /proc/PID/ns/net, /run/netns/NAME. */
  join?: { type: Namespace; path: string }[];
  /** cgroup.procs files the child writes itself into before anything else runs. */
  cgroupProcs?: string[];
  hostname?: string;
  domainname?: string;
  /** Run after `/` is made private (when a mount namespace is created or joined). */
  mounts?: MountStep[];
  /** pivot_root(2) into this directory and detach the old root. */
  root?: string;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** File descriptors to put on 0, 1, 2; null inherits. */
  stdio?: [number | null, number | null, number | null];
  /** Start a new session (setsid(2)): for detached containers. */
  setsid?: boolean;
  /** Own process group, made the terminal's foreground group (stdin must be a terminal). */
  foreground?: boolean;
  /** Hold the child before its first step until `release()`: act on its pid first. */
  hold?: boolean;
}

export interface ExitStatus {
  /** The exit code, or null when a signal ended it. */
  code: number | null;
  /** The number of the signal that ended it, or null. */
  signal: number | null;
}

/** The names of the child's steps, in the order of `enum Step` in native/child.h. */
export const CHILD_STEPS = [
  'hold', 'open_ns', 'setns', 'fork', 'cgroup', 'unshare', 'sethostname', 'setdomainname',
  'make_private', 'mount', 'mkdir', 'symlink', 'mknod', 'pivot_root', 'chdir', 'setgroups',
  'setgid', 'setuid', 'stdio', 'setsid', 'terminal', 'execve',
] as const;
export type ChildStep = (typeof CHILD_STEPS)[number];

const MOUNT_OPS = { mount: 0, mkdir: 1, symlink: 2, mknod: 3 } as const;
const S_IF = { char: 0o020000, block: 0o060000, fifo: 0o010000 } as const;

/** A running child. Its exit is watched from the start, without blocking the event loop. */
export class Child {
  readonly pid: number;
  /** Settles once, when the child ends (exit code, or the signal that killed it). */
  readonly exited: Promise<ExitStatus>;
  #holdFd: number;
  #errorFd: number;
  #plan: SpawnPlan;

  constructor(plan: SpawnPlan, pid: number, pidfd: number, holdFd: number, errorFd: number) {
    this.pid = pid;
    this.#plan = plan;
    this.#holdFd = holdFd;
    this.#errorFd = errorFd;
    this.exited = new Promise((resolve) => {
      native.watchExit(pid, pidfd, (code, signal) => resolve({ code, signal }));
    });
  }

  /**
   * Lets a held child run its plan, and returns once it has exec'd the command.
   * Throws the SyscallError of the step that failed (the child has then exited).
   */
  release(): void {
    if (this.#errorFd < 0) return;
    const failure = native.release(this.#holdFd, this.#errorFd);
    this.#holdFd = this.#errorFd = -1;
    if (failure) throw stepError(this.#plan, ...failure);
  }

  /** Lets a held child go without running anything: it exits with status 127. */
  abandon(): void {
    if (this.#errorFd < 0) return;
    native.abandon(this.#holdFd, this.#errorFd);
    this.#holdFd = this.#errorFd = -1;
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * clone(2)s a child that runs `plan` and execs its command. Unless `plan.hold`, returns
 * after the exec succeeded; a step that failed throws a SyscallError naming the step,
 * the system call and the path (the command's path for execve).
 */
export function spawn(plan: SpawnPlan): Child {
  const { pid, pidfd, holdFd, errorFd } = native.spawn(toNativePlan(plan));
  const child = new Child(plan, pid, pidfd, holdFd, errorFd);
  if (!plan.hold) child.release();
  return child;
}

export function toNativePlan(plan: SpawnPlan): NativePlan {
  if (plan.argv.length === 0) throw new TypeError('spawn: argv must not be empty');
  const create = new Set(plan.create ?? []);
  const joins = plan.join ?? [];
  let cloneFlags = 0;
  // A cgroup namespace is made after entering the cgroup, so that the cgroup is its root.
  for (const ns of create) if (ns !== 'cgroup') cloneFlags |= CLONE_NEW[ns];
  const native: NativePlan = {
    cloneFlags,
    joins: joins.map((j) => ({ path: j.path, nstype: CLONE_NEW[j.type] })),
    cgroupProcs: plan.cgroupProcs ?? [],
    newCgroupns: create.has('cgroup'),
    makeRootPrivate: create.has('mount'),
    mounts: (plan.mounts ?? []).map(toNativeMount),
    argv: plan.argv,
    env: plan.env,
    stdio: plan.stdio ?? [null, null, null],
    setsid: plan.setsid ?? false,
    foreground: plan.foreground ?? false,
    hold: plan.hold ?? false,
  };
  const path = plan.env.find((e) => e.startsWith('PATH='));
  if (path !== undefined) native.path = path.slice(5);
  if (plan.hostname !== undefined) native.hostname = plan.hostname;
  if (plan.domainname !== undefined) native.domainname = plan.domainname;
  if (plan.root !== undefined) native.root = plan.root;
  if (plan.cwd !== undefined) native.cwd = plan.cwd;
  if (plan.uid !== undefined) native.uid = plan.uid;
  if (plan.gid !== undefined) native.gid = plan.gid;
  return native;
}

function toNativeMount(step: MountStep): NativeMountStep {
  switch (step.op) {
    case 'mount':
      return { ...step, op: MOUNT_OPS.mount };
    case 'mkdir':
      return { op: MOUNT_OPS.mkdir, target: step.target, mode: step.mode ?? 0o755 };
    case 'symlink':
      return { op: MOUNT_OPS.symlink, source: step.source, target: step.target };
    case 'mknod':
      return {
        op: MOUNT_OPS.mknod, target: step.target, mode: S_IF[step.type] | (step.mode ?? 0o666),
        major: step.major ?? 0, minor: step.minor ?? 0,
      };
  }
}

/** Turns the child's {step, index, errno} record into an Error that names what failed. */
function stepError(plan: SpawnPlan, stepIndex: number, index: number, errno: number): SyscallError {
  const step: ChildStep = CHILD_STEPS[stepIndex] ?? 'execve';
  switch (step) {
    case 'open_ns':
    case 'setns':
      return syscallError(errno, step === 'open_ns' ? 'open' : 'setns', plan.join?.[index]?.path, step);
    case 'cgroup':
      return syscallError(errno, 'write', plan.cgroupProcs?.[index], step);
    case 'mount':
    case 'mkdir':
    case 'symlink':
    case 'mknod':
      return syscallError(errno, step, plan.mounts?.[index]?.target, step);
    case 'pivot_root':
      return syscallError(errno, 'pivot_root', plan.root, step);
    case 'chdir':
      return syscallError(errno, 'chdir', plan.cwd ?? plan.root, step);
    case 'execve':
      return syscallError(errno, 'execve', plan.argv[0], step);
    case 'sethostname':
      return syscallError(errno, step, plan.hostname, step);
    case 'setdomainname':
      return syscallError(errno, step, plan.domainname, step);
    case 'make_private':
      return syscallError(errno, 'mount', '/', step);
    default:
      return syscallError(errno, step, undefined, step);
  }
}
