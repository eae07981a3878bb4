// The log of a run in the foreground. docker keeps what every container writes, so
// `docker run --name x ... ; docker logs x` shows it again; a detached container's log is
// kept by diyc-shim, and this keeps a foreground one's: the container writes to pipes, and
// this process copies each chunk to your stdout or stderr (the addon's relay: no Node
// stream, whose modules cost a run ~8 ms) and appends it to the same log file, rotated as
// the shim rotates it (log -> log.1 -> ... -> log.N, at the size limit), so that a
// container that floods its output cannot fill the host's disk.
// With -t the output is the pty's, proxied by the core to your terminal: not kept.
import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_FILE } from '@diyc/container';
import { pipe, relay, type Relay } from '@diyc/syscalls';

/** How long output is still read once the container has ended (a process it left may hold the pipe). */
const DRAIN_MS = 250;

export class ForegroundLog {
  readonly #dir: string;
  readonly #size: number;
  readonly #files: number;
  #fd: number;
  #written = 0;
  #relays: Relay[] = [];
  #childEnds: number[] = [];

  /** Appends to DIR/log (after what earlier runs wrote, as the shim does); rotates past `size` bytes (0: never), keeping `files` old ones. */
  constructor(dir: string, size: number, files: number) {
    this.#dir = dir;
    this.#size = size;
    this.#files = files;
    this.#fd = openSync(join(dir, LOG_FILE), 'a', 0o640);
    this.#written = fstatSync(this.#fd).size;
  }

  /** A pipe whose writes go to descriptor `to` (1 or 2) and to the log: the write end, for the container. */
  pipeTo(to: number): number {
    const [read, write] = pipe();
    this.#childEnds.push(write);
    this.#relays.push(relay(read, to, (chunk) => this.#append(chunk)));
    return write;
  }

  /**
   * The container has ended: our copies of its ends go (its end then reads as end of
   * file), what it wrote is copied (for at most DRAIN_MS more), the log closed.
   */
  async close(): Promise<void> {
    for (const fd of this.#childEnds.splice(0)) closeSync(fd);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.#relays.map((r) => r.ended)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, DRAIN_MS);
      }),
    ]);
    clearTimeout(timer);
    for (const r of this.#relays) r.stop();
    closeSync(this.#fd);
  }

  #append(chunk: Buffer): void {
    if (this.#size > 0 && this.#written + chunk.length > this.#size) this.#rotate();
    writeSync(this.#fd, chunk);
    this.#written += chunk.length;
  }

  /** log.(N-1) -> log.N ... log -> log.1, then a new log: the shim's order. */
  #rotate(): void {
    closeSync(this.#fd);
    const name = (i: number): string => join(this.#dir, i === 0 ? LOG_FILE : `${LOG_FILE}.${i}`);
    if (this.#files > 0) {
      rmSync(name(this.#files), { force: true });
      for (let i = this.#files - 1; i >= 0; i--) {
        try {
          renameSync(name(i), name(i + 1));
        } catch {
          /* not there yet */
        }
      }
    }
    this.#fd = openSync(name(0), 'w', 0o640);
    this.#written = 0;
  }
}
