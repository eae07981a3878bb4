// cgroup v2: one tree; PARENT/NAME gets the controllers the parent was given.
// https://docs.kernel.org/admin-guide/cgroup-v2.html
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { existsSync, readKey, readNumber, readPids, readValue, writeValue } from './files.js';
import { evacuate, killPids, removeCgroupDir, removeIfEmpty, type Applied, type CgroupManager, type Limits, type Stats } from './manager.js';
import { attachDeviceFilter } from '@diyc/syscalls';
import { formatSize } from './size.js';
import { deviceFilterProgram } from './device-filter.js';

const PERIOD_US = 100_000;

export interface V2Options {
  /** Mount point of the unified hierarchy (/sys/fs/cgroup). */
  root: string;
  parent?: string;
  removeDir?: (path: string) => void;
  /** Attaches a device program (default: the kernel's, through @diyc/syscalls). */
  attachDeviceFilter?: (dir: string, program: Buffer) => void;
}

export class CgroupV2 implements CgroupManager {
  readonly version = 2 as const;
  readonly #root: string;
  readonly #parent: string;
  readonly #removeDir: (path: string) => void;
  readonly #attachDeviceFilter: (dir: string, program: Buffer) => void;

  constructor(options: V2Options) {
    this.#root = options.root;
    this.#parent = options.parent ?? 'diyc';
    this.#removeDir = options.removeDir ?? rmdirSync;
    this.#attachDeviceFilter = options.attachDeviceFilter ?? attachDeviceFilter;
  }

  path(name: string): string {
    return `/${this.#parent}/${name}`;
  }

  #dir(name: string): string {
    return join(this.#root, this.#parent, name);
  }

  exists(name: string): boolean {
    return existsSync(this.#dir(name));
  }

  /**
   * Makes PARENT and gives its children the controllers it has. A controller the
   * machine does not delegate to PARENT is reported, never forced: enabling it higher
   * up would change cgroups that are not diyc's.
   */
  #delegate(): Set<string> {
    const parent = join(this.#root, this.#parent);
    mkdirSync(parent, { recursive: true });
    const available = new Set((readValue(join(parent, 'cgroup.controllers')) ?? '').split(/\s+/).filter(Boolean));
    const wanted = ['memory', 'pids', 'cpu'].filter((c) => available.has(c));
    const enabled = new Set((readValue(join(parent, 'cgroup.subtree_control')) ?? '').split(/\s+/).filter(Boolean));
    const missing = wanted.filter((c) => !enabled.has(c));
    if (missing.length > 0) writeValue(join(parent, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
    return new Set(wanted);
  }

  create(name: string, limits: Limits): Applied {
    const result: Applied = { applied: [], skipped: [] };
    const controllers = this.#delegate();
    const dir = this.#dir(name);
    mkdirSync(dir, { recursive: true });
    const notDelegated = (c: string): string => `${c}: the ${c} controller is not delegated to ${join(this.#root, this.#parent)} (enable it in ${this.#root}/cgroup.subtree_control)`;
    if (limits.memory !== undefined) {
      if (!controllers.has('memory')) result.skipped.push(notDelegated('memory'));
      else {
        writeValue(join(dir, 'memory.max'), limits.memory);
        result.applied.push(`memory ${formatSize(limits.memory)}`);
        const swap = limits.swap ?? 0;
        if (existsSync(join(dir, 'memory.swap.max'))) {
          writeValue(join(dir, 'memory.swap.max'), swap);
          result.applied.push(swap === 0 ? 'no swap' : `swap ${formatSize(swap)}`);
        } else {
          result.skipped.push('swap: swap accounting is off in this kernel, so swap is not limited');
        }
      }
    }
    if (limits.pids !== undefined) {
      if (!controllers.has('pids')) result.skipped.push(notDelegated('pids'));
      else {
        writeValue(join(dir, 'pids.max'), limits.pids);
        result.applied.push(`pids ${limits.pids}`);
      }
    }
    if (limits.cpus !== undefined) {
      if (!controllers.has('cpu')) result.skipped.push(notDelegated('cpu'));
      else {
        writeValue(join(dir, 'cpu.max'), `${Math.max(1000, Math.round(limits.cpus * PERIOD_US))} ${PERIOD_US}`);
        result.applied.push(`cpus ${limits.cpus}`);
      }
    }
    if (limits.devices !== undefined) {
      // No controller to enable: a device program attaches to any cgroup v2 directory.
      this.#attachDeviceFilter(dir, deviceFilterProgram(limits.devices));
      result.applied.push('devices');
    }
    return result;
  }

  procsFiles(name: string): string[] {
    return [join(this.#dir(name), 'cgroup.procs')];
  }

  add(name: string, pid: number): void {
    writeValue(join(this.#dir(name), 'cgroup.procs'), pid);
  }

  pids(name: string): number[] {
    return readPids(join(this.#dir(name), 'cgroup.procs'));
  }

  stats(name: string): Stats {
    const dir = this.#dir(name);
    const stats: Stats = {};
    const put = <K extends keyof Stats>(key: K, value: Stats[K] | undefined): void => { if (value !== undefined) stats[key] = value; };
    put('memoryBytes', readNumber(join(dir, 'memory.current')));
    put('memoryPeakBytes', readNumber(join(dir, 'memory.peak')));
    put('memoryLimitBytes', readNumber(join(dir, 'memory.max')));
    put('oomKills', readKey(join(dir, 'memory.events'), 'oom_kill'));
    put('pids', readNumber(join(dir, 'pids.current')));
    put('pidsLimit', readNumber(join(dir, 'pids.max')));
    const usec = readKey(join(dir, 'cpu.stat'), 'usage_usec');
    if (usec !== undefined) stats.cpuNanoseconds = usec * 1000;
    return stats;
  }

  list(): string[] {
    const dir = join(this.#root, this.#parent);
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  }

  remove(name: string, options: { force?: boolean } = {}): void {
    const dir = this.#dir(name);
    if (!existsSync(dir)) return;
    const killFile = join(dir, 'cgroup.kill');
    // cgroup.kill (Linux 5.14) kills every process at once, forks included.
    evacuate(this.path(name), () => this.pids(name), options.force, (pids) => (existsSync(killFile) ? writeValue(killFile, 1) : killPids(pids)));
    removeCgroupDir(dir, this.#removeDir);
  }

  pruneParent(): void {
    if (this.list().length === 0) removeIfEmpty(join(this.#root, this.#parent), this.#removeDir);
  }
}
