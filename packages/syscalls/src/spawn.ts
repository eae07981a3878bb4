// spawn(): the container's first process, created by clone(2) in C++ (native/child.cc)
// from a plan prepared here. See that file for the order the child runs its steps in.
import { closeSync, writeFileSync } from 'node:fs';
import { native, type NativeFsStep, type NativePlan } from './binding.js';
import { CAPABILITIES, CLONE_NEW, RLIMITS, type Capability, type Namespace, type RlimitType } from './constants.js';
import { syscallError, type SyscallError } from './errors.js';

/**
 * One step of the filesystem list, run in order in the child's new mount namespace,
 * before pivot_root. Every `target` is a path inside the plan's `root` (or `/` without
 * one), resolved there: a symlink in the root never takes a step outside it.
 */
export type MountStep =
  | {
    op: 'mount'; source?: string; target: string; fstype?: string; flags?: number; data?: string;
    /** Skip the step when the target does not exist (masked paths). */
    optional?: boolean;
    /** The source is a path inside the root too (a bind of one of its own paths). */
    sourceInRoot?: boolean;
    /** A remount keeps the flags the mount has now (nosuid, nodev, noexec...). */
    keepFlags?: boolean;
  }
  | { op: 'mkdir'; target: string; mode?: number }
  | { op: 'mkfile'; target: string; mode?: number }
  | { op: 'symlink'; source: string; target: string }
  | { op: 'mknod'; target: string; type: 'char' | 'block' | 'fifo'; major?: number; minor?: number; mode?: number; uid?: number; gid?: number }
  | { op: 'write'; target: string; data: string; optional?: boolean }
  /** Hides target: a read-only, empty tmpfs over a directory, /dev/null over a file. */
  | { op: 'mask'; target: string; optional?: boolean };

/** Capability sets by name (capabilities(7)); a set left out is empty. */
export interface CapabilitySets {
  bounding?: Capability[];
  effective?: Capability[];
  permitted?: Capability[];
  inheritable?: Capability[];
  ambient?: Capability[];
}

export interface Rlimit {
  type: RlimitType;
  soft: number | bigint;
  hard: number | bigint;
}

export interface SpawnPlan {
  /** The command; argv[0] is searched in the PATH of `env` unless it holds a slash. */
  argv: string[];
  /** The exact environment of the command, as KEY=VALUE strings. */
  env: string[];
  /** Namespaces to create (clone(2)). A new cgroup namespace is made once inside `cgroupProcs`. */
  create?: Namespace[];
  /** Namespaces to join, by path (setns(2)): /proc/PID/ns/net, /run/netns/NAME. */
  join?: { type: Namespace; path: string }[];
  /**
   * After joining a PID namespace (which takes a fork): let the middle process exit, so
   * the command's parent becomes the caller's subreaper (OCI runtimes). Its pid comes
   * back as `child.pid`. By default the middle process relays signals and the status.
   */
  detachAfterFork?: boolean;
  /** cgroup.procs files the child writes itself into before anything else runs. */
  cgroupProcs?: string[];
  /** With a new user namespace: its maps (container ID -> host ID, for `size` IDs). */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  hostname?: string;
  domainname?: string;
  /** /proc/self/oom_score_adj (-1000 to 1000). */
  oomScoreAdj?: number;
  /** Run after `/` is made private (when a mount namespace is created or joined). */
  mounts?: MountStep[];
  /** pivot_root(2) into this directory and detach the old root. */
  root?: string;
  /** Move the root over `/` and chroot(2) instead of pivot_root (a root on ramfs). */
  noPivot?: boolean;
  /**
   * chroot(2) into the root and nothing more: for a container that shares the host's mount
   * namespace (an OCI config may ask it), where a pivot or a move would change the host's.
   */
  chrootOnly?: boolean;
  /** Propagation flags (MS_SHARED, MS_SLAVE | MS_REC...) for `/` once pivoted into (OCI rootfsPropagation). */
  rootPropagation?: number;
  cwd?: string;
  /** A unix socket to send a new pty's master to (OCI --console-socket). */
  consoleSocket?: string;
  /**
   * Or one end of a socketpair() the caller keeps the other end of: the child opens a pty
   * in the container, takes its other end as its terminal, and sends the master here.
   */
  consoleFd?: number;
  consoleSize?: { rows: number; cols: number };
  /** Join a new anonymous session keyring (keyctl(2)): the caller's keys stay out. */
  newKeyring?: boolean;
  rlimits?: Rlimit[];
  uid?: number;
  gid?: number;
  /** Supplementary groups (set with uid/gid). */
  groups?: number[];
  umask?: number;
  /** Capability sets; without them the command keeps the caller's. */
  capabilities?: CapabilitySets;
  /** prctl(PR_SET_NO_NEW_PRIVS): execve can never grant privileges (setuid, file caps). */
  noNewPrivileges?: boolean;
  /** A compiled seccomp filter (compileSeccomp), loaded by the child with seccomp(2). */
  seccomp?: { program: Buffer; flags?: number };
  /** Descriptors above 2 the command inherits; every other one is closed at execve. */
  keepFds?: number[];
  /** File descriptors to put on 0, 1, 2; null inherits. */
  stdio?: [number | null, number | null, number | null];
  /** Start a new session (setsid(2)): for detached containers. */
  setsid?: boolean;
  /** Own process group, made the terminal's foreground group (stdin must be a terminal). */
  foreground?: boolean;
  /** Wait for one byte on this FIFO before execve (OCI create/start). */
  startFifo?: string;
  /** Hold the child before its first step until `release()`: act on its pid first. */
  hold?: boolean;
  /**
   * A program that supervises the container's process (diyc-shim): the process clone()
   * makes first clones the container's, then execs `argv` with `--pid PID` added, keeping
   * `keepFds` (the read ends of the container's output) and the container as its child.
   * Its pid is the Child's `supervisorPid`; `exited` is its end, not the container's.
   */
  supervisor?: { argv: string[]; keepFds: number[] };
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
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
  'setgid', 'setuid', 'stdio', 'setsid', 'terminal', 'execve', 'resolve', 'write', 'oom_score_adj',
  'console', 'keyring', 'rlimit', 'capabilities', 'no_new_privs', 'seccomp', 'close_fds',
  'start_fifo', 'umask', 'dumpable', 'supervisor',
] as const;
export type ChildStep = (typeof CHILD_STEPS)[number];

// The rest of the wire, as child.h has it (test/wire.test.ts reads child.h and compares).
/** The child's messages that are not failures (`enum Message`). */
export const MESSAGES = { pid: -1, sync_before_pivot: -2, ready: -3 } as const;
/** The filesystem operations (`enum FsOp`) and their option bits (`enum FsOpt`). */
export const FS_OPS = { mount: 0, mkdir: 1, mkfile: 2, symlink: 3, mknod: 4, write: 5, mask: 6 } as const;
export const FS_OPTIONS = { optional: 1, source_in_root: 2, keep_flags: 4 } as const;
const MSG_PID = MESSAGES.pid;
const MSG_SYNC_BEFORE_PIVOT = MESSAGES.sync_before_pivot;
const MSG_READY = MESSAGES.ready;
const FS_OPTIONAL = FS_OPTIONS.optional;
const FS_SOURCE_IN_ROOT = FS_OPTIONS.source_in_root;
const FS_KEEP_FLAGS = FS_OPTIONS.keep_flags;
const S_IF = { char: 0o020000, block: 0o060000, fifo: 0o010000 } as const;

/** What release() stopped at: the command exec'd, or it waits on the start FIFO. */
export type Released = 'exec' | 'ready';

/** A running child. Its exit is watched from the start, without blocking the event loop. */
export class Child {
  #pid: number;
  /** With a supervisor: its pid (the process clone() made, which exec'd it). */
  readonly supervisorPid: number | undefined;
  /** Settles once, when the child ends (exit code, or the signal that killed it). */
  readonly exited: Promise<ExitStatus>;
  #holdFd: number;
  #errorFd: number;
  #plan: SpawnPlan;

  constructor(plan: SpawnPlan, pid: number, pidfd: number, holdFd: number, errorFd: number) {
    this.#pid = pid;
    this.supervisorPid = plan.supervisor ? pid : undefined;
    this.#plan = plan;
    this.#holdFd = holdFd;
    this.#errorFd = errorFd;
    this.exited = new Promise((resolve) => {
      native().watchExit(pid, pidfd, (code, signal) => resolve({ code, signal }));
    });
  }

  /** The process that runs (or will run) the command, in the caller's PID namespace. */
  get pid(): number {
    return this.#pid;
  }

  /**
   * Lets a held child run its plan; resolves once it has exec'd the command, or (with a
   * start FIFO) once it waits there. `beforePivot` runs while the child waits between its
   * mounts and pivot_root (hooks, which may take their time). Rejects with the
   * SyscallError of the step that failed (the child has then exited).
   */
  async release(options: { beforePivot?: () => void | Promise<void> } = {}): Promise<Released> {
    if (this.#errorFd < 0) return 'exec';
    try {
      this.#go(this.#plan.hold === true);
      for (;;) {
        const next = this.#next();
        if (next !== 'sync') return next;
        await options.beforePivot?.();
        this.#go(true);
      }
    } finally {
      this.#close();
    }
  }

  /** What release() does, for a child that was never held (spawn() waits for its exec). */
  releaseNow(): void {
    if (this.#errorFd < 0) return;
    try {
      this.#next();
    } finally {
      this.#close();
    }
  }

  #go(when: boolean): void {
    if (when && this.#holdFd >= 0) native().go(this.#holdFd);
  }

  /** Reads the child's messages up to the next that needs an answer: exec'd, ready, or at its sync point. */
  #next(): Released | 'sync' {
    for (;;) {
      const message = native().readMessage(this.#errorFd);
      if (message === null) return 'exec';
      const [step, index, errno] = message;
      if (step === MSG_PID) this.#pid = index;
      else if (step === MSG_SYNC_BEFORE_PIVOT) return 'sync';
      else if (step === MSG_READY) return 'ready';
      else throw stepError(this.#plan, step, index, errno);
    }
  }

  /** Lets a held child go without running anything: it exits with status 127. */
  abandon(): void {
    this.#close();
  }

  #close(): void {
    for (const fd of [this.#holdFd, this.#errorFd]) if (fd >= 0) closeSync(fd);
    this.#holdFd = this.#errorFd = -1;
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    try {
      process.kill(this.#pid, signal);
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
  return start(plan, false);
}

/** Spawns with a pause between the child's mounts and its pivot_root (for hooks). */
export function spawnWithSync(plan: SpawnPlan): Child {
  return start({ ...plan, hold: true }, true);
}

/** True when the child makes a user namespace: the parent sets it up while it is held. */
const makesUserNamespace = (plan: SpawnPlan): boolean => (plan.create ?? []).includes('user');

function start(plan: SpawnPlan, syncBeforePivot: boolean): Child {
  const parentSetup = makesUserNamespace(plan);
  const nativePlan = toNativePlan({ ...plan, hold: plan.hold === true || parentSetup });
  nativePlan.syncBeforePivot = syncBeforePivot;
  const { pid, pidfd, holdFd, errorFd } = native().spawn(nativePlan);
  const child = new Child({ ...plan, hold: nativePlan.hold }, pid, pidfd, holdFd, errorFd);
  if (parentSetup) {
    try {
      setUpUserNamespace(plan, pid);
    } catch (err) {
      child.abandon();
      child.kill('SIGKILL');
      throw err;
    }
  }
  if (!plan.hold) child.releaseNow();
  return child;
}

/**
 * What a child in a new user namespace cannot do for itself, done by the parent while it
 * is held: its uid and gid maps (user_namespaces(7)), joining its cgroups (the files are
 * the host's), and its OOM score (lowering one needs the host's CAP_SYS_RESOURCE).
 */
function setUpUserNamespace(plan: SpawnPlan, pid: number): void {
  const write = (file: string, text: string, step: string): void => {
    try {
      writeFileSync(file, text);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw syscallError(-(e.errno ?? -5), 'write', file, step);
    }
  };
  for (const file of plan.cgroupProcs ?? []) write(file, String(pid), 'cgroup');
  if (plan.oomScoreAdj !== undefined) write(`/proc/${pid}/oom_score_adj`, String(plan.oomScoreAdj), 'oom_score_adj');
  const map = (m: IdMapping[]): string => m.map((e) => `${e.containerID} ${e.hostID} ${e.size}\n`).join('');
  if (plan.gidMappings?.length) write(`/proc/${pid}/gid_map`, map(plan.gidMappings), 'gid_map');
  if (plan.uidMappings?.length) write(`/proc/${pid}/uid_map`, map(plan.uidMappings), 'uid_map');
}

function capabilityMask(names: readonly string[] = []): bigint {
  let mask = 0n;
  for (const name of names) {
    const bit = CAPABILITIES.indexOf(name as Capability);
    if (bit < 0) throw new TypeError(`unknown capability ${name}`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

export function toNativePlan(plan: SpawnPlan): NativePlan {
  if (plan.argv.length === 0) throw new TypeError('spawn: argv must not be empty');
  const create = new Set(plan.create ?? []);
  // A user namespace is joined first: the others are then joined as its root.
  const joins = [...(plan.join ?? [])].sort((a, b) => Number(b.type === 'user') - Number(a.type === 'user'));
  const userns = create.has('user') || joins.some((j) => j.type === 'user');
  if (create.has('user') && joins.some((j) => j.type !== 'user')) {
    throw new TypeError('spawn: joining namespaces from a new user namespace is not supported (they belong to the host\'s)');
  }
  let cloneFlags = 0;
  // A cgroup namespace is made after entering the cgroup, so that the cgroup is its root.
  for (const ns of create) if (ns !== 'cgroup') cloneFlags |= CLONE_NEW[ns];
  const native: NativePlan = {
    cloneFlags,
    joins: joins.map((j) => ({ path: j.path, nstype: CLONE_NEW[j.type] })),
    detachAfterFork: plan.detachAfterFork ?? false,
    usernsRoot: userns,
    // In a new user namespace the parent joins the cgroups for the child (setUpUserNamespace).
    cgroupProcs: create.has('user') ? [] : plan.cgroupProcs ?? [],
    newCgroupns: create.has('cgroup'),
    makeRootPrivate: create.has('mount'),
    noPivot: plan.noPivot ?? false,
    chrootOnly: plan.chrootOnly ?? false,
    fs: (plan.mounts ?? []).map(toNativeStep),
    syncBeforePivot: false,
    newKeyring: plan.newKeyring ?? false,
    rlimits: (plan.rlimits ?? []).map((r) => {
      const resource = RLIMITS.indexOf(r.type);
      if (resource < 0) throw new TypeError(`unknown rlimit ${r.type}`);
      return { resource, soft: BigInt(r.soft), hard: BigInt(r.hard) };
    }),
    groups: plan.groups ?? [],
    noNewPrivileges: plan.noNewPrivileges ?? false,
    keepFds: plan.keepFds ?? [],
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
  if (plan.oomScoreAdj !== undefined && !create.has('user')) native.oomScoreAdj = plan.oomScoreAdj;
  if (plan.root !== undefined) native.root = plan.root;
  if (plan.cwd !== undefined) native.cwd = plan.cwd;
  if (plan.consoleSocket !== undefined) native.consoleSocket = plan.consoleSocket;
  if (plan.consoleFd !== undefined) native.consoleFd = plan.consoleFd;
  if (plan.consoleSize) {
    native.consoleRows = plan.consoleSize.rows;
    native.consoleCols = plan.consoleSize.cols;
  }
  if (plan.uid !== undefined) native.uid = plan.uid;
  if (plan.gid !== undefined) native.gid = plan.gid;
  if (plan.umask !== undefined) native.umask = plan.umask;
  if (plan.capabilities) {
    const c = plan.capabilities;
    native.capabilities = {
      bounding: capabilityMask(c.bounding), effective: capabilityMask(c.effective), permitted: capabilityMask(c.permitted),
      inheritable: capabilityMask(c.inheritable), ambient: capabilityMask(c.ambient),
    };
  }
  if (plan.seccomp) {
    native.seccomp = plan.seccomp.program;
    native.seccompFlags = plan.seccomp.flags ?? 0;
  }
  if (plan.startFifo !== undefined) native.startFifo = plan.startFifo;
  if (plan.supervisor) {
    if (plan.supervisor.argv.length === 0) throw new TypeError('spawn: the supervisor\'s argv must not be empty');
    native.supervisorArgv = plan.supervisor.argv;
    native.supervisorFds = plan.supervisor.keepFds;
  }
  if (plan.rootPropagation !== undefined) native.rootPropagation = plan.rootPropagation;
  return native;
}

function toNativeStep(step: MountStep): NativeFsStep {
  switch (step.op) {
    case 'mount': {
      const opts = (step.optional ? FS_OPTIONAL : 0) | (step.sourceInRoot ? FS_SOURCE_IN_ROOT : 0) | (step.keepFlags ? FS_KEEP_FLAGS : 0);
      const out: NativeFsStep = { op: FS_OPS.mount, opts, target: step.target, flags: step.flags ?? 0 };
      if (step.source !== undefined) out.source = step.source;
      if (step.fstype !== undefined) out.fstype = step.fstype;
      if (step.data !== undefined) out.data = step.data;
      return out;
    }
    case 'mkdir':
      return { op: FS_OPS.mkdir, opts: 0, target: step.target, mode: step.mode ?? 0o755 };
    case 'mkfile':
      return { op: FS_OPS.mkfile, opts: 0, target: step.target, mode: step.mode ?? 0o644 };
    case 'symlink':
      return { op: FS_OPS.symlink, opts: 0, source: step.source, target: step.target };
    case 'mknod': {
      const out: NativeFsStep = {
        op: FS_OPS.mknod, opts: 0, target: step.target, mode: S_IF[step.type] | ((step.mode ?? 0o666) & 0o7777),
        major: step.major ?? 0, minor: step.minor ?? 0,
      };
      if (step.uid !== undefined) out.uid = step.uid;
      if (step.gid !== undefined) out.gid = step.gid;
      return out;
    }
    case 'write':
      return { op: FS_OPS.write, opts: step.optional ? FS_OPTIONAL : 0, target: step.target, data: step.data };
    case 'mask':
      return { op: FS_OPS.mask, opts: step.optional ? FS_OPTIONAL : 0, target: step.target };
  }
}

/** Turns the child's {step, index, errno} record into an Error that names what failed. */
function stepError(plan: SpawnPlan, stepIndex: number, index: number, errno: number): SyscallError {
  const step: ChildStep = CHILD_STEPS[stepIndex] ?? 'execve';
  const fsTarget = (): string | undefined => plan.mounts?.[index]?.target;
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
    case 'write':
      return syscallError(errno, step, fsTarget(), step);
    case 'resolve':
      return syscallError(errno, 'openat2', fsTarget(), step);
    case 'pivot_root':
      return syscallError(errno, 'pivot_root', plan.root, step);
    case 'chdir':
      return syscallError(errno, 'chdir', plan.cwd ?? plan.root, step);
    case 'execve':
      return syscallError(errno, 'execve', plan.argv[0], step);
    case 'supervisor':
      return syscallError(errno, index === 0 ? 'clone' : 'execve', plan.supervisor?.argv[0], step);
    case 'sethostname':
      return syscallError(errno, step, plan.hostname, step);
    case 'setdomainname':
      return syscallError(errno, step, plan.domainname, step);
    case 'make_private':
      return syscallError(errno, 'mount', '/', step);
    case 'rlimit':
      return syscallError(errno, 'prlimit64', plan.rlimits?.[index]?.type, step);
    case 'capabilities':
      return syscallError(errno, 'capset', index >= 0 ? CAPABILITIES[index] : undefined, step);
    case 'console':
      return syscallError(errno, 'console', plan.consoleSocket ?? (plan.consoleFd !== undefined ? '/dev/ptmx' : undefined), step);
    case 'start_fifo':
      return syscallError(errno, 'open', plan.startFifo, step);
    default:
      return syscallError(errno, step, undefined, step);
  }
}
