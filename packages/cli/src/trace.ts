// The -v trace: one line a step, tagged with where it runs, as diyC printed
// "HOST| ..." and "CONTAINER| ...".

/** Writes one trace line; `tag` says where the step runs (HOST or CONTAINER). */
export interface Trace {
  (message: string, tag?: string): void;
  /** False for a trace that writes nothing: skip work done only to describe a step. */
  readonly enabled: boolean;
}

/** A trace that writes `TAG| message` lines to stderr when enabled, and does nothing otherwise. */
export function createTrace(enabled: boolean, defaultTag = 'HOST'): Trace {
  if (!enabled) return noTrace;
  const trace = (message: string, tag = defaultTag): void => { process.stderr.write(`${tag}| ${message}\n`); };
  return Object.assign(trace, { enabled: true });
}

export const noTrace: Trace = Object.assign(() => {}, { enabled: false });
