// One error type for every diyc package (as crun's libcrun_error_t): a kind that says
// what went wrong for a program, a message that says it for a person, the exit code a
// command ends with, and the error it came from. Each layer adds what it was doing with
// wrap(), so the one line a user sees names the operation and the file.

/** What went wrong, for programs (tests, the OCI CLI's error text, exit codes). */
export type ErrorKind =
  | 'usage' // bad flags or operands: exit 2
  | 'invalid' // a bad value in input (a config.json, an image, a name)
  | 'not-found' // no such container, image, cgroup, file
  | 'exists' // already there, or in use
  | 'state' // not in a state for this (not running, still running)
  | 'unsupported' // asked for something diyc cannot honour
  | 'missing' // a tool or a kernel feature is missing on this machine
  | 'system' // a system call or a command failed
  | 'start'; // the container's command could not start (exit 126 or 127)

const EXIT_CODES: Partial<Record<ErrorKind, number>> = { usage: 2 };

export class DiycError extends Error {
  override name = 'DiycError';
  readonly kind: ErrorKind;
  /** The exit code a command ends with; undefined: the command's own failure code. */
  readonly exitCode: number | undefined;

  constructor(kind: ErrorKind, message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.exitCode = options.exitCode ?? EXIT_CODES[kind];
  }
}

/** True for a DiycError, of `kind` when given. */
export function isDiycError(err: unknown, kind?: ErrorKind): err is DiycError {
  return err instanceof DiycError && (kind === undefined || err.kind === kind);
}

/**
 * Adds what the caller was doing to an error: "cleaning up box: cannot remove ...". A
 * DiycError keeps its kind and exit code; any other error becomes a 'system' one.
 */
export function wrap(err: unknown, context: string, kind?: ErrorKind): DiycError {
  const message = err instanceof Error ? err.message : String(err);
  const base = isDiycError(err) ? err : undefined;
  const options: { cause: unknown; exitCode?: number } = { cause: err };
  if (base?.exitCode !== undefined && kind === undefined) options.exitCode = base.exitCode;
  return new DiycError(kind ?? base?.kind ?? 'system', `${context}: ${message}`, options);
}
