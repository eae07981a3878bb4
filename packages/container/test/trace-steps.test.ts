// The container process's own step times, handed to the trace as a track of their own.
import type { TimedSlice, Trace } from '@diyc/record';
import type { Child, StepTime } from '@diyc/syscalls';
import { describe, expect, it } from 'vitest';
import { traceChildSteps } from '../src/create.js';

function fakeChild(times: StepTime[]): Child {
  return { pid: 42, stepTimes: () => times } as unknown as Child;
}

function fakeTrace(withSlices: boolean): { trace: Trace; got: { track: string; pid: number; slices: readonly TimedSlice[] }[] } {
  const got: { track: string; pid: number; slices: readonly TimedSlice[] }[] = [];
  const say = Object.assign(
    () => {},
    { enabled: true },
    withSlices ? { slices: (track: string, pid: number, slices: readonly TimedSlice[]) => got.push({ track, pid, slices }) } : {},
  );
  return { trace: say as Trace, got };
}

describe('traceChildSteps', () => {
  it('gives each step that ended its own slice, on the clock of process.hrtime, named with its index', () => {
    const { trace, got } = fakeTrace(true);
    traceChildSteps(
      trace,
      fakeChild([
        { step: 'dumpable', index: -1, startNs: 5n, atNs: 1005n, durationNs: 10n },
        { step: 'mount', index: 3, startNs: 15n, atNs: 1015n, durationNs: 7n },
        { step: 'start_fifo', index: 1, startNs: 22n, atNs: 1022n, durationNs: null },
      ]),
    );
    expect(got).toEqual([
      {
        track: 'container process',
        pid: 42,
        slices: [
          { name: 'dumpable', startNs: 1005n, endNs: 1015n },
          { name: 'mount 3', startNs: 1015n, endNs: 1022n },
        ],
      },
    ]);
  });

  it('does nothing for a trace that keeps no time, or a child that timed nothing', () => {
    const quiet = fakeTrace(false);
    expect(() =>
      traceChildSteps(quiet.trace, fakeChild([{ step: 'dumpable', index: -1, startNs: 0n, atNs: 1n, durationNs: 1n }])),
    ).not.toThrow();
    const empty = fakeTrace(true);
    traceChildSteps(empty.trace, fakeChild([]));
    expect(empty.got).toEqual([]);
  });
});
