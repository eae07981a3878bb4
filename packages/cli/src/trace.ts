// The -v trace: one line a step, tagged with where it runs, as diyC printed
// "HOST| ..." and "CONTAINER| ...".

/** Writes one trace line; `tag` says where the step runs (HOST or CONTAINER). */
export type Trace = (message: string, tag?: string) => void;

/** A trace that writes `TAG| message` lines to stderr when enabled, and does nothing otherwise. */
export function createTrace(enabled: boolean, defaultTag = 'HOST'): Trace {
  if (!enabled) return () => {};
  return (message, tag = defaultTag) => { process.stderr.write(`${tag}| ${message}\n`); };
}

export const noTrace: Trace = () => {};
