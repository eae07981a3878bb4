// exec: another process in a running container. It joins the namespaces the record gave
// the container (created or joined, read from its first process), enters its cgroup, and
// takes the process policy asked (as containerd passes it in --process: user,
// capabilities, rlimits...) and the container's seccomp filter, so that it can do no more
// than the container's own processes. In the foreground this process waits for it and
// proxies its stdio; detached, it is left to the caller's subreaper.
import { type CgroupManager, managerForPath } from '@diyc/cgroup';
import { seccompPlan, processPlan, startError, StdioProxy, superviseChild } from '@diyc/nsexec';
import { ANNOTATION, DiycError, type ContainerRecord, type RecordProcess } from '@diyc/record';
import { closeSync, constants, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { exitCodeOf, isSyscallError, mknod, spawn, type Child, type Namespace, type SpawnPlan } from '@diyc/syscalls';
import type { Container } from './container.js';
import { recordNamespaces, writePidFile } from './create.js';
import type { Runtime } from './policy.js';
import { nsPath } from './ns-path.js';
import { canExec } from './status.js';

/**
 * The namespaces a process joins to enter the container whose first process is `pid`:
 * every one its record names, read through that process. The user namespace comes first
 * (the others are then joined as its root), the mount namespace last (the others are
 * opened by path before it changes what paths mean).
 */
export function joinedNamespaces(record: ContainerRecord, pid: number): { type: Namespace; path: string }[] {
  const order = (t: Namespace): number => (t === 'user' ? 0 : t === 'mount' ? 2 : 1);
  return recordNamespaces(record)
    .sort((a, b) => order(a) - order(b))
    .map((type) => ({ type, path: nsPath(pid, type) }));
}

/** The spawn plan of `proc` in the container of `record`, whose first process is `pid`. */
export function execPlan(rt: Runtime, record: ContainerRecord, pid: number, proc: RecordProcess): SpawnPlan {
  const plan: SpawnPlan = { ...processPlan(proc), join: joinedNamespaces(record, pid), newKeyring: true, hold: true };
  const seccomp = seccompPlan(record.linux.seccomp, { trace: rt.trace, cacheDir: rt.seccompCache });
  if (seccomp) plan.seccomp = seccomp;
  const procs = execCgroupProcs(record);
  if (procs.length > 0) plan.cgroupProcs = procs;
  return plan;
}

/**
 * The cgroup.procs files a process exec'd in the container of `record` enters: those the
 * cgroup stage wrote down, or, when it could write none, its cgroup's as they are now. The
 * systemd driver starts the scope only with the first process, after the stage: without
 * this an exec'd process stayed in the caller's cgroup, outside the container's limits.
 */
export function execCgroupProcs(
  record: ContainerRecord,
  manager: (path: string) => Pick<CgroupManager, 'exists' | 'procsFiles'> = managerForPath,
): string[] {
  const noted = (record.annotations[ANNOTATION.cgroupProcs] ?? '').split(':').filter(Boolean);
  const path = record.linux.cgroupsPath;
  if (noted.length > 0 || path === undefined || path === '') return noted;
  const cgroups = manager(path);
  return cgroups.exists(path) ? cgroups.procsFiles(path) : [];
}

export interface ExecOptions {
  /** Leave it running and return once it runs (its parent becomes the caller's subreaper). */
  detach?: boolean;
  pidFile?: string;
  /** process.terminal with OCI --console-socket: the pty's master goes there. */
  consoleSocket?: string;
  /** Descriptors 3 to 3+N-1 of this process, passed on. */
  preserveFds?: number;
  /** Join a paused container: the process freezes as it enters its cgroup, until resume (runc's --ignore-paused). */
  ignorePaused?: boolean;
  /** The cgroup.procs files to join instead of the container's own (OCI exec --cgroup: its sub-cgroups). */
  cgroupProcs?: string[];
  /**
   * Descriptors for its 0, 1, 2 in the foreground (null: this process's own, proxied when
   * a terminal): a health check's output goes to a file of its container's.
   */
  stdio?: [number | null, number | null, number | null];
  /** Called once the process is cloned, as it is let go to join the container and exec. */
  onSpawn?: (pid: number) => void;
}

/** Runs `proc` in the container; returns its exit code (foreground), or 0 once it runs (detached). */
export async function exec(rt: Runtime, container: Container, proc: RecordProcess, options: ExecOptions = {}): Promise<number> {
  const status = container.status();
  if (!canExec(status) && !(options.ignorePaused && status === 'paused'))
    throw new DiycError('state', `cannot exec in container ${container.name}: it is ${status}: container not running`);
  const record = container.record();
  const pid = container.state()?.pid;
  if (!record || pid === undefined) throw new DiycError('state', `container ${container.name} has no record`);
  const terminal = proc.terminal === true;
  if (terminal && options.detach && options.consoleSocket === undefined)
    throw new DiycError('usage', 'cannot allocate a terminal for a detached process without --console-socket');
  const plan = execPlan(rt, record, pid, proc);
  if (options.cgroupProcs) plan.cgroupProcs = options.cgroupProcs;
  // In the foreground without a console socket, the process never gets the caller's
  // terminal: a pty of its own proxied to it (process.terminal), else pipes and a session.
  const proxy =
    !options.detach && options.consoleSocket === undefined
      ? new StdioProxy({ terminal, ...(options.stdio ? { stdio: options.stdio } : {}) })
      : undefined;
  if (proxy) Object.assign(plan, proxy.plan());
  if (options.consoleSocket !== undefined) {
    plan.consoleSocket = options.consoleSocket;
    if (proc.consoleSize) plan.consoleSize = { rows: proc.consoleSize.height, cols: proc.consoleSize.width };
  }
  if (options.detach) {
    plan.detachAfterFork = true;
    if (!terminal) plan.setsid = true;
    // Left running, it keeps what it is given: the caller's own descriptors only when it names none.
    if (options.stdio) plan.stdio = options.stdio;
  }
  if (options.preserveFds) plan.keepFds = Array.from({ length: options.preserveFds }, (_, i) => 3 + i);
  // With a pty proxied here, the process waits on a FIFO before execve (as a created
  // container does on its start FIFO) while its pty is set up on this side (ONLCR off, raw
  // mode): its first output is then already as it will be.
  const fifo = proxy?.terminal ? join(container.dir, `exec-${process.pid}.fifo`) : undefined;
  if (fifo) {
    rmSync(fifo, { force: true });
    mknod(fifo, 'fifo', 0o600);
    plan.startFifo = fifo;
  }
  const release = async (child: Child): Promise<void> => {
    options.onSpawn?.(child.pid);
    const released = await child.release();
    if (!fifo || released !== 'ready') return;
    proxy?.started();
    const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      writeSync(fd, Buffer.from([0]));
    } finally {
      closeSync(fd);
    }
  };
  try {
    const child = spawn(plan);
    proxy?.spawned();
    if (options.detach) {
      await release(child);
      if (options.pidFile !== undefined) writePidFile(options.pidFile, child.pid);
      return 0;
    }
    if (options.pidFile !== undefined) writePidFile(options.pidFile, child.pid);
    return exitCodeOf(await superviseChild(child, { ...(proxy ? { stdio: proxy } : {}), release: () => release(child) }));
  } catch (err) {
    await proxy?.finish();
    if (isSyscallError(err)) throw startError(err, proc.args[0] ?? '');
    throw err;
  } finally {
    if (fifo) rmSync(fifo, { force: true });
  }
}
