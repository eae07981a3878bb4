// cgroup v2: one tree. Each level below the root gives its children the controllers it
// has (cgroup.subtree_control); the root itself is never changed.
// https://docs.kernel.org/admin-guide/cgroup-v2.html
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkName, DiycError, type Resources } from '@diyc/record';
import type { Applied, Controller } from '../controller.js';
import { existsSync, readKey, readNumber, readPids, readValue, writeValue } from '../files.js';
import { evacuate, killPids, removeCgroupTree, removeIfEmpty, subtree, waitUntil, type CgroupManager, type Stats } from '../manager.js';
import { cgroupPath, levels } from '../path.js';
import { cpu, cpuset, devices, hugetlb, io, memory, pids as pidsController, unified } from './controllers.js';

/** The controllers diyc gives its cgroups, when the machine delegates them. */
const WANTED = ['memory', 'pids', 'cpu', 'cpuset', 'io', 'hugetlb'];
const FIELDS: Record<string, string> = {
  memory: 'memory',
  cpu: 'cpu',
  cpuset: 'cpu.cpus/mems',
  pids: 'pids',
  io: 'blockIO',
  hugetlb: 'hugepageLimits',
};

export interface V2Options {
  /** Mount point of the unified hierarchy (/sys/fs/cgroup). */
  root: string;
  parent?: string;
  removeDir?: (path: string) => void;
  /** Attaches a device program (default: the kernel's, through @diyc/syscalls). */
  attachDeviceFilter?: (dir: string, program: Buffer) => void;
}

const words = (text: string | undefined): Set<string> => new Set((text ?? '').split(/\s+/).filter(Boolean));

export class CgroupV2 implements CgroupManager {
  readonly version = 2 as const;
  readonly #root: string;
  readonly #parent: string;
  readonly #removeDir: (path: string) => void;
  readonly #controllers: Controller[];

  constructor(options: V2Options) {
    this.#root = options.root;
    this.#parent = options.parent ?? 'diyc';
    this.#removeDir = options.removeDir ?? rmdirSync;
    this.#controllers = [memory, cpu, cpuset, pidsController, io, hugetlb, devices(options.attachDeviceFilter), unified];
  }

  pathOf(name: string): string {
    return `/${this.#parent}/${checkName(name, 'container name')}`;
  }

  #dir(path: string): string {
    return join(this.#root, cgroupPath(path));
  }

  exists(path: string): boolean {
    return existsSync(this.#dir(path));
  }

  /**
   * Makes each level of `path`, and has each level above the cgroup give its children the
   * controllers it has. A controller the machine does not delegate is reported by apply(),
   * never enabled higher up: that would change cgroups that are not diyc's.
   */
  create(path: string): void {
    const all = levels(path);
    for (const [i, level] of all.entries()) {
      const dir = join(this.#root, level);
      if (!existsSync(dir)) mkdirSync(dir);
      if (i === all.length - 1) break;
      const available = words(readValue(join(dir, 'cgroup.controllers')));
      const enabled = words(readValue(join(dir, 'cgroup.subtree_control')));
      const missing = WANTED.filter((c) => available.has(c) && !enabled.has(c));
      if (missing.length > 0) writeValue(join(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
    }
  }

  apply(path: string, resources: Resources): Applied {
    const out: Applied = { applied: [], skipped: [] };
    const dir = this.#dir(path);
    const own = words(readValue(join(dir, 'cgroup.controllers')));
    for (const controller of this.#controllers) {
      if (!controller.wants(resources)) continue;
      if (controller.name !== '' && !own.has(controller.name)) {
        out.skipped.push(
          `${FIELDS[controller.name]}: the ${controller.name} controller is not delegated to ${join(dir, '..')} (enable it in ${this.#root}/cgroup.subtree_control)`,
        );
        continue;
      }
      controller.apply(dir, resources, out);
    }
    if (resources.network && Object.keys(resources.network).length > 0) out.skipped.push('network: cgroup v2 has no net_cls or net_prio');
    if (resources.rdma && Object.keys(resources.rdma).length > 0) out.skipped.push('rdma: diyc does not limit RDMA');
    return out;
  }

  procsFiles(path: string): string[] {
    return [join(this.#dir(path), 'cgroup.procs')];
  }

  add(path: string, pid: number): void {
    writeValue(join(this.#dir(path), 'cgroup.procs'), pid);
  }

  pids(path: string): number[] {
    // A threaded sub-cgroup refuses cgroup.procs (EOPNOTSUPP): its threads' processes are
    // in its domain's cgroup.procs already.
    const all = new Set<number>();
    for (const dir of subtree(this.#dir(path))) for (const pid of readPids(join(dir, 'cgroup.procs'))) all.add(pid);
    return [...all];
  }

  frozen(path: string): boolean {
    // cgroup.events' "frozen" is the effective state (a parent's freeze included); a cgroup
    // not made yet would be made under the deepest level that exists.
    const existing = [this.#root, ...levels(path).map((l) => join(this.#root, l))].filter((d) => existsSync(d)).at(-1) as string;
    if (existing === this.#root) return false;
    return readKey(join(existing, 'cgroup.events'), 'frozen') === 1 || readValue(join(existing, 'cgroup.freeze')) === '1';
  }

  stats(path: string): Stats {
    const dir = this.#dir(path);
    const stats: Stats = {};
    const put = <K extends keyof Stats>(key: K, value: Stats[K] | undefined): void => {
      if (value !== undefined) stats[key] = value;
    };
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

  freeze(path: string, frozen: boolean): void {
    const dir = this.#dir(path);
    if (!existsSync(join(dir, 'cgroup.freeze')))
      throw new DiycError('missing', 'this kernel has no cgroup.freeze (Linux 5.2): pausing needs it');
    writeValue(join(dir, 'cgroup.freeze'), frozen ? 1 : 0);
    if (!waitUntil(() => readKey(join(dir, 'cgroup.events'), 'frozen') === (frozen ? 1 : 0), 5000))
      throw new DiycError('system', `${path} did not ${frozen ? 'freeze' : 'thaw'}`);
  }

  list(): string[] {
    const dir = join(this.#root, this.#parent);
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  }

  remove(path: string, options: { force?: boolean } = {}): void {
    const dir = this.#dir(path);
    if (!existsSync(dir)) return;
    const killFile = join(dir, 'cgroup.kill');
    // cgroup.kill (Linux 5.14) kills every process at once, forks included.
    evacuate(
      cgroupPath(path),
      () => this.pids(path),
      options.force,
      (pids) => (existsSync(killFile) ? writeValue(killFile, 1) : killPids(pids)),
    );
    // The cgroup and what the container made under it, deepest first.
    removeCgroupTree(dir, this.#removeDir);
  }

  pruneParent(): void {
    if (this.list().length === 0) removeIfEmpty(join(this.#root, this.#parent), this.#removeDir);
  }
}
