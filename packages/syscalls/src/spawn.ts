// spawn(): the container's first process, created by clone(2) in C++ (native/child.cc)
// from a plan prepared here. See that file for the order the child runs its steps in.
import { closeSync, constants as fsConstants, openSync, readFileSync, writeFileSync } from 'node:fs';
import { native, type NativeFsStep, type NativePlan } from './binding.js';
import { CAPABILITIES, CLONE_NEW, RLIMITS, type Capability, type Namespace, type RlimitType } from './constants.js';
import { isSyscallError, syscallError, type SyscallError } from './errors.js';
import { hostKernelMounts } from './host-mounts.js';

/**
 * One step of the filesystem list, run in order in the child's new mount namespace,
 * before pivot_root. Every `target` is a path inside the plan's `root` (or `/` without
 * one), resolved there: a symlink in the root never takes a step outside it.
 */
export type MountStep =
  | {
      op: 'mount';
      source?: string;
      target: string;
      fstype?: string;
      flags?: number;
      data?: string;
      /** Skip the step when the target does not exist (masked paths). */
      optional?: boolean;
      /** The source is a path inside the root too (a bind of one of its own paths). */
      sourceInRoot?: boolean;
      /** A remount keeps the flags the mount has now (nosuid, nodev, noexec...). */
      keepFlags?: boolean;
      /**
       * In a new user namespace: the source is opened by this process, the host's root, in
       * the child's mount namespace while the child is held, and handed to it (runc's mount
       * sources): the user namespace's root need not be able to reach it.
       */
      sourceByParent?: boolean;
    }
  /**
   * mount_setattr(2) of target and every mount under it (AT_RECURSIVE): MOUNT_ATTR_* bits
   * to set and to clear (OCI's rro, rnosuid, rnodev...). Linux 5.12.
   */
  | { op: 'setattr'; target: string; set: number; clear: number }
  | { op: 'mkdir'; target: string; mode?: number }
  | { op: 'mkfile'; target: string; mode?: number }
  | { op: 'symlink'; source: string; target: string }
  | {
      op: 'mknod';
      target: string;
      type: 'char' | 'block' | 'fifo';
      major?: number;
      minor?: number;
      mode?: number;
      uid?: number;
      gid?: number;
    }
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
  /**
   * A compiled seccomp filter (compileSeccomp), loaded by the child with seccomp(2). With
   * SECCOMP_FILTER_FLAG_NEW_LISTENER in `flags`, the filter's listener is sent to the
   * seccomp agent at `listener.path` with the container's state (see SeccompListener).
   */
  seccomp?: { program: Buffer; flags?: number; listener?: SeccompListener };
  /**
   * OCI startContainer hooks, run by the child after its seccomp filter, right before its
   * execve, with the state `start` sends through the start FIFO on their stdin.
   */
  startHooks?: { path: string; args?: string[]; env?: string[]; timeout?: number }[];
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

/**
 * Where a filter's listener goes (SCMP_ACT_NOTIFY): the agent's unix socket. It gets one
 * message, as runc sends it: the OCI ContainerProcessState JSON, with the listener as its
 * only descriptor (fds ["seccompFd"]). `state` is the container's OCI state; its `pid`,
 * when absent, and the message's own are the process that loaded the filter.
 */
export interface SeccompListener {
  path: string;
  metadata?: string;
  state?: { ociVersion: string; id: string; status: string; pid?: number; bundle: string; annotations?: Record<string, string> };
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
  'hold',
  'open_ns',
  'setns',
  'fork',
  'cgroup',
  'unshare',
  'sethostname',
  'setdomainname',
  'make_private',
  'mount',
  'mkdir',
  'symlink',
  'mknod',
  'pivot_root',
  'chdir',
  'setgroups',
  'setgid',
  'setuid',
  'stdio',
  'setsid',
  'terminal',
  'execve',
  'resolve',
  'write',
  'oom_score_adj',
  'console',
  'keyring',
  'rlimit',
  'capabilities',
  'no_new_privs',
  'seccomp',
  'close_fds',
  'start_fifo',
  'umask',
  'dumpable',
  'supervisor',
  'hook',
  'seccomp_notify',
] as const;
export type ChildStep = (typeof CHILD_STEPS)[number];

// The rest of the wire, as child.h has it (test/wire.test.ts reads child.h and compares).
/** The child's messages that are not failures (`enum Message`). */
export const MESSAGES = { pid: -1, sync_before_pivot: -2, ready: -3, seccomp_listener: -4, command_pid: -5 } as const;
/** The filesystem operations (`enum FsOp`) and their option bits (`enum FsOpt`). */
export const FS_OPS = { mount: 0, mkdir: 1, mkfile: 2, symlink: 3, mknod: 4, write: 5, mask: 6, setattr: 7 } as const;
export const FS_OPTIONS = { optional: 1, source_in_root: 2, keep_flags: 4, source_fd: 8 } as const;
const MSG_PID = MESSAGES.pid;
const MSG_SYNC_BEFORE_PIVOT = MESSAGES.sync_before_pivot;
const MSG_READY = MESSAGES.ready;
const MSG_SECCOMP_LISTENER = MESSAGES.seccomp_listener;
const MSG_COMMAND_PID = MESSAGES.command_pid;
const FS_OPTIONAL = FS_OPTIONS.optional;
const FS_SOURCE_IN_ROOT = FS_OPTIONS.source_in_root;
const FS_KEEP_FLAGS = FS_OPTIONS.keep_flags;
const FS_SOURCE_FD = FS_OPTIONS.source_fd;
/** SECCOMP_FILTER_FLAG_NEW_LISTENER (seccomp(2)). */
const NEW_LISTENER = 8;
/** kMaxStepMarks in child.h: the marks the page holds. */
const MAX_STEP_MARKS = 254;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const O_PATH = 0o10000000;
const S_IF = { char: 0o020000, block: 0o060000, fifo: 0o010000 } as const;

/** What release() stopped at: the command exec'd, or it waits on the start FIFO. */
export type Released = 'exec' | 'ready';

/** When one step of the child started, and how long it took (until the next step started). */
export interface StepTime {
  step: ChildStep;
  /** Which fs step, hook, or part of the step (child.cc's marks); -1: none. */
  index: number;
  /** Nanoseconds since the parent called clone(). */
  startNs: bigint;
  /** When it started on CLOCK_MONOTONIC, in nanoseconds: process.hrtime.bigint()'s clock. */
  atNs: bigint;
  /** Until the next mark; null for the last one seen (the child is still in it, or exec'd). */
  durationNs: bigint | null;
}

/** A running child. Its exit is watched from the start, without blocking the event loop. */
export class Child {
  #pid: number;
  /** After a fork with a relay: the process that runs the plan and execs (the relay is #pid). */
  #commandPid: number | undefined;
  /** With a supervisor: its pid (the process clone() made, which exec'd it). */
  readonly supervisorPid: number | undefined;
  /** Settles once, when the child ends (exit code, or the signal that killed it). */
  readonly exited: Promise<ExitStatus>;
  #holdFd: number;
  #errorFd: number;
  #plan: SpawnPlan;
  #times: DataView | undefined;
  /** Bind sources the child will mount, opened for it at its first "go" (sourceByParent). */
  #sources: string[];

  constructor(
    plan: SpawnPlan,
    spawned: { pid: number; pidfd: number; holdFd: number; errorFd: number; times?: ArrayBuffer },
    sources: string[] = [],
  ) {
    const { pid, pidfd } = spawned;
    this.#pid = pid;
    this.supervisorPid = plan.supervisor ? pid : undefined;
    this.#plan = plan;
    this.#holdFd = spawned.holdFd;
    this.#errorFd = spawned.errorFd;
    this.#sources = sources;
    if (spawned.times) this.#times = new DataView(spawned.times);
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
   * start FIFO) once it waits there. `meanwhile` runs as soon as the child is let go,
   * while it works through its steps: the caller's own preparation that the child does not
   * wait for runs beside it, on another core. `beforePivot` runs while the child waits
   * between its mounts and pivot_root (hooks, which may take their time). Rejects with the
   * SyscallError of the step that failed (the child has then exited), or with what
   * `meanwhile` threw (the child is then still running: the caller ends it).
   */
  async release(options: { meanwhile?: () => void; beforePivot?: () => void | Promise<void> } = {}): Promise<Released> {
    if (this.#errorFd < 0) {
      options.meanwhile?.();
      return 'exec';
    }
    try {
      this.#go(this.#plan.hold === true);
      options.meanwhile?.();
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

  /**
   * What release() does, for a child the caller did not hold (spawn() waits for its exec):
   * one this module held itself (its user namespace set up first) is let go.
   */
  releaseNow(): void {
    if (this.#errorFd < 0) return;
    try {
      this.#go(this.#plan.hold === true);
      this.#next();
    } finally {
      this.#close();
    }
  }

  /** Sets the child going; the first go carries the bind sources, opened for it now. */
  #go(when: boolean): void {
    if (!when || this.#holdFd < 0) return;
    const fds = openSources(this.#pid, this.#sources);
    this.#sources = [];
    try {
      native().go(this.#holdFd, fds);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }

  /** Reads the child's messages up to the next that needs an answer: exec'd, ready, or at its sync point. */
  #next(): Released | 'sync' {
    // A listener announced by the command of a relay whose pid has not come yet.
    let listener: number | undefined;
    for (;;) {
      const message = native().readMessage(this.#errorFd);
      if (message === null) return 'exec';
      const [step, index, errno] = message;
      if (step === MSG_PID) this.#pid = this.#commandPid = index;
      else if (step === MSG_COMMAND_PID) this.#commandPid = index;
      else if (step === MSG_SYNC_BEFORE_PIVOT) return 'sync';
      else if (step === MSG_READY) return 'ready';
      else if (step === MSG_SECCOMP_LISTENER) listener = index;
      else throw stepError(this.#plan, step, index, errno);
      // After a fork (or from a supervisor), the command's pid may come after its listener.
      if (listener !== undefined && (this.#commandPid !== undefined || !this.#forks())) {
        this.#handOverListener(listener);
        listener = undefined;
      }
    }
  }

  /** Whether the command is not the process clone() made: it reports its pid (kMsgPid, kMsgCommandPid). */
  #forks(): boolean {
    return (this.#plan.join ?? []).some((j) => j.type === 'pid') || this.#plan.supervisor !== undefined;
  }

  /**
   * Takes the seccomp listener the child announced (pidfd_getfd(2)) and sends it to the
   * agent with the container's state in one message, as runc does; then our copy is
   * closed and the child goes on (and closes its own): the agent holds the only one.
   */
  #handOverListener(fdNumber: number): void {
    const listener = this.#plan.seccomp?.listener;
    if (!listener) throw syscallError(22, 'seccomp', 'the filter made a listener, but the plan names no agent for it', 'seccomp_notify');
    const pid = this.#commandPid ?? this.#pid;
    const fd = native().pidfdGetfd(pid, fdNumber);
    try {
      const state = { ...(listener.state ?? { ociVersion: '1.0.2', id: '', status: 'creating', bundle: '' }) };
      state.pid ??= pid;
      // specs-go's ContainerProcessState, its fields in its order; metadata only when given.
      const message = {
        ociVersion: state.ociVersion,
        fds: ['seccompFd'],
        pid,
        ...(listener.metadata ? { metadata: listener.metadata } : {}),
        state,
      };
      try {
        native().sendWithFd(listener.path, Buffer.from(JSON.stringify(message)), fd);
      } catch (err) {
        if (isSyscallError(err)) {
          const errno = -err.errno;
          const e = syscallError(errno, err.syscall, listener.path, 'seccomp_notify');
          e.message = `failed to connect with seccomp agent specified in the seccomp profile: ${e.message}`;
          throw e;
        }
        throw err;
      }
    } finally {
      closeSync(fd);
    }
    this.#go(true);
  }

  /**
   * When each step of the child started and how long it took, as child.cc noted them on
   * a page shared with this process: complete once the child has exec'd; a child still
   * running its plan shows the steps so far. Empty when the page could not be mapped.
   */
  stepTimes(): StepTime[] {
    const view = this.#times;
    if (!view) return [];
    const le = LITTLE_ENDIAN;
    const cloneNs = view.getBigInt64(0, le);
    const count = Math.min(view.getInt32(8, le), MAX_STEP_MARKS);
    const marks: { step: ChildStep; index: number; ns: bigint }[] = [];
    for (let i = 0; i < count; i++) {
      const at = 16 + i * 16;
      marks.push({
        ns: view.getBigInt64(at, le),
        step: CHILD_STEPS[view.getInt32(at + 8, le)] ?? 'execve',
        index: view.getInt32(at + 12, le),
      });
    }
    return marks.map((m, i) => ({
      step: m.step,
      index: m.index,
      startNs: m.ns - cloneNs,
      atNs: m.ns,
      durationNs: i + 1 < marks.length ? (marks[i + 1] as { ns: bigint }).ns - m.ns : null,
    }));
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
  const spawned = native().spawn(nativePlan);
  const child = new Child({ ...plan, hold: nativePlan.hold }, spawned, sourcesByParent(plan));
  if (parentSetup) {
    try {
      setUpUserNamespace(plan, spawned.pid);
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

/** The bind sources the parent opens for a child in a new user namespace, in step order. */
function sourcesByParent(plan: SpawnPlan): string[] {
  if (!makesUserNamespace(plan)) return [];
  return (plan.mounts ?? []).flatMap((m) =>
    m.op === 'mount' && m.sourceByParent && m.source !== undefined && !m.sourceInRoot ? [m.source] : [],
  );
}

/**
 * Opens each source O_PATH in the mount namespace of `pid` (held before its first step,
 * still rooted at the host's /), through /proc/PID/root and inside it (RESOLVE_IN_ROOT):
 * as this process, the host's root, which may reach what the child's user namespace may
 * not; a descriptor of a mount in the child's namespace, which mount(2) binds from.
 */
function openSources(pid: number, sources: readonly string[]): number[] {
  if (sources.length === 0) return [];
  const fds: number[] = [];
  let root = -1;
  try {
    root = openSync(`/proc/${pid}/root`, O_PATH | fsConstants.O_DIRECTORY);
    for (const source of sources) fds.push(native().resolveInRoot(root, source, O_PATH, 0));
  } catch (err) {
    for (const fd of fds) closeSync(fd);
    const e = err as NodeJS.ErrnoException;
    const source = sources[fds.length] ?? '';
    throw syscallError(-(e.errno ?? -5), 'open', source, 'resolve');
  } finally {
    if (root >= 0) closeSync(root);
  }
  return fds;
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
    throw new TypeError("spawn: joining namespaces from a new user namespace is not supported (they belong to the host's)");
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
    cgroupProcs: create.has('user') ? [] : (plan.cgroupProcs ?? []),
    newCgroupns: create.has('cgroup'),
    makeRootPrivate: create.has('mount'),
    noPivot: plan.noPivot ?? false,
    chrootOnly: plan.chrootOnly ?? false,
    fs: [],
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
  // Bind sources the parent opens (a new user namespace only): numbered as they are sent.
  let sourceFds = 0;
  native.fs = (plan.mounts ?? []).map((step) => {
    const out = toNativeStep(step);
    if (step.op === 'mount' && step.sourceByParent && create.has('user') && step.source !== undefined && !step.sourceInRoot) {
      out.opts |= FS_SOURCE_FD;
      out.sourceIndex = sourceFds++;
    }
    return out;
  });
  if (sourceFds > 0) native.sourceFds = sourceFds;
  if (plan.noPivot && plan.root !== undefined && !plan.chrootOnly)
    native.hostKernelMounts = hostKernelMounts(readFileSync('/proc/self/mountinfo', 'utf8'), plan.root);
  if (plan.startHooks?.length) {
    native.startHooks = plan.startHooks.map((h) => ({
      path: h.path,
      argv: h.args?.length ? h.args : [h.path],
      env: h.env ?? [],
      ...(h.timeout !== undefined ? { timeout: h.timeout } : {}),
    }));
  }
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
      bounding: capabilityMask(c.bounding),
      effective: capabilityMask(c.effective),
      permitted: capabilityMask(c.permitted),
      inheritable: capabilityMask(c.inheritable),
      ambient: capabilityMask(c.ambient),
    };
  }
  if (plan.seccomp) {
    native.seccomp = plan.seccomp.program;
    native.seccompFlags = plan.seccomp.flags ?? 0;
    if ((native.seccompFlags & NEW_LISTENER) !== 0 && !plan.seccomp.listener)
      throw new TypeError(
        'spawn: the seccomp filter makes a listener (SECCOMP_FILTER_FLAG_NEW_LISTENER) but seccomp.listener names no agent for it',
      );
  }
  if (plan.startFifo !== undefined) native.startFifo = plan.startFifo;
  if (plan.supervisor) {
    if (plan.supervisor.argv.length === 0) throw new TypeError("spawn: the supervisor's argv must not be empty");
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
        op: FS_OPS.mknod,
        opts: 0,
        target: step.target,
        mode: S_IF[step.type] | ((step.mode ?? 0o666) & 0o7777),
        major: step.major ?? 0,
        minor: step.minor ?? 0,
      };
      if (step.uid !== undefined) out.uid = step.uid;
      if (step.gid !== undefined) out.gid = step.gid;
      return out;
    }
    case 'write':
      return { op: FS_OPS.write, opts: step.optional ? FS_OPTIONAL : 0, target: step.target, data: step.data };
    case 'mask':
      return { op: FS_OPS.mask, opts: step.optional ? FS_OPTIONAL : 0, target: step.target };
    case 'setattr':
      return { op: FS_OPS.setattr, opts: 0, target: step.target, attrSet: step.set, attrClr: step.clear };
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
      return syscallError(errno, plan.mounts?.[index]?.op === 'setattr' ? 'mount_setattr' : 'mount', fsTarget(), step);
    case 'mkdir':
    case 'symlink':
    case 'mknod':
    case 'write':
      return syscallError(errno, step, fsTarget(), step);
    case 'resolve':
      return syscallError(errno, 'openat2', fsTarget(), step);
    case 'pivot_root':
      // index >= 0: a host proc or sysfs mount hidden before a no_pivot move.
      return index >= 0
        ? syscallError(errno, 'umount2', 'a proc or sysfs mount of the host', step)
        : syscallError(errno, 'pivot_root', plan.root, step);
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
