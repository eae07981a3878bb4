// A container run in the foreground (diyc-run, `diyc run` without -d): created, waited for
// (its stdio proxied, signals forwarded), started, and finished when its process ends.
// The order matters: the waiting begins before the command runs, so a Ctrl-C as soon as
// it starts goes to the container, never to this process; and a signal that comes while
// it is being created lets the step under way finish, then undoes everything.
import { constants } from 'node:os';
import { DiycError, timed, type ContainerRecord } from '@diyc/record';
import type { Container } from './container.js';
import { create, type CreateOptions } from './create.js';
import { wait, type RunResult } from './finish.js';
import type { Runtime } from './policy.js';
import { start } from './start.js';

/**
 * Runs `fn` with Ctrl-C (and TERM, HUP) held back: the step under way is finished, then
 * everything is undone, rather than half a container left in place (create asks
 * `interrupted`). An error after a signal exits as that signal would (128+N).
 */
export async function holdingSignals<T>(fn: (interrupted: () => string | undefined) => Promise<T>): Promise<T> {
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted ??= signal;
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, onSignal);
  try {
    return await fn(() => interrupted);
  } catch (err) {
    if (interrupted) throw new DiycError('system', (err as Error).message, { exitCode: 128 + constants.signals[interrupted] });
    throw err;
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
  }
}

export interface ForegroundOptions {
  /** Remove the container's files when it ends (--rm). */
  remove: boolean;
  /** The record's stages were run already (diyc-run's --pipeline). */
  prepared?: boolean;
  describe?: CreateOptions['describe'];
  /** Descriptors for its 0, 1, 2 (null: this process's, proxied when a terminal). */
  stdio?: CreateOptions['stdio'];
}

/** Creates, starts and waits for the container in this process; how it ended. */
export async function runForeground(
  rt: Runtime,
  container: Container,
  record: ContainerRecord,
  options: ForegroundOptions,
): Promise<RunResult> {
  const created = await timed(rt.trace, 'create', () =>
    holdingSignals((interrupted) =>
      create(rt, container, record, {
        foreground: true,
        interrupted,
        ...(options.describe ? { describe: options.describe } : {}),
        ...(options.prepared ? { prepared: true } : {}),
        ...(options.stdio ? { stdio: options.stdio } : {}),
      }),
    ),
  );
  // From here to the end of teardown: the command's run, and what is undone after it.
  const exited = timed(rt.trace, 'run and finish', () => wait(rt, created, { remove: options.remove }));
  try {
    await timed(rt.trace, 'start', () => start(rt, container));
  } catch (err) {
    created.child.kill('SIGKILL');
    await exited;
    throw err;
  }
  return exited;
}
