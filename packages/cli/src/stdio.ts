// A command never fails because of its own stdio.
//
// Engines start runtimes with whatever stdio they have: containerd's shim gives diyc-oci
// fds 0, 1 and 2 on /dev/null opened read-only (go-runc's NullIO), a pipeline's reader may
// be gone (`diyc-ps | head -1`: EPIPE), a supervisor may hand over a socket. Node turns a
// write that fails into an 'error' event on process.stdout or process.stderr, and an
// unhandled one ends the process with exit 1 and a stack trace, whatever the command did.
// (A closed fd 1 or 2 is reopened on /dev/null by Node at start, so it needs nothing.)
// Here what cannot be written is dropped; the command's own exit code stands, and its
// error line still reaches the command's onError hook (diyc-oci's --log).

const drop = (): void => {};

/** From now on, a failed write to these streams is dropped instead of ending the process. */
export function guardStdio(streams: readonly NodeJS.WritableStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) stream.off('error', drop).on('error', drop);
}

/**
 * Resolves once what was written to `stream` has been handed to the kernel, so a pipeline
 * stage's JSON reaches the next one whole before the process exits; at once when the
 * stream has failed.
 */
export function drained(stream: NodeJS.WritableStream & { destroyed?: boolean } = process.stdout): Promise<void> {
  if (stream.destroyed === true) return Promise.resolve();
  return new Promise((resolve) => stream.write('', () => resolve()));
}
