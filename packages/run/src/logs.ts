// diyc-logs: what a detached container wrote. `diyc-run -d` gives the command a log file,
// $DIYC_ROOT/containers/NAME/log, for both stdout and stderr (appended to on each run);
// this prints it, its last lines, or follows it as it grows until the container ends.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { DiycError } from '@diyc/record';
import type { Container } from './container.js';

export interface LogsOptions {
  /** Only the last N lines (all when undefined). */
  tail?: number;
  /** Keep printing what is written until the container is no longer running. */
  follow?: boolean;
  /** Where the log goes (default stdout). */
  write?: (chunk: Buffer) => Promise<void>;
  /** How often a followed log is read again (ms). */
  pollMs?: number;
}

/** `--tail N`: a count of lines, or `all`. */
export function parseTail(text: string | undefined): number | undefined {
  if (text === undefined || text === 'all') return undefined;
  if (!/^\d+$/.test(text)) throw new DiycError('usage', `--tail ${text}: give a number of lines, or all`);
  return Number(text);
}

/** Where the last `lines` lines of the file start: read backwards a block at a time. */
export function tailOffset(fd: number, size: number, lines: number, block = 64 * 1024): number {
  if (lines === 0) return size;
  let end = size;
  // A final newline ends the last line; it does not start another one.
  let newlines = 0;
  const buf = Buffer.alloc(block);
  let skipLast = true;
  while (end > 0) {
    const start = Math.max(0, end - block);
    const n = readSync(fd, buf, 0, end - start, start);
    for (let i = n - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) { skipLast = false; continue; }
      if (skipLast) { skipLast = false; continue; }
      if (++newlines === lines) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

const stdoutWrite = (chunk: Buffer): Promise<void> =>
  new Promise((resolve, reject) => process.stdout.write(chunk, (err) => (err ? reject(err) : resolve())));

/** Prints the container's log as the options ask; resolves when done (or when it ended, with follow). */
export async function showLogs(container: Container, options: LogsOptions = {}): Promise<void> {
  if (!container.state()) throw new DiycError('not-found', `no container named ${container.name}`);
  const file = join(container.dir, 'log');
  if (!existsSync(file)) {
    throw new DiycError('not-found', `container ${container.name} has no log: only a container run with -d keeps its output (the others wrote to your terminal)`);
  }
  const write = options.write ?? stdoutWrite;
  const fd = openSync(file, 'r');
  try {
    let offset = options.tail === undefined ? 0 : tailOffset(fd, fstatSync(fd).size, options.tail);
    const buf = Buffer.alloc(64 * 1024);
    /** Copies what is there past `offset`; true when there was something. */
    const drain = async (): Promise<boolean> => {
      let any = false;
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) return any;
        await write(Buffer.from(buf.subarray(0, n)));
        offset += n;
        any = true;
      }
    };
    await drain();
    if (!options.follow) return;
    // Poll rather than inotify: the log may be on any filesystem, and a container's output
    // needs no lower latency than this.
    for (;;) {
      const running = container.refresh().isRunning();
      const wrote = await drain();
      if (!running && !wrote) return;
      if (!wrote) await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
    }
  } finally {
    closeSync(fd);
  }
}
