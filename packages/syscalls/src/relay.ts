// A pipe copied to a descriptor as it comes, on the event loop, by the addon (relay.cc):
// what a container writes, to the user's stdout or stderr, without making process.stdout
// (on a terminal that loads node:tty, node:net and the stream modules: ~8 ms of CPU).
import { native } from './binding.js';

export interface Relay {
  /** Resolves once the pipe has ended (every writer has closed it), or stop() was called. */
  readonly ended: Promise<void>;
  /** Ends it now: what is still in the pipe is not copied. */
  stop(): void;
}

/**
 * Copies pipe `from` to `to`, calling `onData` with each chunk when given (a log). `from`
 * is a read end of ours: the relay makes it non-blocking and closes it at the end, or at
 * once when it cannot start (and throws). A destination that is full stops the reading, so
 * the writer waits; one that fails (its reader is gone) ends the relay, and the writer's
 * next write gets SIGPIPE, as in a shell pipeline.
 */
export function relay(from: number, to: number, onData?: (chunk: Buffer) => void): Relay {
  let done!: () => void;
  const ended = new Promise<void>((resolve) => {
    done = resolve;
  });
  const id = native().relay(from, to, onData ?? null, done);
  return { ended, stop: () => native().stopRelay(id) };
}
