import { describe, expect, it } from 'vitest';
import type { Health } from '../src/containers.js';
import { checkHealthFlags, healthArgv, nextDelay, nextHealth, resolveHealthcheck, type Healthcheck } from '../src/health.js';

const none = { none: false };
const check: Healthcheck = { Test: ['CMD-SHELL', 'true'], Interval: 1000, Timeout: 500, StartPeriod: 10_000, Retries: 2 };
const result = (code: number, output = '') => ({ Start: 's', End: 'e', ExitCode: code, Output: output });
const starting: Health = { Status: 'starting', FailingStreak: 0, Log: [] };

describe('health checks', () => {
  it("takes the image's HEALTHCHECK (nanoseconds), its parts replaced by the flags, docker's defaults for the rest", () => {
    const image = { Test: ['CMD', 'curl', '-f', 'http://localhost'], Interval: 5e9, Retries: 0 };
    expect(resolveHealthcheck(image, none)).toEqual({ Test: image.Test, Interval: 5000, Timeout: 30_000, StartPeriod: 0, Retries: 3 });
    expect(resolveHealthcheck(image, { none: false, cmd: 'exit 0', timeout: 2000 })).toMatchObject({
      Test: ['CMD-SHELL', 'exit 0'],
      Interval: 5000,
      Timeout: 2000,
    });
    expect(resolveHealthcheck(image, { none: true })).toBeUndefined();
    expect(resolveHealthcheck({ Test: ['NONE'] }, none)).toBeUndefined();
    expect(resolveHealthcheck(undefined, none)).toBeUndefined();
    expect(() => resolveHealthcheck({ Test: ['RUN', 'x'] }, none)).toThrow(/neither CMD nor CMD-SHELL/);
  });

  it("refuses durations under docker's 1ms (a 1ns interval would exec checks back to back), 0 being the default", () => {
    for (const key of ['interval', 'timeout', 'startPeriod', 'startInterval'] as const) {
      expect(() => checkHealthFlags({ none: false, cmd: 'true', [key]: 1e-6 })).toThrow(/in Healthcheck cannot be less than 1ms/);
      expect(checkHealthFlags({ none: false, cmd: 'true', [key]: 1 })).toMatchObject({ [key]: 1 });
      expect(checkHealthFlags({ none: false, cmd: 'true', [key]: 0 })).toMatchObject({ [key]: 0 });
    }
  });

  it('runs CMD as given and CMD-SHELL through /bin/sh -c', () => {
    expect(healthArgv({ ...check, Test: ['CMD', 'cat', '/ok'] })).toEqual(['cat', '/ok']);
    expect(healthArgv(check)).toEqual(['/bin/sh', '-c', 'true']);
  });

  it('checks at the start interval during the start period, then at the interval', () => {
    const fast = { ...check, StartInterval: 100 };
    expect(nextDelay(fast, 0, 5000)).toBe(100);
    expect(nextDelay(fast, 0, 10_000)).toBe(1000);
    expect(nextDelay(check, 0, 5000)).toBe(1000);
  });

  it('is healthy on exit 0, unhealthy after `retries` failures in a row; failures in the start period count only once one passed', () => {
    let h = nextHealth(starting, check, result(1), true);
    expect([h.Status, h.FailingStreak, h.Log.length]).toEqual(['starting', 0, 1]);
    h = nextHealth(h, check, result(0, 'ok'), true);
    expect([h.Status, h.FailingStreak]).toEqual(['healthy', 0]);
    h = nextHealth(h, check, result(1), true);
    expect([h.Status, h.FailingStreak]).toEqual(['healthy', 1]);
    h = nextHealth(h, check, result(2), false);
    expect([h.Status, h.FailingStreak]).toEqual(['unhealthy', 2]);
    h = nextHealth(h, check, result(0), false);
    expect([h.Status, h.FailingStreak]).toEqual(['healthy', 0]);
  });

  it('keeps the last five results, each output cut to its last 4 KiB', () => {
    let h = starting;
    for (let i = 0; i < 7; i++) h = nextHealth(h, check, result(0, `${i}${'x'.repeat(5000)}`), false);
    expect(h.Log).toHaveLength(5);
    expect(h.Log.map((l) => Buffer.byteLength(l.Output))).toEqual([4096, 4096, 4096, 4096, 4096]);
  });
});
