// A lock between processes: a symbolic link to the holder's pid, made with symlink(2),
// which is atomic; a lock left by a killed process is taken over.
import { readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
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

/**
 * Runs `fn` holding the lock at `path`: a symbolic link whose target is the holder's pid,
 * made by symlink(2), which is atomic (EEXIST while another holds it). Taking and releasing
 * it are one call each, where a directory with a pid file in it took four: a start takes
 * the lock four times, and each of those calls can wait behind the filesystem's journal
 * on a busy disk. A lock of that older form, a directory, is still waited for, and taken
 * over once its holder is gone; one of this form stops an older diyc's mkdir(2) as well.
 * https://man7.org/linux/man-pages/man2/symlink.2.html
 */
export function withLock<T>(path: string, fn: () => T, timeoutMs = 10_000): T {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      symlinkSync(String(process.pid), path);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(path);
      // A holder that is gone: its lock is taken over (or another is taking it over: wait).
      if (holder > 0 && !isProcessAlive(holder) && takeOver(path, holder)) continue;
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
    try {
      unlinkSync(path);
    } catch {
      rmSync(path, { recursive: true, force: true });
    }
  }
}

/**
 * Removes the lock at `path` left by `dead`, holding the take-over lock `PATH~` (a name no
 * container's can be) meanwhile: two processes that both saw the dead holder took turns,
 * and the second removed the first one's fresh lock, so both held it. Under `PATH~` the lock
 * is removed only if it is still the dead holder's. False while another takes it over.
 * diyc-oci's native front (oci-front.c's take_lock) does the same.
 */
function takeOver(path: string, dead: number): boolean {
  const take = `${path}~`;
  try {
    symlinkSync(String(process.pid), take);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Its taker was killed in these few calls: remove it, and go round again.
    const taker = lockHolder(take);
    if (taker > 0 && !isProcessAlive(taker)) rmSync(take, { force: true });
    return false;
  }
  try {
    if (lockHolder(path) === dead && !isProcessAlive(dead)) rmSync(path, { recursive: true, force: true });
  } finally {
    rmSync(take, { force: true });
  }
  return true;
}

/** The pid holding the lock at `path`, or 0 while it cannot be told (a directory lock being made). */
function lockHolder(path: string): number {
  try {
    return Number(readlinkSync(path)) || 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') return 0;
  }
  // EINVAL: not a link, a directory lock (an older diyc's): its pid file.
  try {
    return Number(readFileSync(join(path, 'pid'), 'utf8')) || 0;
  } catch {
    return 0;
  }
}
