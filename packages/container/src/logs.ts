// diyc-logs: what a detached container wrote. Its diyc-shim appends stdout and stderr to
// $DIYC_ROOT/containers/NAME/log (each run after the last), and rotates it at --log-size:
// log.N is the oldest kept, log.1 the one before log. This prints them in that order, the
// last lines of them, or follows log as it grows (and as it is rotated) until the
// container ends.
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Container } from './container.js';
import { LOG_FILE } from './detach.js';
import { DiycError } from '@diyc/record';

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
      if (buf[i] !== 0x0a) {
        skipLast = false;
        continue;
      }
      if (skipLast) {
        skipLast = false;
        continue;
      }
      if (++newlines === lines) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

const stdoutWrite = (chunk: Buffer): Promise<void> =>
  new Promise((resolve, reject) => process.stdout.write(chunk, (err) => (err ? reject(err) : resolve())));

/** The log's files, oldest first: log.N ... log.1, log (those that exist). */
export function logFiles(dir: string): string[] {
  const rotated: string[] = [];
  for (let n = 1; existsSync(join(dir, `log.${n}`)); n++) rotated.unshift(join(dir, `log.${n}`));
  return [...rotated, join(dir, LOG_FILE)].filter((f) => existsSync(f));
}

/** Where, in `files` (oldest first), the last `lines` lines start: [file index, offset]. */
function tailStart(files: string[], lines: number): [number, number] {
  let left = lines;
  for (let i = files.length - 1; i >= 0; i--) {
    const fd = openSync(files[i] as string, 'r');
    try {
      const size = fstatSync(fd).size;
      const offset = tailOffset(fd, size, left);
      if (offset > 0 || i === 0) return [i, offset];
      // The whole file is within the tail: count its lines and go on to the one before.
      left -= countLines(fd, size);
      if (left <= 0) return [i, 0];
    } finally {
      closeSync(fd);
    }
  }
  return [0, 0];
}

function countLines(fd: number, size: number): number {
  const buf = Buffer.alloc(64 * 1024);
  let lines = 0;
  let last = 0x0a;
  for (let off = 0; off < size; ) {
    const n = readSync(fd, buf, 0, buf.length, off);
    if (n <= 0) break;
    for (let i = 0; i < n; i++) if (buf[i] === 0x0a) lines++;
    last = buf[n - 1] ?? last;
    off += n;
  }
  return lines + (last !== 0x0a && size > 0 ? 1 : 0);
}

/** Prints the container's log as the options ask; resolves when done (or when it ended, with follow). */
export async function showLogs(container: Container, options: LogsOptions = {}): Promise<void> {
  if (!container.state()) throw new DiycError('not-found', `no container named ${container.name}`);
  const files = logFiles(container.dir);
  if (files.length === 0) {
    throw new DiycError(
      'not-found',
      `container ${container.name} has no log: only a container run with -d keeps its output (the others wrote to your terminal)`,
    );
  }
  const write = options.write ?? stdoutWrite;
  const buf = Buffer.alloc(64 * 1024);
  /** Copies what `fd` holds past `offset`; returns the new offset. */
  const drain = async (fd: number, offset: number): Promise<number> => {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, offset);
      if (n <= 0) return offset;
      await write(Buffer.from(buf.subarray(0, n)));
      offset += n;
    }
  };
  const [first, start] = options.tail === undefined ? [0, 0] : tailStart(files, options.tail);
  let offset = start;
  for (let i = first; i < files.length - 1; i++) {
    const fd = openSync(files[i] as string, 'r');
    try {
      await drain(fd, offset);
    } finally {
      closeSync(fd);
    }
    offset = 0;
  }
  const current = join(container.dir, LOG_FILE);
  let fd = openSync(files[files.length - 1] as string, 'r');
  try {
    offset = await drain(fd, offset);
    if (!options.follow) return;
    // Poll rather than inotify: the log may be on any filesystem, and a container's output
    // needs no lower latency than this. A rotation shows as a new file at `log`: what the
    // old one still got is read, then the new one from its start.
    for (;;) {
      const running = container.refresh().isRunning();
      const before = offset;
      offset = await drain(fd, offset);
      let rotated = false;
      try {
        rotated = statSync(current).ino !== fstatSync(fd).ino;
      } catch {
        /* between the rename and the new file */
      }
      if (rotated) {
        closeSync(fd);
        fd = openSync(current, 'r');
        offset = 0;
        continue;
      }
      if (!running && offset === before) return;
      if (offset === before) await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
    }
  } finally {
    closeSync(fd);
  }
}
