// A lock between processes: a directory made with mkdir(2), which is atomic. The
// holder's pid is written inside, so a lock left by a killed process is taken over.
import { mkdirSync, readFileSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiycError } from './errors.js';

/** True while `pid` exists (EPERM: it exists, but is not ours to signal). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sleeps without returning to the event loop: for short waits inside synchronous work. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs `fn` holding the lock at `path`. */
export function withLock<T>(path: string, fn: () => T, timeoutMs = 10_000): T {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(path, { recursive: false });
      writeFileSync(join(path, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder = 0;
      try {
        holder = Number(readFileSync(join(path, 'pid'), 'utf8'));
      } catch {
        /* being written */
      }
      if (holder > 0 && !isProcessAlive(holder)) {
        rmSync(path, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > end)
        throw new DiycError(
          'state',
          `timed out waiting for the lock ${path}, held by pid ${holder || 'unknown'}: try again, or end that process`,
        );
      sleepSync(5 + Math.random() * 10);
    }
  }
  try {
    return fn();
  } finally {
    release(path);
  }
}

/** The lock's pid file, then the lock: two calls where rmSync's walk makes six (a start takes the lock a few times). */
function release(path: string): void {
  try {
    unlinkSync(join(path, 'pid'));
    rmdirSync(path);
  } catch {
    rmSync(path, { recursive: true, force: true });
  }
}
