// `diyc-oci create`: the container's process made and held before execve, with the same
// stages and the same child as diyc-run. When create returns, the process exists (its
// pid in --pid-file), waits on the start FIFO, and has the caller's subreaper for parent.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { parseMountinfo } from '@diyc/overlay';
import { join } from 'node:path';
import { cgroupPath } from '@diyc/cgroup';
import { planFromRecord, startError, StdioProxy } from '@diyc/nsexec';
import { DiycError, type ContainerRecord, type StageContext, type Trace } from '@diyc/record';
import { prepare, processStart, teardown, type Container } from '@diyc/run';
import { isSyscallError, mknod, MNT, spawn, spawnWithSync, umount2, type Child, type Namespace } from '@diyc/syscalls';
import { loadBundle } from './bundle.js';
import { runHooks, runHooksHere } from './hooks.js';
import { fifoPath, ociContainer, ociState, rfc3339Nano } from './oci-container.js';

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** Descriptors 3 to 3+N-1 of this process, passed on to the container (LISTEN_FDS). */
  preserveFds?: number;
  trace: Trace;
  warn: (message: string) => void;
  /**
   * `run` in the foreground without a console socket: the process's terminal (a pty of its
   * own, with process.terminal) or its pipes are proxied by this process, which waits for it.
   */
  foreground?: boolean;
}

/** A created container, and its process (this process's child until this process ends). */
export interface Created {
  container: Container;
  child: Child;
  /** In the foreground: what proxies its stdio (superviseChild starts it). */
  stdio?: StdioProxy;
}

/** Writes the pid file as runc does: decimal digits, no newline, complete when it appears. */
export function writePidFile(file: string, pid: number): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, String(pid));
  renameSync(temp, file);
}

/** The namespaces of the container a createContainer or startContainer hook joins. */
export function containerNamespaces(record: ContainerRecord): Namespace[] {
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
  const points = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).map((m) => m.mountPoint)
    .filter((p) => p === rootfs || p.startsWith(`${rootfs}/`)).sort((a, b) => b.length - a.length);
  for (const point of points) {
    try { umount2(point, MNT.DETACH); } catch { /* gone already */ }
  }
}

export async function createContainer(options: CreateOptions): Promise<Created> {
  const { dir: bundle, record } = loadBundle(options.bundle, options.warn);
  const terminal = record.process.terminal === true;
  const proxy = options.foreground === true && options.consoleSocket === undefined ? new StdioProxy({ terminal }) : undefined;
  if (terminal && !proxy && options.consoleSocket === undefined) throw new DiycError('usage', 'process.terminal asks for a terminal: give --console-socket, or run it in the foreground (diyc-oci run)');
  if (!terminal && options.consoleSocket !== undefined) throw new DiycError('usage', '--console-socket needs process.terminal in config.json');
  const container = ociContainer(options.root, options.id);
  mkdirSync(options.root, { recursive: true, mode: 0o700 });
  // mkdir(2) is atomic: two creates of one ID cannot both get here.
  try {
    mkdirSync(container.dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new DiycError('exists', `container with id ${options.id} already exists`);
    throw err;
  }
  record.linux.cgroupsPath = cgroupPath(record.linux.cgroupsPath ?? `/diyc-oci/${options.id}`);
  const ctx: StageContext = { name: options.id, root: options.root, trace: options.trace, warn: options.warn, strict: true };
  let child: Child | undefined;
  let prepared: ContainerRecord | undefined;
  try {
    container.save({
      name: options.id, status: 'creating', command: record.process.args, bundle, owner: '', createdAt: rfc3339Nano(),
      supervisorPid: process.pid, supervisorStart: processStart(process.pid) ?? '',
    });
    prepared = prepare(record, ctx);
    container.saveRecord(prepared);
    const fifo = fifoPath(container);
    mknod(fifo, 'fifo', 0o600);
    const plan = planFromRecord(prepared, {
      hold: true, newKeyring: options.noNewKeyring !== true, detachAfterFork: true, startFifo: fifo, base: bundle,
      trace: options.trace, seccompCache: join(options.root, 'seccomp'), setsid: !terminal, allowHostMountNamespace: true,
      ...(proxy ? { stdioProxy: proxy } : {}),
      ...(options.consoleSocket !== undefined ? { consoleSocket: options.consoleSocket } : {}),
      ...(options.noPivot ? { noPivot: true } : {}),
      ...(options.preserveFds ? { keepFds: Array.from({ length: options.preserveFds }, (_, i) => 3 + i) } : {}),
    });
    const hooks = prepared.hooks;
    const early = (hooks?.prestart?.length ?? 0) + (hooks?.createRuntime?.length ?? 0) + (hooks?.createContainer?.length ?? 0) > 0;
    const started: Child = early ? spawnWithSync(plan) : spawn(plan);
    proxy?.spawned();
    child = started;
    const done = prepared;
    const released = await started.releaseAsync({
      beforePivot: async () => {
        // The process exists, its namespaces and mounts are made, it has not pivoted: the
        // hooks see it as created (runtime-tools checks that prestart does).
        const state = { ...ociState(container, 'created'), pid: started.pid };
        runHooksHere('prestart', hooks, state);
        runHooksHere('createRuntime', hooks, state);
        await runHooks('createContainer', hooks, state, { inside: { pid: started.pid, namespaces: containerNamespaces(done) } });
      },
    });
    if (released !== 'ready') throw new DiycError('system', 'the container process exec\'d before start');
    const pid = started.pid;
    if (options.pidFile !== undefined) writePidFile(options.pidFile, pid);
    const state = container.state();
    if (!state) throw new DiycError('system', `container ${options.id} lost its state`);
    const { supervisorPid: _p, supervisorStart: _s, ...rest } = state;
    container.save({ ...rest, status: 'created', pid, pidStart: processStart(pid) ?? '' });
    options.trace(`created ${options.id}: pid ${pid}, waiting on ${fifo}`);
    return { container, child: started, ...(proxy ? { stdio: proxy } : {}) };
  } catch (err) {
    child?.kill('SIGKILL');
    await proxy?.finish();
    try { teardown(prepared ?? record, ctx); } catch { /* the first error is the one to report */ }
    unmountHostMounts(record);
    rmSync(container.dir, { recursive: true, force: true });
    if (isSyscallError(err) && err.step !== undefined) throw startError(err, record.process.args[0] ?? '');
    throw err;
  }
}
