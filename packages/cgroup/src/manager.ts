// One interface for cgroup v1 and v2 (as youki's CgroupManager): creating and joining
// are kept apart from limits; each implementation is told where its tree is, so tests
// can point it at a temporary directory shaped like cgroupfs.

export interface Limits {
  /** Bytes of memory. */
  memory?: number;
  /** Bytes of swap on top of memory; 0 (no swap) unless given, as in diyC. */
  swap?: number;
  /** Most processes at once. */
  pids?: number;
  /** CPUs' worth of time: 0.5 is half of one CPU, as a quota per 100 ms period. */
  cpus?: number;
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
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
  return check();
}
