// Health checks, as docker runs them: a command run in the container every interval (an
// exec: its namespaces, cgroup and seccomp filter), exit 0 healthy, anything else a
// failure; `retries` failures in a row make the container unhealthy. Failures in the start
// period do not count until a check has passed once. The last five results are kept, each
// output cut at 4 KiB. https://docs.docker.com/reference/dockerfile/#healthcheck
//
// This file is the pure part: the check a container gets (image and flags merged), the
// command it runs, and the next health from a result. health-monitor.ts runs them.
import { DiycError } from '@diyc/record';
import type { Health, HealthLog } from './containers.js';

/** A container's health check; durations in milliseconds. */
export interface Healthcheck {
  /** ["CMD", arg...] or ["CMD-SHELL", command]. */
  Test: string[];
  Interval: number;
  Timeout: number;
  StartPeriod: number;
  /** The interval during the start period (docker 25's --health-start-interval). */
  StartInterval?: number;
  Retries: number;
}

/** docker's defaults for what neither the image nor a flag sets. */
export const HEALTH_DEFAULTS = { Interval: 30_000, Timeout: 30_000, StartPeriod: 0, StartInterval: 5_000, Retries: 3 } as const;

/** What `docker inspect` shows of Output: the last 4 KiB a check wrote. */
export const HEALTH_OUTPUT_MAX = 4096;

/** How many results State.Health.Log keeps. */
const LOG_KEPT = 5;

/** The image's HEALTHCHECK, as its config has it: durations in nanoseconds, 0 for "the default". */
export interface ImageHealthcheck {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The --health-* flags, durations in milliseconds. */
export interface HealthFlags {
  cmd?: string;
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
  none: boolean;
}

/**
 * The check a container runs: the image's, its parts replaced by the flags given
 * (--health-cmd replaces its test), none with --no-healthcheck or a test of ["NONE"].
 */
export function resolveHealthcheck(image: ImageHealthcheck | undefined, flags: HealthFlags): Healthcheck | undefined {
  if (flags.none) return undefined;
  const test = flags.cmd !== undefined ? ['CMD-SHELL', flags.cmd] : image?.Test;
  if (test === undefined || test.length === 0 || test[0] === 'NONE') return undefined;
  if (test[0] !== 'CMD' && test[0] !== 'CMD-SHELL')
    throw new DiycError('invalid', `the image's health check ${JSON.stringify(test)} is neither CMD nor CMD-SHELL`);
  const ms = (ns: number | undefined): number | undefined => (ns ? ns / 1e6 : undefined);
  const check: Healthcheck = {
    Test: test,
    Interval: flags.interval || ms(image?.Interval) || HEALTH_DEFAULTS.Interval,
    Timeout: flags.timeout || ms(image?.Timeout) || HEALTH_DEFAULTS.Timeout,
    StartPeriod: flags.startPeriod ?? ms(image?.StartPeriod) ?? HEALTH_DEFAULTS.StartPeriod,
    Retries: flags.retries || image?.Retries || HEALTH_DEFAULTS.Retries,
  };
  const startInterval = flags.startInterval || ms(image?.StartInterval);
  if (startInterval) check.StartInterval = startInterval;
  return check;
}

/** docker's containertypes.MinimumDuration: a duration given (not 0) may not be shorter. */
const MINIMUM_MS = 1;

/**
 * --no-healthcheck with a --health-* flag, and durations under 1 ms: docker's errors.
 * A 1ns interval would exec a check back to back for as long as the container runs.
 */
export function checkHealthFlags(flags: HealthFlags): HealthFlags {
  const given = flags.cmd !== undefined || [flags.interval, flags.timeout, flags.startPeriod, flags.retries].some((v) => v !== undefined);
  if (flags.none && given) throw new DiycError('usage', '--no-healthcheck conflicts with --health-* options');
  for (const [name, ms] of [
    ['Interval', flags.interval],
    ['Timeout', flags.timeout],
    ['StartPeriod', flags.startPeriod],
    ['StartInterval', flags.startInterval],
  ] as const) {
    if (ms !== undefined && ms !== 0 && ms < MINIMUM_MS) throw new DiycError('usage', `${name} in Healthcheck cannot be less than 1ms`);
  }
  return flags;
}

/** --health-retries: a whole number, at least 0 (0: docker's default of 3). */
export function parseRetries(text: string): number {
  if (!/^\d+$/.test(text)) throw new DiycError('usage', `--health-retries ${text}: give a whole number`);
  return Number(text);
}

/** The argv a check runs: CMD's as they are, CMD-SHELL's through /bin/sh -c, as docker. */
export function healthArgv(check: Healthcheck): string[] {
  const [kind, ...rest] = check.Test;
  if (kind === 'CMD-SHELL') return ['/bin/sh', '-c', rest.join(' ')];
  return rest;
}

/** How long to wait before the next check: the start interval while the start period lasts, if set. */
export function nextDelay(check: Healthcheck, startedAt: number, now: number): number {
  const inStart = now - startedAt < check.StartPeriod;
  return inStart && check.StartInterval !== undefined ? check.StartInterval : check.Interval;
}

/**
 * The health after one check: healthy on exit 0 (the failing streak ended); a failure adds
 * to the streak, and `retries` of them make it unhealthy. A failure in the start period,
 * before any check passed, does not count (docker's "start period").
 */
export function nextHealth(health: Health, check: Healthcheck, result: HealthLog, inStartPeriod: boolean): Health {
  const Log = [...health.Log, { ...result, Output: lastBytes(result.Output, HEALTH_OUTPUT_MAX) }].slice(-LOG_KEPT);
  if (result.ExitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log };
  if (inStartPeriod && health.Status === 'starting') return { ...health, Log };
  const FailingStreak = health.FailingStreak + 1;
  return { Status: FailingStreak >= check.Retries ? 'unhealthy' : health.Status, FailingStreak, Log };
}

function lastBytes(text: string, max: number): string {
  const bytes = Buffer.from(text);
  return bytes.length <= max ? text : bytes.subarray(bytes.length - max).toString();
}
