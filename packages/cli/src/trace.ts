// The -v trace: one line a step, tagged with where it runs, as diyC printed
// "HOST| ..." and "CONTAINER| ...". Timed steps (Trace.begin) end with their duration,
// and with --trace FILE the run is also kept as Chrome trace-event JSON, which Perfetto
// (ui.perfetto.dev) and about://tracing open: one track for this process, one for the
// container's child with the steps child.cc timed itself.
// Format: https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU

import { writeFileSync } from 'node:fs';
import type { TimedSlice, Trace } from '@diyc/record';
import { writeErr } from './stdio.js';
import { printable } from './table.js';

export type { Trace } from '@diyc/record';

export interface TraceOptions {
  /** Print the lines on stderr (-v). */
  verbose: boolean;
  /** Also write the run as Chrome trace-event JSON to this file when the process exits. */
  file?: string;
  /** The tag of lines that name none: HOST. */
  tag?: string;
  /** The name of this process's track in the file. */
  process?: string;
}

/** One event of the trace-event format: a complete slice (X), an instant (i) or a track's name (M). */
interface TraceEvent {
  name: string;
  ph: 'X' | 'i' | 'M';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  s?: 't';
  cat?: string;
  args?: Record<string, string>;
}

/** Microseconds on the monotonic clock, as trace events count them. */
const micros = (ns: bigint): number => Number(ns / 1000n);
const ms = (ns: bigint): string => `${(Number(ns) / 1e6).toFixed(1)} ms`;

/**
 * A trace that writes `TAG| message` lines to stderr when verbose, keeps timed steps when
 * verbose or given a file, and does nothing otherwise. `createTrace(true)` is -v alone.
 */
export function createTrace(options: boolean | TraceOptions, defaultTag = 'HOST'): Trace {
  const { verbose, file, tag = defaultTag, process: track = 'diyc' } = typeof options === 'boolean' ? { verbose: options } : options;
  if (!verbose && file === undefined) return noTrace;
  const events: TraceEvent[] = [];
  const self = process.pid;
  // A step can name what an image chose (its command): shown escaped, as in tables.
  const say = (message: string, lineTag = tag): void => {
    if (verbose) writeErr(`${lineTag}| ${printable(message)}\n`);
    if (file !== undefined)
      events.push({ name: message, ph: 'i', s: 't', ts: micros(process.hrtime.bigint()), pid: self, tid: self, cat: lineTag });
  };
  const begin = (name: string, lineTag = tag): (() => void) => {
    const start = process.hrtime.bigint();
    return () => {
      const end = process.hrtime.bigint();
      if (verbose) writeErr(`${lineTag}| ${printable(name)}: ${ms(end - start)}\n`);
      if (file !== undefined)
        events.push({ name, ph: 'X', ts: micros(start), dur: micros(end - start), pid: self, tid: self, cat: lineTag });
    };
  };
  const slices = (name: string, pid: number, steps: readonly TimedSlice[]): void => {
    if (verbose) for (const step of steps) writeErr(`CONTAINER| ${printable(step.name)}: ${ms(step.endNs - step.startNs)}\n`);
    if (file === undefined) return;
    events.push({ name: 'process_name', ph: 'M', pid, tid: pid, args: { name } });
    for (const step of steps)
      events.push({
        name: step.name,
        ph: 'X',
        ts: micros(step.startNs),
        dur: micros(step.endNs - step.startNs),
        pid,
        tid: pid,
        cat: 'CONTAINER',
      });
  };
  if (file !== undefined) {
    events.push({ name: 'process_name', ph: 'M', pid: self, tid: self, args: { name: `${track} (pid ${self})` } });
    // At exit, whatever the path out: a failed run is the one most worth a look.
    process.on('exit', () => {
      try {
        writeFileSync(file, `${JSON.stringify({ traceEvents: events, displayTimeUnit: 'ms' })}\n`);
      } catch (err) {
        writeErr(`${track}: --trace ${file}: ${(err as Error).message}\n`);
      }
    });
  }
  return Object.assign(say, { enabled: verbose, begin, slices });
}

export const noTrace: Trace = Object.assign(() => {}, { enabled: false });
