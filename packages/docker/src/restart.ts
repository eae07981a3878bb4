// --restart, as docker's restart manager decides, with no daemon: the detached container's
// diyc-shim runs `diyc --reap NAME` when the container's process ends (its exit command),
// and that process records the exit, then asks shouldRestart() and, after restartDelay(),
// starts the container again under a new shim with the same exit command.
// https://docs.docker.com/engine/containers/start-containers-automatically/
import { DiycError } from '@diyc/record';

export type RestartName = 'no' | 'always' | 'on-failure' | 'unless-stopped';

export interface RestartPolicy {
  Name: RestartName;
  /** on-failure:N: at most N restarts (0: no limit). */
  MaximumRetryCount: number;
}

export const NO_RESTART: RestartPolicy = { Name: 'no', MaximumRetryCount: 0 };

/** no, always, unless-stopped, on-failure or on-failure:N. */
export function parseRestartPolicy(text: string | undefined): RestartPolicy {
  if (text === undefined || text === '' || text === 'no') return { ...NO_RESTART };
  const m = /^(always|unless-stopped|on-failure)(?::(\d+))?$/.exec(text);
  if (!m) throw new DiycError('usage', `--restart ${text}: use no, always, unless-stopped, on-failure or on-failure:N`);
  const name = m[1] as RestartName;
  if (m[2] !== undefined && name !== 'on-failure')
    throw new DiycError('usage', `--restart ${text}: only on-failure takes a count of retries`);
  return { Name: name, MaximumRetryCount: m[2] === undefined ? 0 : Number(m[2]) };
}

/**
 * Whether a container that ended with `exitCode` is started again: never after `diyc stop`
 * or `diyc kill` (stoppedByUser), nor with no; always with always and unless-stopped; with
 * on-failure when it failed, fewer than N times so far.
 */
export function shouldRestart(policy: RestartPolicy, exitCode: number, restartCount: number, stoppedByUser: boolean): boolean {
  if (stoppedByUser) return false;
  switch (policy.Name) {
    case 'no':
      return false;
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return exitCode !== 0 && (policy.MaximumRetryCount === 0 || restartCount < policy.MaximumRetryCount);
  }
}

/**
 * How long to wait before restart number `restartCount + 1`: 100 ms, doubled at each
 * restart, at most a minute; back to 100 ms once a run lasted 10 seconds (docker's).
 */
export function restartDelay(restartCount: number, ranForMs: number, previousDelayMs: number | undefined): number {
  if (ranForMs >= 10_000 || previousDelayMs === undefined || restartCount === 0) return 100;
  return Math.min(60_000, previousDelayMs * 2);
}
