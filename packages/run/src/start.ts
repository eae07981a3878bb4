// The last stage: start the prepared container, supervise it, and clean up after it.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { releaseChild, startRecord, StartError, superviseChild, traceRecord } from '@diyc/nsexec';
import { ANNOTATION, containerDir, runDir, type ContainerRecord } from '@diyc/record';
import { exitCodeOf, type ExitStatus } from '@diyc/syscalls';
import { writeEtcFiles } from './etc-files.js';
import { readInRoot } from './rootfs-files.js';
import { resolveUser } from './spec.js';
import type { StageContext } from './stages.js';
import { teardown } from './stages.js';
import { processStart, readConfig, writeExited, writeState, type ContainerState } from './state.js';

export interface StartOptions {
  /** The command gets the terminal (stdin is one). */
  foreground: boolean;
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

function applyImageUser(record: ContainerRecord): void {
  const user = record.annotations['org.diyc.image.user'];
  const rootfs = record.root?.path;
  if (!user || record.process.user || !rootfs) return;
  const read = (p: string): string => readInRoot(rootfs, p) ?? '';
  record.process.user = resolveUser(user, read('/etc/passwd'), read('/etc/group'));
}

export function baseState(record: ContainerRecord, name: string): ContainerState {
  const state: ContainerState = {
    name,
    image: record.annotations[ANNOTATION.image] ?? '',
    status: 'created',
    command: record.process.args,
    net: record.annotations['org.diyc.net.mode'] ?? (record.annotations[ANNOTATION.bridge] ? 'bridge' : 'host'),
    supervisorPid: process.pid,
    supervisorStart: processStart(process.pid) ?? '',
  };
  const ip = record.annotations[ANNOTATION.ip];
  if (ip) state.ip = ip;
  return state;
}

/** Starts NAME from its config.json, waits for it, and runs the stages' inverses. */
export async function startContainer(name: string, ctx: StageContext, options: StartOptions): Promise<RunResult> {
  const record = readConfig(name, ctx.root);
  if (!record) throw new Error(`container ${name} has no config.json: prepare it first`);
  const state = baseState(record, name);
  let status: ExitStatus | undefined;
  try {
    applyImageUser(record);
    writeEtcFiles(record);
    traceRecord(record, ctx.trace);
    const child = startRecord(record, {
      foreground: options.foreground, hold: true, newKeyring: true, trace: ctx.trace, seccompCache: join(runDir(ctx.root), 'seccomp'),
      ...(options.stdio ? { stdio: options.stdio } : {}), ...(options.setsid ? { setsid: true } : {}),
    });
    // The pid is on record before the child runs a step, so that a diyc-run killed
    // from here on leaves a state the next one can recover from.
    state.pid = child.pid;
    writeState(state, ctx.root);
    try {
      releaseChild(child, record.process.args[0] ?? '');
    } catch (err) {
      await child.exited;
      throw err;
    }
    state.status = 'running';
    state.startedAt = new Date().toISOString();
    writeState(state, ctx.root);
    ctx.trace(`started ${record.process.args.join(' ')} as pid ${child.pid}`);
    options.onRunning?.(child.pid);
    status = await superviseChild(child, { foreground: options.foreground });
  } catch (err) {
    const exitCode = err instanceof StartError ? err.exitCode : 125;
    finish(name, record, ctx, state, { code: exitCode, signal: null }, options.remove);
    throw err;
  }
  return finish(name, record, ctx, state, status, options.remove);
}

function finish(name: string, record: ContainerRecord, ctx: StageContext, state: ContainerState, status: ExitStatus, remove: boolean): RunResult {
  const exitCode = exitCodeOf(status);
  let reason: string | undefined;
  try {
    reason = teardown(name, record, ctx, { remove, signal: status.signal }).reason;
  } finally {
    if (remove) rmSync(containerDir(name, ctx.root), { recursive: true, force: true });
    else writeExited(state, exitCode, reason, ctx.root);
  }
  return reason ? { status, exitCode, reason } : { status, exitCode };
}
