// cgroup v1: one directory per hierarchy (memory, pids, cpu, cpuacct), all named
// PARENT/NAME. https://docs.kernel.org/admin-guide/cgroup-v1/
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { CgroupError, existsSync, readKey, readNumber, readPids, writeValue } from './files.js';
import { evacuate, killPids, removeCgroupDir, removeIfEmpty, type Applied, type CgroupManager, type Limits, type Stats } from './manager.js';
import { formatSize } from './size.js';
import { v1DeviceLines } from './device-filter.js';

const USED = ['memory', 'pids', 'cpu', 'cpuacct', 'devices'] as const;
const PERIOD_US = 100_000;

export interface V1Options {
  /** Controller -> mount point of its hierarchy. */
  hierarchies: Map<string, string>;
  parent?: string;
  removeDir?: (path: string) => void;
}

export class CgroupV1 implements CgroupManager {
  readonly version = 1 as const;
  readonly #hierarchies: Map<string, string>;
  readonly #parent: string;
  readonly #removeDir: (path: string) => void;

  constructor(options: V1Options) {
    this.#hierarchies = options.hierarchies;
    this.#parent = options.parent ?? 'diyc';
    this.#removeDir = options.removeDir ?? rmdirSync;
  }

  path(name: string): string {
    return `/${this.#parent}/${name}`;
  }

  #dir(controller: string, name: string): string | undefined {
    const mount = this.#hierarchies.get(controller);
    return mount === undefined ? undefined : join(mount, this.#parent, name);
  }

  /** One directory per hierarchy used (cpu and cpuacct may share one). */
  #dirs(name: string): string[] {
    return [...new Set(USED.map((c) => this.#dir(c, name)).filter((d): d is string => d !== undefined))];
  }

  exists(name: string): boolean {
    const dirs = this.#dirs(name);
    return dirs.length > 0 && dirs.every((d) => existsSync(d));
  }

  create(name: string, limits: Limits): Applied {
    const result: Applied = { applied: [], skipped: [] };
    const dirs = this.#dirs(name);
    if (dirs.length === 0) throw new CgroupError('none of the memory, pids, cpu controllers is mounted (cgroup v1)');
    for (const dir of dirs) mkdirSync(dir, { recursive: true });
    const memory = this.#dir('memory', name);
    if (limits.memory !== undefined) {
      if (!memory) {
        result.skipped.push('memory: the memory controller is not mounted');
      } else {
        writeValue(join(memory, 'memory.limit_in_bytes'), limits.memory);
        result.applied.push(`memory ${formatSize(limits.memory)}`);
        const swap = limits.swap ?? 0;
        // memsw is memory + swap: equal to the limit means no swap at all.
        if (existsSync(join(memory, 'memory.memsw.limit_in_bytes'))) {
          writeValue(join(memory, 'memory.memsw.limit_in_bytes'), limits.memory + swap);
          result.applied.push(swap === 0 ? 'no swap' : `swap ${formatSize(swap)}`);
        } else {
          result.skipped.push('swap: swap accounting is off in this kernel (boot with swapaccount=1), so swap is not limited');
        }
      }
    } else if (limits.swap !== undefined) {
      result.skipped.push('swap: a swap limit needs a memory limit (--memory)');
    }
    if (limits.pids !== undefined) {
      const pids = this.#dir('pids', name);
      if (!pids) result.skipped.push('pids: the pids controller is not mounted');
      else {
        writeValue(join(pids, 'pids.max'), limits.pids);
        result.applied.push(`pids ${limits.pids}`);
      }
    }
    if (limits.cpus !== undefined) {
      const cpu = this.#dir('cpu', name);
      if (!cpu) result.skipped.push('cpus: the cpu controller is not mounted');
      else {
        writeValue(join(cpu, 'cpu.cfs_period_us'), PERIOD_US);
        writeValue(join(cpu, 'cpu.cfs_quota_us'), Math.max(1000, Math.round(limits.cpus * PERIOD_US)));
        result.applied.push(`cpus ${limits.cpus}`);
      }
    }
    if (limits.devices !== undefined) {
      const devices = this.#dir('devices', name);
      if (!devices) result.skipped.push('devices: the devices controller is not mounted, so every device node can be used');
      else {
        for (const { file, line } of v1DeviceLines(limits.devices)) writeValue(join(devices, file), line);
        result.applied.push('devices');
      }
    }
    return result;
  }

  procsFiles(name: string): string[] {
    return this.#dirs(name).map((d) => join(d, 'cgroup.procs'));
  }

  add(name: string, pid: number): void {
    for (const file of this.procsFiles(name)) writeValue(file, pid);
  }

  pids(name: string): number[] {
    const all = new Set<number>();
    for (const file of this.procsFiles(name)) for (const pid of readPids(file)) all.add(pid);
    return [...all];
  }

  stats(name: string): Stats {
    const stats: Stats = {};
    const memory = this.#dir('memory', name);
    if (memory) {
      const set = <K extends keyof Stats>(key: K, value: Stats[K] | undefined): void => { if (value !== undefined) stats[key] = value; };
      set('memoryBytes', readNumber(join(memory, 'memory.usage_in_bytes')));
      set('memoryPeakBytes', readNumber(join(memory, 'memory.max_usage_in_bytes')));
      const limit = readNumber(join(memory, 'memory.limit_in_bytes'));
      if (limit !== undefined && limit < 2 ** 62) stats.memoryLimitBytes = limit;
      set('oomKills', readKey(join(memory, 'memory.oom_control'), 'oom_kill'));
    }
    const pids = this.#dir('pids', name);
    if (pids) {
      const current = readNumber(join(pids, 'pids.current'));
      if (current !== undefined) stats.pids = current;
      const max = readNumber(join(pids, 'pids.max'));
      if (max !== undefined) stats.pidsLimit = max;
    }
    const cpuacct = this.#dir('cpuacct', name);
    if (cpuacct) {
      const usage = readNumber(join(cpuacct, 'cpuacct.usage'));
      if (usage !== undefined) stats.cpuNanoseconds = usage;
    }
    return stats;
  }

  list(): string[] {
    const names = new Set<string>();
    for (const mount of new Set(USED.map((c) => this.#hierarchies.get(c)).filter((m): m is string => m !== undefined))) {
      const dir = join(mount, this.#parent);
      if (!existsSync(dir)) continue;
      for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) names.add(entry.name);
    }
    return [...names].sort();
  }

  remove(name: string, options: { force?: boolean } = {}): void {
    evacuate(this.path(name), () => this.pids(name), options.force, killPids);
    for (const dir of this.#dirs(name)) removeCgroupDir(dir, this.#removeDir);
  }

  pruneParent(): void {
    if (this.list().length > 0) return;
    for (const mount of new Set(USED.map((c) => this.#hierarchies.get(c)).filter((m): m is string => m !== undefined))) {
      removeIfEmpty(join(mount, this.#parent), this.#removeDir);
    }
  }
}
