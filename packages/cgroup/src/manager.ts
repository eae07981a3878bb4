// One interface for cgroup v1 and v2 (as youki's CgroupManager): creating and joining
// are kept apart from limits; each implementation is told where its tree is, so tests
// can point it at a temporary directory shaped like cgroupfs.
import { sleepSync, type DeviceRule } from '@diyc/record';
import { CgroupError } from './files.js';

export interface Limits {
  /** Bytes of memory. */
  memory?: number;
  /** Bytes of swap on top of memory; 0 (no swap) unless given, as in diyC. */
  swap?: number;
  /** Most processes at once. */
  pids?: number;
  /** CPUs' worth of time: 0.5 is half of one CPU, as a quota per 100 ms period. */
  cpus?: number;
  /** Which device nodes the cgroup's processes may open or make (OCI rules, in order). */
  devices?: DeviceRule[];
}

export interface Applied {
  /** What was set, for people: "memory 10M", "swap 0". */
  applied: string[];
  /** What could not be, and why. */
  skipped: string[];
}

export interface Stats {
  memoryBytes?: number;
  memoryPeakBytes?: number;
  memoryLimitBytes?: number;
  oomKills?: number;
  pids?: number;
  pidsLimit?: number;
  cpuNanoseconds?: number;
}

export interface CgroupManager {
  readonly version: 1 | 2;
  /** The cgroup path below each hierarchy's root: /PARENT/NAME. */
  path(name: string): string;
  exists(name: string): boolean;
  /** Makes the cgroup (and the diyc parent), and sets the limits. Idempotent. */
  create(name: string, limits: Limits): Applied;
  /** The cgroup.procs files a process writes itself into to join. */
  procsFiles(name: string): string[];
  add(name: string, pid: number): void;
  pids(name: string): number[];
  stats(name: string): Stats;
  list(): string[];
  /** Removes the cgroup; a populated one only with `force`, which kills its processes first. */
  remove(name: string, options?: { force?: boolean }): void;
  /** Removes the diyc parent cgroup once no container cgroup is left in it. */
  pruneParent(): void;
}

/** rmdir(2) that ignores a directory already gone or still in use. */
export function removeIfEmpty(path: string, removeDir: (path: string) => void): void {
  try {
    removeDir(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EBUSY' && code !== 'ENOTEMPTY') throw err;
  }
}

/** Waits (briefly, by polling) until `check` holds. */
export function waitUntil(check: () => boolean, timeoutMs = 5000): boolean {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    sleepSync(10);
  }
  return check();
}

/**
 * Empties a cgroup that is to be removed: refused while it has processes, unless
 * `force`, which kills them with `kill` and waits until they are gone.
 */
export function evacuate(path: string, pids: () => number[], force: boolean | undefined, kill: (pids: number[]) => void): void {
  const present = pids();
  if (present.length === 0) return;
  if (!force) throw new CgroupError(`cgroup ${path} still has processes (${present.join(', ')}): stop them first, or use --force to kill them`);
  kill(present);
  if (!waitUntil(() => pids().length === 0)) throw new CgroupError(`the processes of ${path} did not die`);
}

export function killPids(pids: number[]): void {
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ }
  }
}

/** rmdir(2) of an emptied cgroup, which can be busy for a moment after its last process died. */
export function removeCgroupDir(dir: string, removeDir: (path: string) => void): void {
  const gone = waitUntil(() => {
    try {
      removeDir(dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY') throw err;
      return false;
    }
  }, 2000);
  if (!gone) throw new CgroupError(`cannot remove ${dir}: it is busy`);
}
