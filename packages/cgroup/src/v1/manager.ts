// cgroup v1: one directory per hierarchy (memory, pids, cpu, ...), all at the same path.
// On a hybrid machine the unified (v2) tree, which has no controllers there, gets the
// same directory too, as runc places a container (libcontainer/cgroups/fs: the "unified"
// path): tools that read /proc/PID/cgroup's "0::" line see the container's cgroup.
// https://docs.kernel.org/admin-guide/cgroup-v1/
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkName, DiycError, type Resources } from '@diyc/record';
import type { Applied, Controller } from '../controller.js';
import { existsSync, readKey, readNumber, readPids, readValue, writeValue } from '../files.js';
import { evacuate, killPids, removeCgroupTree, removeIfEmpty, subtree, waitUntil, type CgroupManager, type Stats } from '../manager.js';
import { cgroupPath, levels } from '../path.js';
import { blkio } from './blkio.js';
import { cpu } from './cpu.js';
import { cpuset, pids as pidsController } from '../shared-controllers.js';
import { inheritCpuset } from './cpuset.js';
import { devices } from './devices.js';
import { memory } from './memory.js';
import { hugetlb, netCls, netPrio } from './misc.js';

/** Hierarchies every container joins, when the machine mounts them (name=systemd as runc does). */
const JOINED = ['memory', 'pids', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'blkio', 'name=systemd'];
/** Controllers in the order they are applied. */
const CONTROLLERS: Controller[] = [memory, cpu, cpuset, pidsController, devices, blkio, hugetlb, netCls, netPrio];
/** What each controller's fields are called in a config, for "not applied" reports. */
const FIELDS: Record<string, string> = {
  memory: 'memory',
  cpu: 'cpu',
  cpuset: 'cpu.cpus/mems',
  pids: 'pids',
  devices: 'devices',
  blkio: 'blockIO',
  hugetlb: 'hugepageLimits',
  net_cls: 'network.classID',
  net_prio: 'network.priorities',
};

export interface V1Options {
  /** Controller -> mount point of its hierarchy. */
  hierarchies: Map<string, string>;
  /** A hybrid machine's unified hierarchy (/sys/fs/cgroup/unified): joined too. */
  unified?: string;
  parent?: string;
  removeDir?: (path: string) => void;
}

export class CgroupV1 implements CgroupManager {
  readonly version = 1 as const;
  readonly #hierarchies: Map<string, string>;
  readonly #unified: string | undefined;
  readonly #parent: string;
  readonly #removeDir: (path: string) => void;

  constructor(options: V1Options) {
    this.#hierarchies = options.hierarchies;
    this.#unified = options.unified;
    this.#parent = options.parent ?? 'diyc';
    this.#removeDir = options.removeDir ?? rmdirSync;
  }

  pathOf(name: string): string {
    return `/${this.#parent}/${checkName(name, 'container name')}`;
  }

  #dir(controller: string, path: string): string | undefined {
    const mount = this.#hierarchies.get(controller);
    return mount === undefined ? undefined : join(mount, cgroupPath(path));
  }

  /** The directories of `path`: one per joined hierarchy, and the others it was given. */
  #dirs(path: string): string[] {
    const dirs = new Set<string>();
    for (const controller of this.#hierarchies.keys()) {
      const dir = this.#dir(controller, path) as string;
      if (JOINED.includes(controller) || existsSync(dir)) dirs.add(dir);
    }
    if (this.#unified !== undefined) dirs.add(join(this.#unified, cgroupPath(path)));
    return [...dirs];
  }

  exists(path: string): boolean {
    // The v1 hierarchies decide: a cgroup made before diyc joined the unified tree too has none there.
    const unified = this.#unified === undefined ? undefined : join(this.#unified, cgroupPath(path));
    const dirs = this.#dirs(path).filter((d) => d !== unified);
    return dirs.length > 0 && dirs.every((d) => existsSync(d));
  }

  #make(controller: string, path: string, mount = this.#hierarchies.get(controller) as string): void {
    for (const level of levels(path)) {
      const dir = join(mount, level);
      // mkdir(2) says whether it was there: no access(2) before it (twenty of a start).
      try {
        mkdirSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      // An empty cpuset takes no process, whoever made it: each level gets its parent's.
      if (controller === 'cpuset') inheritCpuset(dir);
    }
  }

  create(path: string): void {
    const joined = JOINED.filter((c) => this.#hierarchies.has(c));
    if (joined.length === 0) throw new DiycError('missing', 'no cgroup v1 hierarchy diyc uses is mounted (memory, pids, cpu, ...)');
    for (const controller of joined) this.#make(controller, path);
    if (this.#unified !== undefined) this.#make('unified', path, this.#unified);
  }

  apply(path: string, resources: Resources): Applied {
    const out: Applied = { applied: [], skipped: [] };
    for (const controller of CONTROLLERS) {
      if (!controller.wants(resources)) continue;
      if (!this.#hierarchies.has(controller.name)) {
        out.skipped.push(`${FIELDS[controller.name]}: the ${controller.name} controller is not mounted on this machine`);
        continue;
      }
      const dir = this.#dir(controller.name, path) as string;
      // create() made the joined ones: mkdir(2) of a cgroup takes the kernel's cgroup_mutex
      // even to say EEXIST, and throws here; access(2) does neither.
      if (!existsSync(dir)) this.#make(controller.name, path);
      controller.apply(dir, resources, out);
    }
    if (resources.unified && Object.keys(resources.unified).length > 0) out.skipped.push('unified: only cgroup v2 has it');
    if (resources.rdma && Object.keys(resources.rdma).length > 0) out.skipped.push('rdma: diyc does not limit RDMA');
    return out;
  }

  procsFiles(path: string): string[] {
    return this.#dirs(path)
      .filter((d) => existsSync(d))
      .map((d) => join(d, 'cgroup.procs'));
  }

  add(path: string, pid: number): void {
    for (const file of this.procsFiles(path)) writeValue(file, pid);
  }

  pids(path: string): number[] {
    const all = new Set<number>();
    for (const dir of this.#dirs(path)) {
      for (const each of subtree(dir)) for (const pid of readPids(join(each, 'cgroup.procs'))) all.add(pid);
    }
    return [...all];
  }

  frozen(path: string): boolean {
    const mount = this.#hierarchies.get('freezer');
    if (mount === undefined) return false;
    // The deepest level that exists: a cgroup made under a frozen one is frozen too.
    const existing = [join(mount), ...levels(path).map((l) => join(mount, l))].filter((d) => existsSync(d)).at(-1) as string;
    const state = readValue(join(existing, 'freezer.state'));
    return state === 'FROZEN' || state === 'FREEZING';
  }

  stats(path: string): Stats {
    const stats: Stats = {};
    const set = <K extends keyof Stats>(key: K, value: Stats[K] | undefined): void => {
      if (value !== undefined) stats[key] = value;
    };
    const mem = this.#dir('memory', path);
    if (mem) {
      set('memoryBytes', readNumber(join(mem, 'memory.usage_in_bytes')));
      set('memoryPeakBytes', readNumber(join(mem, 'memory.max_usage_in_bytes')));
      const limit = readNumber(join(mem, 'memory.limit_in_bytes'));
      if (limit !== undefined && limit < 2 ** 62) stats.memoryLimitBytes = limit;
      set('oomKills', readKey(join(mem, 'memory.oom_control'), 'oom_kill'));
    }
    const pidsDir = this.#dir('pids', path);
    if (pidsDir) {
      set('pids', readNumber(join(pidsDir, 'pids.current')));
      set('pidsLimit', readNumber(join(pidsDir, 'pids.max')));
    }
    const cpuacct = this.#dir('cpuacct', path);
    if (cpuacct) set('cpuNanoseconds', readNumber(join(cpuacct, 'cpuacct.usage')));
    return stats;
  }

  freeze(path: string, frozen: boolean): void {
    const dir = this.#dir('freezer', path);
    if (!dir) throw new DiycError('missing', 'the freezer controller is not mounted: pausing needs it');
    const want = frozen ? 'FROZEN' : 'THAWED';
    writeValue(join(dir, 'freezer.state'), want);
    // FREEZING is the way to FROZEN: it is done when the kernel says so.
    if (!waitUntil(() => readValue(join(dir, 'freezer.state')) === want, 5000))
      throw new DiycError('system', `${path} did not become ${want}`);
  }

  list(): string[] {
    const names = new Set<string>();
    for (const mount of new Set(JOINED.map((c) => this.#hierarchies.get(c)).filter((m): m is string => m !== undefined))) {
      const dir = join(mount, this.#parent);
      if (!existsSync(dir)) continue;
      for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) names.add(entry.name);
    }
    return [...names].sort();
  }

  remove(path: string, options: { force?: boolean } = {}): void {
    if (options.force && this.#removeEmpty(path)) return;
    // A v1 frozen cgroup's processes do not die of SIGKILL until thawed (OCI delete of a
    // paused container): thaw it first. One frozen by a parent stays so: not ours to thaw.
    const freezer = this.#dir('freezer', path);
    if (options.force && freezer !== undefined && readValue(join(freezer, 'freezer.self_freezing')) === '1') {
      writeValue(join(freezer, 'freezer.state'), 'THAWED');
    }
    evacuate(cgroupPath(path), () => this.pids(path), options.force, killPids);
    // The cgroup and what was made under it (a container's own sub-cgroups), deepest
    // first; the parents it was made under stay.
    for (const dir of this.#dirs(path)) removeCgroupTree(dir, this.#removeDir);
  }

  /**
   * What a container's teardown finds: its processes gone and no sub-cgroup, when one
   * rmdir(2) per hierarchy is the whole removal (the kernel refuses, EBUSY, a cgroup that
   * still has a process or a child). Without reading each cgroup.procs and walking each
   * tree first, as remove() does otherwise: a start's teardown did that in ten hierarchies.
   * False as soon as one is refused: remove() goes on the long way for those left.
   */
  #removeEmpty(path: string): boolean {
    for (const dir of this.#dirs(path)) {
      try {
        this.#removeDir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
      }
    }
    return true;
  }

  pruneParent(): void {
    if (this.list().length > 0) return;
    for (const mount of new Set([...this.#hierarchies.values(), ...(this.#unified !== undefined ? [this.#unified] : [])])) {
      removeIfEmpty(join(mount, this.#parent), this.#removeDir);
    }
  }
}
