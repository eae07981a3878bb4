import { constants } from 'node:os';
import type { Child, ExitStatus } from './spawn.js';

/** A shell's exit code for a status: the code itself, or 128 + the signal number. */
export function exitCodeOf(status: ExitStatus): number {
  if (status.signal !== null) return 128 + status.signal;
  return status.code ?? 1;
}

/** The signals a runtime passes on to its command (as docker and runc do). */
export const SIGNALS_FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/**
 * Passes the signals this process receives on to `child` until it exits. Returns a
 * function that stops forwarding. While forwarding, Node's default action (exit) for
 * these signals is off: the child decides, and we exit as it does.
 */
export function forwardSignals(child: Child, signals: readonly NodeJS.Signals[] = SIGNALS_FORWARDED): () => void {
  const handlers = signals.map((sig) => {
    const handler = (): void => {
      child.kill(constants.signals[sig]);
    };
    process.on(sig, handler);
    return [sig, handler] as const;
  });
  return () => {
    for (const [sig, handler] of handlers) process.off(sig, handler);
  };
}
