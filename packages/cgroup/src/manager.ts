// One interface for cgroup v1 and v2 (as youki's CgroupManager): making a cgroup and
// joining it are kept apart from its limits, which one controller file each writes from
// the OCI resources. A cgroup is named by its path below the hierarchy's root: diyc's
// own are /PARENT/NAME (pathOf), an OCI config's is its linux.cgroupsPath. Each
// implementation is told where its tree is, so tests can point it at a temporary
// directory shaped like cgroupfs.
import { type Dirent, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DiycError, sleepSync, type Resources } from '@diyc/record';
import type { Applied } from './controller.js';

export type { Applied } from './controller.js';

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
  /**
   * True when the first process cannot write itself into the cgroup and must be placed
   * by add() once it exists (systemd starts a scope with it). See placeProcess().
   */
  readonly placesProcesses?: boolean;
  /** diyc's cgroup for container NAME: /PARENT/NAME (the name is checked). */
  pathOf(name: string): string;
  exists(path: string): boolean;
  /** Makes the cgroup and the levels above it. Idempotent. */
  create(path: string): void;
  /** Writes the limits; says what it set and what the machine could not do. */
  apply(path: string, resources: Resources): Applied;
  /** The cgroup.procs files a process writes itself into to join. */
  procsFiles(path: string): string[];
  add(path: string, pid: number): void;
  /** Every process of the cgroup and of the sub-cgroups made under it. */
  pids(path: string): number[];
  /**
   * Whether the cgroup, or the one it would be made under, is frozen: a process that
   * enters a frozen cgroup freezes at once, so a container's first process would hang.
   */
  frozen(path: string): boolean;
  stats(path: string): Stats;
  /** Freezes or thaws every process of the cgroup (OCI pause and resume). */
  freeze(path: string, frozen: boolean): void;
  /** The names of diyc's own cgroups, under the parent. */
  list(): string[];
  /**
   * Removes the cgroup and the sub-cgroups made under it (deepest first); a populated one
   * only with `force`, which kills its processes first.
   */
  remove(path: string, options?: { force?: boolean }): void;
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
  if (!force)
    throw new DiycError(
      'state',
      `cgroup ${path} still has processes (${present.join(', ')}): stop them first, or use --force to kill them`,
    );
  kill(present);
  if (!waitUntil(() => pids().length === 0)) throw new DiycError('system', `the processes of ${path} did not die`);
}

export function killPids(pids: number[], signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone already */
    }
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
  if (!gone) throw new DiycError('system', `cannot remove ${dir}: it is busy`);
}

/** `dir` and every directory below it, deepest first: the order rmdir(2) needs. */
export function subtree(dir: string): string[] {
  const below: string[] = [];
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [dir];
  }
  for (const entry of entries) if (entry.isDirectory()) below.push(...subtree(join(dir, entry.name)));
  return [...below, dir];
}

/** Removes an emptied cgroup and the sub-cgroups under it, deepest first. */
export function removeCgroupTree(dir: string, removeDir: (path: string) => void): void {
  for (const each of subtree(dir)) removeCgroupDir(each, removeDir);
}
