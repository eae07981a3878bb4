// runRecord(): start a record's command, pass signals and the terminal to it, and
// report how it ended.
import { isSyscallError, spawn, forwardSignals, getpgrp, tcsetpgrp, type Child, type ExitStatus, type SyscallError } from '@diyc/syscalls';
import { DiycError, type ContainerRecord } from '@diyc/record';
import { planFromRecord, type PlanOptions } from './plan.js';

/**
 * Why a command could not start, as a shell says it: 127 not found, 126 not executable,
 * and 125 (the runtime's own failure) for a step before execve. Kind 'start'.
 */
export function startError(err: SyscallError, command: string): DiycError {
  if (err.step === 'execve' && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) {
    return new DiycError('start', `${command}: command not found`, { exitCode: 127, cause: err });
  }
  if (err.step === 'execve' && (err.code === 'EACCES' || err.code === 'ENOEXEC' || err.code === 'EISDIR' || err.code === 'EPERM')) {
    return new DiycError('start', `${command}: cannot execute: ${err.code === 'ENOEXEC' ? 'exec format error' : 'permission denied'}`, { exitCode: 126, cause: err });
  }
  return new DiycError('start', `cannot start ${command}: ${err.step ?? err.syscall} failed: ${err.message}`, { exitCode: 125, cause: err });
}

/** Starts the record's command. Throws a 'start' DiycError if any step before exec fails. */
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

/** Lets a held child run; errors become 'start' DiycErrors. */
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
 * back for this process group afterwards. Give a held child with `release` (which lets it
 * run): the forwarding is in place before the command can run, so a signal sent as soon
 * as it prints something reaches it, and does not end this process by its default action.
 */
export async function superviseChild(child: Child, options: { foreground?: boolean; release?: () => void } = {}): Promise<ExitStatus> {
  const stop = forwardSignals(child);
  try {
    try {
      options.release?.();
    } catch (err) {
      await child.exited;
      throw err;
    }
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
  const child = startRecord(record, { ...options, hold: true });
  return superviseChild(child, { ...options, release: () => releaseChild(child, record.process.args[0] ?? '') });
}
