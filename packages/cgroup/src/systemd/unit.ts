// The systemd cgroup driver's pure half: what runc's libcontainer/cgroups/systemd makes of
// an OCI config. A container's cgroup is a transient scope unit, named from cgroupsPath's
// "slice:prefix:name" form, started over D-Bus with properties systemd then enforces (and
// keeps across daemon-reload). https://systemd.io/CGROUP_DELEGATION/
// https://www.freedesktop.org/software/systemd/man/latest/systemd.resource-control.html
import { DiycError, type Resources } from '@diyc/record';
import { weightOfShares } from '../v2/controllers.js';

/** cgroupsPath "slice:prefix:name", as runc reads it with --systemd-cgroup. */
export interface SystemdPath {
  /** The slice the scope goes in: "system.slice", "kubepods-besteffort.slice". */
  slice: string;
  /** The unit name's prefix: "cri-containerd", "libpod", "runc". */
  prefix: string;
  /** The container's part of the unit name (a name ending in .slice makes a slice). */
  name: string;
}

const FORM = /^\/?([^/:]*):([^/:]*):([^/:]+)$/;

/** Whether `cgroupsPath` is of the systemd form (a cgroupfs path holds no colons). */
export function isSystemdPath(cgroupsPath: string | undefined): boolean {
  return cgroupsPath !== undefined && FORM.test(cgroupsPath);
}

/**
 * Reads "slice:prefix:name" (a leading "/" is tolerated: diyc-oci normalises paths); an
 * empty slice is system.slice, as with runc. Without a path: system.slice:diyc:ID.
 */
export function parseSystemdPath(cgroupsPath: string | undefined, id: string): SystemdPath {
  if (cgroupsPath === undefined || cgroupsPath === '') return { slice: 'system.slice', prefix: 'diyc', name: id };
  const m = FORM.exec(cgroupsPath);
  if (!m)
    throw new DiycError(
      'invalid',
      `expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "${cgroupsPath}" instead`,
    );
  const [, slice = '', prefix = '', name = ''] = m;
  if (slice !== '') expandSlice(slice);
  if (!/^[A-Za-z0-9_.@-]+$/.test(name) || (prefix !== '' && !/^[A-Za-z0-9_.@-]+$/.test(prefix))) {
    throw new DiycError('invalid', `cgroupsPath "${cgroupsPath}": a unit name holds letters, digits and _.@- only`);
  }
  return { slice: slice === '' ? 'system.slice' : slice, prefix, name };
}

/** The unit: PREFIX-NAME.scope, or NAME itself when it is a slice (runc's getUnitName). */
export function unitName(path: SystemdPath): string {
  if (path.name.endsWith('.slice')) return path.name;
  return path.prefix === '' ? `${path.name}.scope` : `${path.prefix}-${path.name}.scope`;
}

/**
 * A slice's cgroup directory: each dash is a level, "a-b.slice" is /a.slice/a-b.slice
 * (systemd.slice(5)); "-.slice" is the root.
 */
export function expandSlice(slice: string): string {
  const bad = (): never => {
    throw new DiycError('invalid', `invalid slice name: ${slice}`);
  };
  if (!slice.endsWith('.slice') || slice.includes('/')) bad();
  const base = slice.slice(0, -'.slice'.length);
  if (base === '-') return '/';
  let path = '';
  let prefix = '';
  for (const part of base.split('-')) {
    if (part === '') bad();
    path += `/${prefix}${part}.slice`;
    prefix += `${part}-`;
  }
  return path;
}

/** The unit's cgroup, below the cgroup2 root: /system.slice/diyc-box.scope. */
export function unitCgroup(path: SystemdPath): string {
  const slice = expandSlice(path.slice);
  const unit = unitName(path);
  return unit.endsWith('.slice') ? expandSlice(unit) : `${slice === '/' ? '' : slice}/${unit}`;
}

/** A D-Bus variant as @homebridge/dbus-native writes one: [signature, value]. */
export type Variant = [signature: string, value: unknown];
/** One unit property, a(sv)'s element. */
export type Property = [name: string, value: Variant];

const UINT64_MAX = '18446744073709551615';

/**
 * The properties runc gives a container's unit (libcontainer/cgroups/systemd/v2.go Apply
 * and genV2ResourcesProperties): what it is, where it goes, that its subtree is the
 * container's own (Delegate), the process to move in, accounting, no default
 * dependencies, and the limits systemd is to keep. What has no property (no swap, the
 * device program, cpuset, io) is written into the unit's cgroup after it starts.
 */
export function unitProperties(path: SystemdPath, resources: Resources, options: { pid?: number; description?: string } = {}): Property[] {
  const unit = unitName(path);
  const props: Property[] = [['Description', ['s', options.description ?? `diyc container ${path.name}`]]];
  if (unit.endsWith('.slice')) props.push(['Wants', ['as', [path.slice]]]);
  else props.push(['Slice', ['s', path.slice]], ['Delegate', ['b', true]]);
  if (options.pid !== undefined) props.push(['PIDs', ['au', [options.pid]]]);
  props.push(
    ['MemoryAccounting', ['b', true]],
    ['CPUAccounting', ['b', true]],
    ['IOAccounting', ['b', true]],
    ['TasksAccounting', ['b', true]],
    ['DefaultDependencies', ['b', false]],
  );
  return [...props, ...resourceProperties(resources)];
}

/** The limits as properties (also what `update` sets on a running unit). */
export function resourceProperties(r: Resources): Property[] {
  const props: Property[] = [];
  const m = r.memory ?? {};
  if (m.limit !== undefined && m.limit !== 0) props.push(['MemoryMax', ['t', m.limit < 0 ? UINT64_MAX : m.limit]]);
  if (m.reservation !== undefined && m.reservation > 0) props.push(['MemoryLow', ['t', m.reservation]]);
  // OCI's swap is memory + swap; none left (swap == limit) is written as memory.swap.max 0.
  if (m.swap !== undefined && m.swap !== 0) {
    if (m.swap < 0) props.push(['MemorySwapMax', ['t', UINT64_MAX]]);
    else if (m.limit !== undefined && m.limit > 0 && m.swap > m.limit) props.push(['MemorySwapMax', ['t', m.swap - m.limit]]);
  }
  const c = r.cpu ?? {};
  if (c.shares !== undefined && c.shares > 0) props.push(['CPUWeight', ['t', weightOfShares(c.shares)]]);
  if (c.period !== undefined && c.period > 0) props.push(['CPUQuotaPeriodUSec', ['t', c.period]]);
  if (c.quota !== undefined || c.period !== undefined) {
    let perSec: number | string = UINT64_MAX;
    if (c.quota !== undefined && c.quota > 0) {
      const period = c.period && c.period > 0 ? c.period : 100_000;
      perSec = Math.floor((c.quota * 1_000_000) / period);
      // systemd keeps CPUQuota in whole percents (10ms a second): round up, as runc does.
      if (perSec % 10_000 !== 0) perSec = (Math.floor(perSec / 10_000) + 1) * 10_000;
    }
    props.push(['CPUQuotaPerSecUSec', ['t', perSec]]);
  }
  const pids = r.pids?.limit;
  if (pids !== undefined && (pids > 0 || pids === -1)) props.push(['TasksMax', ['t', pids === -1 ? UINT64_MAX : pids]]);
  return props;
}
