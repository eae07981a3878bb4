// The -v trace: one line a step, tagged with where it runs, as diyC printed
// "HOST| ..." and "CONTAINER| ...".

import type { Trace } from '@diyc/record';
import { writeErr } from './stdio.js';
import { printable } from './table.js';

export type { Trace } from '@diyc/record';

/** A trace that writes `TAG| message` lines to stderr when enabled, and does nothing otherwise. */
export function createTrace(enabled: boolean, defaultTag = 'HOST'): Trace {
  if (!enabled) return noTrace;
  // A step can name what an image chose (its command): shown escaped, as in tables.
  const trace = (message: string, tag = defaultTag): void => { writeErr(`${tag}| ${printable(message)}\n`); };
  return Object.assign(trace, { enabled: true });
}

export const noTrace: Trace = Object.assign(() => {}, { enabled: false });
