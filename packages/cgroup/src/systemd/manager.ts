// The systemd cgroup driver (runc's --systemd-cgroup): a container's cgroup is a transient
// scope that systemd makes, limits and removes, asked over D-Bus; diyc never mkdirs in a
// tree systemd owns. The scope is delegated (Delegate=yes), so what systemd has no
// property for (no swap, the device program, cpuset, io, sub-cgroups) is written into
// its cgroup directly, as runc's systemd manager does through its cgroupfs manager.
//
// A scope cannot be started empty: systemd starts it with the container's first process
// (PIDs=), so create() and apply() only remember the limits, and add(path, pid) — the
// "place" step, after the process exists and before it runs — starts the unit.
// https://www.freedesktop.org/software/systemd/man/latest/systemd.scope.html
import { join } from 'node:path';
import type { Resources } from '@diyc/record';
import type { Applied } from '../controller.js';
import { existsSync } from '../files.js';
import type { CgroupManager, Stats } from '../manager.js';
import { CgroupV2 } from '../v2/manager.js';
import { systemdBus, type SystemdBus } from './bus.js';
import { parseSystemdPath, resourceProperties, unitCgroup, unitName, unitProperties, type SystemdPath } from './unit.js';

export interface SystemdOptions {
  /** The cgroup2 mount point (/sys/fs/cgroup). */
  root: string;
  /** The D-Bus connection to systemd (default: the system bus, opened on first use). */
  bus?: () => SystemdBus;
  /** Attaches a device program (default: the kernel's, through @diyc/syscalls). */
  attachDeviceFilter?: (dir: string, program: Buffer) => void;
}

/** What has no unit property: written into the scope's cgroup after it starts. */
function cgroupfsPart(r: Resources): Resources {
  const rest: Resources = {};
  if (r.memory?.swap !== undefined && r.memory.limit !== undefined) rest.memory = { limit: r.memory.limit, swap: r.memory.swap };
  if (r.cpu?.cpus !== undefined || r.cpu?.mems !== undefined)
    rest.cpu = { ...(r.cpu.cpus !== undefined ? { cpus: r.cpu.cpus } : {}), ...(r.cpu.mems !== undefined ? { mems: r.cpu.mems } : {}) };
  if (r.devices !== undefined) rest.devices = r.devices;
  if (r.blockIO !== undefined) rest.blockIO = r.blockIO;
  if (r.hugepageLimits !== undefined) rest.hugepageLimits = r.hugepageLimits;
  if (r.unified !== undefined) rest.unified = r.unified;
  return rest;
}

/** Limits asked before the scope exists, by cgroupsPath: this process starts it with them. */
const pending = new Map<string, Resources>();

export class SystemdCgroup implements CgroupManager {
  readonly version = 2 as const;
  /** systemd moves the first process in (StartTransientUnit's PIDs): it does not join by itself. */
  readonly placesProcesses = true;
  readonly #root: string;
  readonly #bus: () => SystemdBus;
  readonly #v2: CgroupV2;

  constructor(options: SystemdOptions) {
    this.#root = options.root;
    this.#bus = options.bus ?? systemdBus;
    this.#v2 = new CgroupV2({
      root: options.root,
      ...(options.attachDeviceFilter ? { attachDeviceFilter: options.attachDeviceFilter } : {}),
    });
  }

  /** diyc's own name for container NAME: system.slice:diyc:NAME. */
  pathOf(name: string): string {
    return `system.slice:diyc:${name}`;
  }

  #unit(path: string): { sd: SystemdPath; unit: string; cgroup: string } {
    const sd = parseSystemdPath(path, '');
    return { sd, unit: unitName(sd), cgroup: unitCgroup(sd) };
  }

  /** The unit's cgroup below the cgroup2 root, for the cgroupfs manager beside. */
  cgroupOf(path: string): string {
    return this.#unit(path).cgroup;
  }

  #active(unit: string): boolean {
    return ['active', 'activating', 'reloading'].includes(this.#bus().unitState(unit));
  }

  exists(path: string): boolean {
    return existsSync(join(this.#root, this.#unit(path).cgroup));
  }

  /** Checks the name; the scope itself is started with the first process (add). */
  create(path: string): void {
    this.#unit(path);
  }

  apply(path: string, resources: Resources): Applied {
    const { unit, cgroup } = this.#unit(path);
    const props = resourceProperties(resources);
    const out: Applied = { applied: props.map(([name, [, value]]) => `${name}=${String(value)}`), skipped: [] };
    if (!existsSync(join(this.#root, cgroup))) {
      pending.set(path, resources);
      return out;
    }
    if (props.length > 0) this.#bus().setUnitProperties(unit, props);
    const rest = this.#v2.apply(cgroup, cgroupfsPart(resources));
    return { applied: [...out.applied, ...rest.applied], skipped: rest.skipped, ...(rest.ignored ? { ignored: rest.ignored } : {}) };
  }

  /** No cgroup.procs to write before the scope exists: add() moves the process in. */
  procsFiles(path: string): string[] {
    const { cgroup } = this.#unit(path);
    return existsSync(join(this.#root, cgroup)) ? this.#v2.procsFiles(cgroup) : [];
  }

  /**
   * Places process `pid` in the container's scope: starts the scope with it and the limits
   * apply() was given (runc's Apply(pid)), then writes what has no property into its
   * cgroup; a running scope gets the process attached.
   */
  add(path: string, pid: number): void {
    const { sd, unit, cgroup } = this.#unit(path);
    if (existsSync(join(this.#root, cgroup)) && this.#active(unit)) {
      this.#bus().attachProcesses(unit, [pid]);
      return;
    }
    const resources = pending.get(path) ?? {};
    this.#bus().startUnit(unit, unitProperties(sd, resources, { pid }));
    pending.delete(path);
    const rest = this.#v2.apply(cgroup, cgroupfsPart(resources));
    if (rest.skipped.length > 0) throw new Error(`the scope ${unit} was started, but not all its limits apply: ${rest.skipped.join('; ')}`);
  }

  pids(path: string): number[] {
    return this.exists(path) ? this.#v2.pids(this.#unit(path).cgroup) : [];
  }

  frozen(path: string): boolean {
    return this.#v2.frozen(this.#unit(path).cgroup);
  }

  stats(path: string): Stats {
    return this.#v2.stats(this.#unit(path).cgroup);
  }

  freeze(path: string, frozen: boolean): void {
    this.#v2.freeze(this.#unit(path).cgroup, frozen);
  }

  /** The scopes are systemd's to list (systemctl list-units 'diyc-*.scope'). */
  list(): string[] {
    return [];
  }

  /**
   * Stops the scope (systemd kills what is left in it and removes its cgroup), then
   * removes what the container made below it, if systemd left any. A populated scope only
   * with `force`.
   */
  remove(path: string, options: { force?: boolean } = {}): void {
    const { unit, cgroup } = this.#unit(path);
    pending.delete(path);
    if (!options.force && this.pids(path).length > 0) this.#v2.remove(cgroup, {}); // refuses, naming the processes
    this.#bus().stopUnit(unit);
    if (existsSync(join(this.#root, cgroup))) this.#v2.remove(cgroup, { force: true });
  }

  pruneParent(): void {}
}
