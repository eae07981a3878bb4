// create: the container's stages prepared and its first process made, held before its
// command, waiting on the start FIFO. When create returns, the process exists (its pid in
// the state and in --pid-file), with its namespaces, mounts, user and filters in place.
//
//   claim the name ─► prepare the stages ─► (diyc-run) the image's user ─► the start
//     FIFO ─► clone(2) the process, held ─► let go: it makes its mounts while /etc's files
//     and the record are written ─► prestart, createRuntime and createContainer hooks at
//     its sync point ─► it waits on the FIFO ─► created
//
// Any failure on the way undoes what was done: no mount, cgroup, veth or lease is left.
import { mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { placeProcess } from '@diyc/cgroup';
import { planFromRecord, startError, StdioProxy, traceRecord } from '@diyc/nsexec';
import { parseMountinfo, removeTree } from '@diyc/overlay';
import { ANNOTATION, DiycError, timed, type ContainerRecord, type Trace } from '@diyc/record';
import {
  isSyscallError,
  mknod,
  MNT,
  spawn,
  spawnWithSync,
  umount2,
  type Child,
  type Namespace,
  type SeccompListener,
  type SpawnPlan,
} from '@diyc/syscalls';
import { processStart, type Container, type ContainerState } from './container.js';
import { writeEtcFiles } from './etc-files.js';
import { runHooks } from './hooks.js';
import type { Runtime } from './policy.js';
import { ociState, rfc3339Nano } from './oci-state.js';
import type { Status } from './status.js';
import { prepare, teardown } from './stages.js';
import { applyUser } from './users.js';

export interface CreateOptions {
  /** OCI: the bundle it came from (relative bind sources are relative to it). */
  bundle?: string;
  pidFile?: string;
  /** OCI --console-socket: where the master of the process's new pty is sent. */
  consoleSocket?: string;
  /** chroot instead of pivot_root (a root on ramfs). */
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** Descriptors 3 to 3+N-1 of this process, passed on to the process (LISTEN_FDS). */
  preserveFds?: number;
  /**
   * This process waits for the container (diyc-run, `diyc-oci run`): its stdio is proxied
   * here, a pty of its own when process.terminal asks for one, never the caller's terminal.
   */
  foreground?: boolean;
  /** Descriptors for its 0, 1, 2 (a detached container's log pipes). */
  stdio?: [number | null, number | null, number | null];
  /** A program that replaces the process that made the container's, and supervises it (diyc-shim). */
  supervisor?: SpawnPlan['supervisor'];
  /** What the state shows beside the status (diyc-run's image, network, ports). */
  describe?: Partial<Omit<ContainerState, 'status' | 'name'>>;
  /** Asked between the stages and the clone: a signal came (Ctrl-C), give up cleanly. */
  interrupted?: () => string | undefined;
  /** The record's stages were run already (diyc-run's --pipeline, its processes did). */
  prepared?: boolean;
}

/** A created container, and its process (this process's child until this process ends). */
export interface Created {
  container: Container;
  child: Child;
  /** In the foreground: what proxies its stdio (wait() runs it). */
  stdio?: StdioProxy;
}

/**
 * unlink(2), where a missing file is no error. Not rmSync({force}): Node 20 loads its
 * rimraf module for any rmSync, ~0.5 ms of a start (issue 22).
 */
function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Writes a pid file as runc does: decimal digits, no newline, complete when it appears. */
export function writePidFile(file: string, pid: number): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, String(pid));
  renameSync(temp, file);
}

/**
 * The container's state as a seccomp agent is told it with the listener (the OCI State of
 * specs-go's ContainerProcessState): `creating` for the first process, `running` for one
 * exec'd. A missing pid is the process's own (spawn fills it in).
 */
export function seccompAgentState(container: Container, status: Status): NonNullable<SeccompListener['state']> {
  const s = ociState(container, status);
  return {
    ociVersion: s.ociVersion,
    id: s.id,
    status: s.status,
    ...(s.pid !== undefined ? { pid: s.pid } : {}),
    bundle: s.bundle,
    ...(s.annotations ? { annotations: s.annotations } : {}),
  };
}

/**
 * The steps the container's process timed itself (child.cc's marks, up to its wait on the
 * start FIFO): -v prints each, --trace FILE gives them a track of their own.
 */
export function traceChildSteps(trace: Trace, child: Child): void {
  if (!trace.slices) return;
  const slices = child.stepTimes().flatMap((t) =>
    t.durationNs === null
      ? []
      : [
          {
            name: t.index >= 0 ? `${t.step} ${t.index}` : t.step,
            startNs: t.atNs,
            endNs: t.atNs + t.durationNs,
          },
        ],
  );
  if (slices.length > 0) trace.slices('container process', child.pid, slices);
}

/** The namespaces of a container's record that a process joining it must join. */
export function recordNamespaces(record: ContainerRecord): Namespace[] {
  const supported: Namespace[] = ['user', 'mount', 'uts', 'ipc', 'pid', 'network', 'cgroup'];
  return record.linux.namespaces.map((ns) => ns.type).filter((t): t is Namespace => supported.includes(t as Namespace));
}

/**
 * A container without a mount namespace of its own made its mounts in the host's: they
 * are taken down with it (runc leaves them behind). Deepest first, detached.
 */
export function unmountHostMounts(record: ContainerRecord | undefined): void {
  if (!record?.root?.path || record.linux.namespaces.some((ns) => ns.type === 'mount')) return;
  const rootfs = record.root.path;
  const points = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .map((m) => m.mountPoint)
    .filter((p) => p === rootfs || p.startsWith(`${rootfs}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) {
    try {
      umount2(point, MNT.DETACH);
    } catch {
      /* gone already */
    }
  }
}

/**
 * Takes the container's name for this create: a new directory (OCI: one that exists is
 * "already exists"), or, with the reuse policy, a stopped container's, whose files stay.
 */
function claim(rt: Runtime, container: Container, record: ContainerRecord, options: CreateOptions): void {
  if (!rt.policy.reuse) {
    mkdirSync(join(container.dir, '..'), { recursive: true, mode: 0o700 });
    // mkdir(2) is atomic: two creates of one ID cannot both get here.
    try {
      mkdirSync(container.dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new DiycError('exists', `container with id ${container.name} already exists`);
      throw err;
    }
  }
  container.locked(() => {
    const state = recoverIfStaleLocked(rt, container);
    if (state && container.status() !== 'stopped') {
      throw new DiycError(
        'exists',
        `container ${container.name} is ${container.status()}: stop it first (diyc-stop ${container.name}), or choose another name`,
      );
    }
    // Its kept files are changes to one image: over another they would make no sense.
    const image = record.annotations[ANNOTATION.image];
    if (state?.image && image !== undefined && state.image !== image) {
      throw new DiycError(
        'exists',
        `container ${container.name} was made from image ${state.image}: remove it first (diyc-rm ${container.name}), or choose another name`,
      );
    }
    container.saveRecord(record);
    container.begin({
      name: container.name,
      command: record.process.args,
      createdAt: rfc3339Nano(),
      ...options.describe,
      ...(options.bundle !== undefined ? { bundle: options.bundle, owner: '' } : {}),
      supervisorPid: process.pid,
      supervisorStart: processStart(process.pid) ?? '',
    });
  });
}

/**
 * A container whose supervisor is gone (diyc-run was killed, even with SIGKILL, half-way
 * or while it ran) is stale: its stages are undone (its processes with its cgroup) and it
 * is stopped. The caller holds the container's lock. Returns the state after.
 */
export function recoverIfStaleLocked(rt: Runtime, container: Container): ContainerState | undefined {
  const state = container.refresh().state();
  if (!state || state.status === 'stopped' || state.supervisorPid === undefined || container.supervisorAlive()) return state;
  teardown(container.record(), rt);
  return container.transition('stopped', {
    exitCode: state.exitCode ?? 137,
    reason: 'its supervisor was killed; cleaned up',
    finishedAt: new Date().toISOString(),
    supervisorPid: undefined,
    supervisorStart: undefined,
  });
}

/** The plan of the container's first process: held, waiting on the FIFO before its command. */
function processPlan(
  rt: Runtime,
  container: Container,
  record: ContainerRecord,
  options: CreateOptions,
  proxy: StdioProxy | undefined,
): SpawnPlan {
  const terminal = record.process.terminal === true;
  return planFromRecord(record, {
    hold: true,
    newKeyring: options.noNewKeyring !== true,
    detachAfterFork: rt.policy.handOver,
    startFifo: container.fifoPath,
    trace: rt.trace,
    seccompCache: rt.seccompCache,
    allowHostMountNamespace: rt.policy.allowHostMountNamespace,
    // Without a terminal of its own, a session of its own: no controlling tty.
    setsid: !terminal && proxy === undefined,
    ...(options.bundle !== undefined ? { base: options.bundle } : {}),
    ...(proxy ? { stdioProxy: proxy } : {}),
    ...(options.stdio ? { stdio: options.stdio } : {}),
    ...(options.consoleSocket !== undefined ? { consoleSocket: options.consoleSocket } : {}),
    ...(options.noPivot ? { noPivot: true } : {}),
    ...(options.preserveFds ? { keepFds: Array.from({ length: options.preserveFds }, (_, i) => 3 + i) } : {}),
    ...(options.supervisor ? { supervisor: options.supervisor } : {}),
  });
}

/** What the stages reported that the state shows: the address on the bridge and the published ports. */
function reported(record: ContainerRecord): Partial<ContainerState> {
  const ip = record.annotations[ANNOTATION.ip];
  const ports = record.annotations[ANNOTATION.publish];
  return { ...(ip ? { ip } : {}), ...(ports ? { ports: ports.split(',') } : {}) };
}

/** Creates `container` from `record` (see the top of this file). */
export async function create(rt: Runtime, container: Container, record: ContainerRecord, options: CreateOptions = {}): Promise<Created> {
  const terminal = record.process.terminal === true;
  const proxy =
    options.foreground && options.consoleSocket === undefined
      ? new StdioProxy({ terminal, ...(options.stdio && !terminal ? { stdio: options.stdio } : {}) })
      : undefined;
  if (terminal && !proxy && options.consoleSocket === undefined && !options.supervisor) {
    throw new DiycError('usage', 'process.terminal asks for a terminal: give --console-socket, or run it in the foreground');
  }
  if (!terminal && options.consoleSocket !== undefined)
    throw new DiycError('usage', '--console-socket needs process.terminal in config.json');
  claim(rt, container, record, options);
  let child: Child | undefined;
  let prepared: ContainerRecord | undefined;
  try {
    prepared = options.prepared ? record : prepare(record, rt);
    // --net none reports nothing: no state to write again.
    const report = reported(prepared);
    if (Object.keys(report).length > 0) container.update(report);
    // The image's user, by its /etc/passwd: the plan runs as that user.
    if (rt.policy.prepareRootfs) applyUser(prepared);
    const why = options.interrupted?.();
    if (why !== undefined) throw new DiycError('system', `interrupted by ${why}: nothing was left behind`);
    unlinkIfThere(container.fifoPath);
    mknod(container.fifoPath, 'fifo', 0o600);
    traceRecord(prepared, rt.trace);
    const plan = processPlan(rt, container, prepared, options, proxy);
    if (plan.seccomp?.listener) plan.seccomp.listener.state = seccompAgentState(container, 'creating');
    const hooks = prepared.hooks;
    const early = (hooks?.prestart?.length ?? 0) + (hooks?.createRuntime?.length ?? 0) + (hooks?.createContainer?.length ?? 0) > 0;
    const started: Child = early ? spawnWithSync(plan) : spawn(plan);
    proxy?.spawned();
    child = started;
    // systemd's driver starts the container's scope with its process in it (a scope cannot
    // start empty); cgroupfs has nothing to do here, the process joins by itself.
    placeProcess(prepared, started.pid);
    const done = prepared;
    const released = await timed(rt.trace, 'the child: clone to ready', () =>
      started.release({
        // What the process does not need before its command runs is done while it makes
        // its mounts (~2 ms of a start, issue 22): /etc's files, and the prepared record
        // (until then, config.json holds the one claim() saved, by which a diyc-run killed
        // here is cleaned up as one killed in the stages).
        meanwhile: () => {
          if (rt.policy.prepareRootfs) writeEtcFiles(done, { trace: rt.trace });
          container.saveRecord(done);
        },
        beforePivot: async () => {
          // The process exists, its namespaces and mounts are made, it has not pivoted: the
          // hooks see it as created (runtime-tools checks that prestart does).
          const state = { ...ociState(container, 'created'), pid: started.pid };
          await runHooks('prestart', hooks, state);
          await runHooks('createRuntime', hooks, state);
          await runHooks('createContainer', hooks, state, {
            inside: { pid: started.pid, namespaces: recordNamespaces(done), cwd: done.root?.path },
          });
        },
      }),
    );
    if (released !== 'ready') throw new DiycError('system', "the container process exec'd before start");
    // Its pty is made and it waits on the start FIFO: the pty is set up here (ONLCR off, as
    // runc's ClearONLCR at create) before start lets it write, not after.
    proxy?.started();
    traceChildSteps(rt.trace, started);
    if (options.pidFile !== undefined) writePidFile(options.pidFile, started.pid);
    // Its supervisor from here: this process in the foreground, else the one named (the
    // shim), else none (an engine's subreaper, OCI).
    const supervisor = proxy ? process.pid : started.supervisorPid;
    container.locked(() =>
      container.transition('created', {
        pid: started.pid,
        pidStart: processStart(started.pid) ?? '',
        supervisorPid: supervisor,
        supervisorStart: supervisor !== undefined ? (processStart(supervisor) ?? '') : undefined,
      }),
    );
    rt.trace(`created ${container.name}: pid ${started.pid}, waiting on ${container.fifoPath}`);
    return { container, child: started, ...(proxy ? { stdio: proxy } : {}) };
  } catch (err) {
    child?.kill('SIGKILL');
    await proxy?.finish();
    abandon(rt, container, prepared ?? record);
    if (isSyscallError(err) && err.step !== undefined) throw startError(err, record.process.args[0] ?? '');
    throw err;
  }
}

/** A create that failed leaves nothing: its stages undone, and its state gone (or stopped, kept for reuse). */
function abandon(rt: Runtime, container: Container, record: ContainerRecord): void {
  try {
    teardown(record, rt);
  } catch {
    /* the first error is the one to report */
  }
  unmountHostMounts(record);
  rmSync(container.fifoPath, { force: true });
  if (!rt.policy.reuse) {
    removeTree(container.dir);
    return;
  }
  container.locked(() => {
    if (container.refresh().state()?.status === 'creating') {
      container.transition('stopped', {
        exitCode: 125,
        reason: 'it could not be prepared',
        finishedAt: new Date().toISOString(),
        supervisorPid: undefined,
        supervisorStart: undefined,
      });
    }
  });
}
