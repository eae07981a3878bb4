// runRecord(): start a record's command, pass signals and the terminal to it, and
// report how it ended.
import { isSyscallError, spawn, forwardSignals, getpgrp, tcsetpgrp, type Child, type ExitStatus, type SyscallError } from '@diyc/syscalls';
import type { ContainerRecord } from '@diyc/record';
import { planFromRecord, type PlanOptions } from './plan.js';

/** Why a command could not start, with the exit code a shell would give. */
export class StartError extends Error {
  override name = 'StartError';
  readonly exitCode: number;
  readonly cause: SyscallError;
  constructor(message: string, exitCode: number, cause: SyscallError) {
    super(message);
    this.exitCode = exitCode;
    this.cause = cause;
  }
}

/** Turns a failed exec into what a shell says: 127 not found, 126 not executable. */
export function startError(err: SyscallError, command: string): StartError {
  if (err.step === 'execve' && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) {
    return new StartError(`${command}: command not found`, 127, err);
  }
  if (err.step === 'execve' && (err.code === 'EACCES' || err.code === 'ENOEXEC' || err.code === 'EISDIR' || err.code === 'EPERM')) {
    return new StartError(`${command}: cannot execute: ${err.code === 'ENOEXEC' ? 'exec format error' : 'permission denied'}`, 126, err);
  }
  return new StartError(`cannot start ${command}: ${err.step ?? err.syscall} failed: ${err.message}`, 125, err);
}

/** Starts the record's command. Throws a StartError if any step before exec fails. */
export function startRecord(record: ContainerRecord, options: PlanOptions = {}): Child {
  const plan = planFromRecord(record, options);
  try {
    const child = spawn(plan);
    return child;
  } catch (err) {
    if (isSyscallError(err)) throw startError(err, plan.argv[0] ?? '');
    throw err;
  }
}

/** Lets a held child run; errors become StartErrors. */
export function releaseChild(child: Child, command: string): void {
  try {
    child.release();
  } catch (err) {
    if (isSyscallError(err)) throw startError(err, command);
    throw err;
  }
}

/**
 * Waits for `child`, forwarding signals; when it held the terminal, takes the terminal
 * back for this process group afterwards.
 */
export async function superviseChild(child: Child, options: { foreground?: boolean } = {}): Promise<ExitStatus> {
  const stop = forwardSignals(child);
  try {
    return await child.exited;
  } finally {
    stop();
    if (options.foreground) {
      try { tcsetpgrp(0, getpgrp()); } catch { /* the terminal is gone: nothing to take back */ }
    }
  }
}

/** Runs a record to its end: start, forward signals, wait. */
export async function runRecord(record: ContainerRecord, options: PlanOptions = {}): Promise<ExitStatus> {
  const child = startRecord(record, options);
  return superviseChild(child, options);
}
