// A command never fails because of its own stdio, and pays for no stream it does not use.
//
// Engines start runtimes with whatever stdio they have: containerd's shim gives diyc-oci
// fds 0, 1 and 2 on /dev/null opened read-only (go-runc's NullIO), a pipeline's reader may
// be gone (`diyc-ps | head -1`: EPIPE), a supervisor may hand over a socket. Node turns a
// write that fails into an 'error' event on process.stdout or process.stderr, and an
// unhandled one ends the process with exit 1 and a stack trace, whatever the command did.
// (A closed fd 1 or 2 is reopened on /dev/null by Node at start, so it needs nothing.)
// Here what cannot be written is dropped; the command's own exit code stands, and its
// error line still reaches the command's onError hook (diyc-oci's --log).
//
// Making process.stdout or process.stderr costs a few milliseconds (Node loads its stream
// modules, and node:net for a pipe): a short command (`diyc-oci state`) writes its lines
// with write(2) itself, and a stream is made only for the commands that need one.
import { writeSync } from 'node:fs';

const drop = (): void => {};
/** The streams made so far: their pending writes are waited for before exit. */
const made = new Set<NodeJS.WriteStream>();
let guarded = false;

/**
 * From now on, a failed write to process.stdout or process.stderr is dropped instead of
 * ending the process. The streams are not made here: each is guarded when first used.
 */
export function guardStdio(): void {
  if (guarded) return;
  guarded = true;
  for (const name of ['stdout', 'stderr'] as const) {
    const descriptor = Object.getOwnPropertyDescriptor(process, name);
    const original = descriptor?.get;
    if (!descriptor || !original || descriptor.configurable !== true) {
      process[name].on('error', drop);
      made.add(process[name]);
      continue;
    }
    Object.defineProperty(process, name, {
      ...descriptor,
      get(this: NodeJS.Process) {
        const stream = original.call(this) as NodeJS.WriteStream;
        if (!made.has(stream)) {
          made.add(stream);
          stream.on('error', drop);
        }
        return stream;
      },
    });
  }
}

/**
 * Writes `text` to fd 1 (or 2), with write(2) when it can: no stream is made. A pipe a
 * parent left non-blocking (EAGAIN) gets the rest through the stream, which waits for
 * it; a reader that is gone, or a descriptor that cannot be written, drops the text.
 * Once that fd's stream exists (something wrote through it), or outside runCli's guard,
 * the text goes through the stream, so that it never overtakes what the stream still holds.
 */
export function writeOut(text: string, fd: 1 | 2 = 1): void {
  const stream = (): NodeJS.WriteStream => (fd === 1 ? process.stdout : process.stderr);
  if (!guarded || [...made].some((s) => (s as NodeJS.WriteStream & { fd?: number }).fd === fd)) {
    stream().write(text);
    return;
  }
  const data = Buffer.from(text);
  let done = 0;
  try {
    while (done < data.length) done += writeSync(fd, data, done);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') stream().write(data.subarray(done));
    else if (code !== 'EPIPE' && code !== 'EBADF' && code !== 'EINVAL' && code !== 'ENOSPC') throw err;
  }
}

/** writeOut to fd 2. */
export const writeErr = (text: string): void => writeOut(text, 2);

/**
 * Resolves once what was written to the streams made has been handed to the kernel, so a
 * pipeline stage's JSON reaches the next one whole before the process exits; at once when
 * none was made, or one has failed.
 */
export function drained(): Promise<void> {
  return Promise.all(
    [...made].map((stream) =>
      (stream as NodeJS.WriteStream & { destroyed?: boolean }).destroyed === true
        ? undefined
        : new Promise<void>((resolve) => stream.write('', () => resolve())),
    ),
  ).then(() => undefined);
}
