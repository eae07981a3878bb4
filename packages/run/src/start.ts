// The last stage: start the prepared container, supervise it, and clean up after it.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { releaseChild, startRecord, StdioProxy, superviseChild, traceRecord } from '@diyc/nsexec';
import { ANNOTATION, DiycError, isDiycError, runDir, setEnv, type ContainerRecord, type RecordUser, type StageContext } from '@diyc/record';
import { exitCodeOf, type ExitStatus } from '@diyc/syscalls';
import { processStart, type Container, type ContainerState } from './container.js';
import { writeEtcFiles } from './etc-files.js';
import { readInRoot } from './rootfs-files.js';
import { resolveUser } from './spec.js';
import { teardown } from './stages.js';

export interface StartOptions {
  /** This process is on a terminal (stdin is one): the command gets a pty of its own, proxied to it. */
  terminal: boolean;
  /** Remove the container's files when it ends (--rm). */
  remove: boolean;
  /** Descriptors for the command's stdio (detached containers log to a file). */
  stdio?: [number | null, number | null, number | null];
  setsid?: boolean;
  /** Called once the command runs (detached mode reports back then). */
  onRunning?: (pid: number) => void;
}

export interface RunResult {
  status: ExitStatus;
  exitCode: number;
  reason?: string;
}

/**
 * The user the command runs as (--user, else the image's User), looked up in the image's
 * own /etc/passwd and /etc/group, read inside the rootfs; and HOME, when neither the
 * image nor -e set it, as that user's home directory.
 */
function applyUser(record: ContainerRecord): void {
  const user = record.annotations[ANNOTATION.user] ?? record.annotations[ANNOTATION.imageUser];
  let home = '/root';
  if (user && record.root?.path && !record.process.user) {
    const found = lookUpUser(record, user);
    record.process.user = found.user;
    home = found.home;
  }
  if (!record.process.env.some((e) => e.startsWith('HOME='))) record.process.env = setEnv(record.process.env, 'HOME', home);
}

/** USER[:GROUP] in the container's own /etc/passwd and /etc/group, read inside its root. */
export function lookUpUser(record: ContainerRecord, user: string): { user: RecordUser; home: string } {
  const rootfs = record.root?.path;
  if (!rootfs) throw new DiycError('state', `cannot look up user ${user}: the container has no root filesystem`);
  const read = (p: string): string => readInRoot(rootfs, p) ?? '';
  const found = resolveUser(user, read('/etc/passwd'), read('/etc/group'));
  return { user: { uid: found.uid, gid: found.gid, ...(found.additionalGids.length > 0 ? { additionalGids: found.additionalGids } : {}) }, home: found.home };
}

/** The state of a container about to be prepared and run by this process. */
export function baseState(record: ContainerRecord, name: string): ContainerState {
  const state: ContainerState = {
    name,
    image: record.annotations[ANNOTATION.image] ?? '',
    status: 'creating',
    command: record.process.args,
    net: record.annotations[ANNOTATION.netMode] ?? (record.annotations[ANNOTATION.bridge] ? 'bridge' : 'host'),
    supervisorPid: process.pid,
    supervisorStart: processStart(process.pid) ?? '',
    createdAt: new Date().toISOString(),
  };
  return state;
}

/** Starts the container from its config.json, waits for it, and runs the stages' inverses. */
export async function startContainer(container: Container, ctx: StageContext, options: StartOptions): Promise<RunResult> {
  const record = container.refresh().record();
  if (!record) throw new DiycError('not-found', `container ${container.name} has no config.json: prepare it first`);
  let state: ContainerState = { ...baseState(record, container.name), ...container.state(), status: 'created', supervisorPid: process.pid, supervisorStart: processStart(process.pid) ?? '' };
  const ip = record.annotations[ANNOTATION.ip];
  if (ip) state.ip = ip;
  const ports = record.annotations[ANNOTATION.publish];
  if (ports) state.ports = ports.split(',');
  let status: ExitStatus | undefined;
  try {
    applyUser(record);
    writeEtcFiles(record, { trace: ctx.trace });
    // diyc-exec runs as this user, with this HOME, as docker exec does.
    container.saveRecord(record);
    traceRecord(record, ctx.trace);
    // Detached, the command's stdio is given (the log); else it never gets the user's terminal.
    const proxy = options.stdio ? undefined : new StdioProxy({ terminal: options.terminal });
    const child = startRecord(record, {
      hold: true, newKeyring: true, trace: ctx.trace, seccompCache: join(runDir(ctx.root), 'seccomp'),
      ...(options.stdio ? { stdio: options.stdio } : {}), ...(options.setsid ? { setsid: true } : {}), ...(proxy ? { stdioProxy: proxy } : {}),
    });
    proxy?.spawned();
    // The pid is on record before the child runs a step, so that a diyc-run killed
    // from here on leaves a state the next one can recover from.
    state = container.save({ ...state, pid: child.pid, pidStart: processStart(child.pid) ?? '' });
    status = await superviseChild(child, {
      ...(proxy ? { stdio: proxy } : {}),
      release: () => {
        releaseChild(child, record.process.args[0] ?? '');
        state = container.save({ ...state, status: 'running', startedAt: new Date().toISOString() });
        ctx.trace(`started ${record.process.args.join(' ')} as pid ${child.pid}`);
        options.onRunning?.(child.pid);
      },
    });
  } catch (err) {
    const exitCode = isDiycError(err, 'start') ? err.exitCode ?? 125 : 125;
    finish(container, record, ctx, { code: exitCode, signal: null }, options.remove);
    throw err;
  }
  return finish(container, record, ctx, status, options.remove);
}

function finish(container: Container, record: ContainerRecord, ctx: StageContext, status: ExitStatus, remove: boolean): RunResult {
  const exitCode = exitCodeOf(status);
  let reason: string | undefined;
  try {
    reason = teardown(record, ctx, { remove, signal: status.signal }).reason;
  } finally {
    if (remove) rmSync(container.dir, { recursive: true, force: true });
    else container.markExited(exitCode, reason);
  }
  return reason ? { status, exitCode, reason } : { status, exitCode };
}
