// runRecord(): start a record's command, pass signals and the terminal to it, and
// report how it ended.
import {
  isSyscallError,
  spawn,
  forwardSignals,
  getpgrp,
  tcsetpgrp,
  SIGNALS_FORWARDED,
  type Child,
  type ExitStatus,
  type SyscallError,
} from '@diyc/syscalls';
import { DiycError, type ContainerRecord } from '@diyc/record';
import { planFromRecord, type PlanOptions } from './plan.js';
import type { StdioProxy } from './stdio.js';

/**
 * Why a command could not start, as a shell says it: 127 not found, 126 not executable,
 * and 125 (the runtime's own failure) for a step before execve. Kind 'start'.
 */
export function startError(err: SyscallError, command: string): DiycError {
  if (err.step === 'execve' && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) {
    return new DiycError('start', `${command}: command not found`, { exitCode: 127, cause: err });
  }
  if (err.step === 'execve' && (err.code === 'EACCES' || err.code === 'ENOEXEC' || err.code === 'EISDIR' || err.code === 'EPERM')) {
    return new DiycError('start', `${command}: cannot execute: ${err.code === 'ENOEXEC' ? 'exec format error' : 'permission denied'}`, {
      exitCode: 126,
      cause: err,
    });
  }
  return new DiycError('start', `cannot start ${command}: ${err.step ?? err.syscall} failed: ${err.message}`, {
    exitCode: 125,
    cause: err,
  });
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
export async function releaseChild(child: Child, command: string): Promise<void> {
  try {
    await child.release();
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
 * With `stdio`, its terminal or pipes are proxied from the moment it runs until its last
 * output is out; a pty passes window changes on itself, so SIGWINCH is not forwarded.
 */
export async function superviseChild(
  child: Child,
  options: { foreground?: boolean; release?: () => void | Promise<unknown>; stdio?: StdioProxy } = {},
): Promise<ExitStatus> {
  const { stdio } = options;
  const stop = forwardSignals(child, stdio?.terminal ? SIGNALS_FORWARDED.filter((s) => s !== 'SIGWINCH') : SIGNALS_FORWARDED);
  try {
    try {
      await options.release?.();
      stdio?.started();
    } catch (err) {
      await child.exited;
      throw err;
    }
    return await child.exited;
  } finally {
    stop();
    await stdio?.finish();
    if (options.foreground) {
      try {
        tcsetpgrp(0, getpgrp());
      } catch {
        /* the terminal is gone: nothing to take back */
      }
    }
  }
}

/** Runs a record to its end: start, forward signals, wait. */
export async function runRecord(record: ContainerRecord, options: PlanOptions = {}): Promise<ExitStatus> {
  const child = startRecord(record, { ...options, hold: true });
  options.stdioProxy?.spawned();
  return superviseChild(child, {
    ...(options.foreground ? { foreground: true } : {}),
    ...(options.stdioProxy ? { stdio: options.stdioProxy } : {}),
    release: () => releaseChild(child, record.process.args[0] ?? ''),
  });
}
