// The -v trace: one line a step, tagged with where it runs, as diyC printed
// "HOST| ..." and "CONTAINER| ...".

import type { Trace } from '@diyc/record';

export type { Trace } from '@diyc/record';

/** A trace that writes `TAG| message` lines to stderr when enabled, and does nothing otherwise. */
export function createTrace(enabled: boolean, defaultTag = 'HOST'): Trace {
  if (!enabled) return noTrace;
  const trace = (message: string, tag = defaultTag): void => { process.stderr.write(`${tag}| ${message}\n`); };
  return Object.assign(trace, { enabled: true });
}

export const noTrace: Trace = Object.assign(() => {}, { enabled: false });
