// Chooses the cgroup manager once, from the machine's layout; or systemd's, for a
// cgroupsPath of its "slice:prefix:name" form.
import { DiycError, rootTag, stateRoot } from '@diyc/record';
import { detectLayout, type CgroupLayout } from './detect.js';
import type { CgroupManager } from './manager.js';
import { SystemdCgroup } from './systemd/manager.js';
import { isSystemdPath } from './systemd/unit.js';
import { CgroupV1 } from './v1/manager.js';
import { CgroupV2 } from './v2/manager.js';

/**
 * The parent of diyc's cgroups: $DIYC_CGROUP_PARENT (tests use their own), else "diyc"
 * for the default state root and "diyc-TAG" for any other, so that two roots' containers
 * of one name never share a cgroup (nor kill each other's processes).
 */
export function cgroupParent(env: NodeJS.ProcessEnv = process.env): string {
  const parent = env.DIYC_CGROUP_PARENT;
  if (parent && /^[A-Za-z0-9_.-]+$/.test(parent)) return parent;
  const tag = rootTag(stateRoot(env));
  return tag === '' ? 'diyc' : `diyc-${tag}`;
}

let machine: CgroupLayout | undefined;

/** This machine's cgroup layout, read from /proc/self/mountinfo once per process. */
export function machineLayout(): CgroupLayout {
  machine ??= detectLayout();
  return machine;
}

/**
 * v2 when the machine is unified; v1 when it is legacy or hybrid (the v2 tree of a
 * hybrid machine has no controllers). The layout is read once per process.
 */
export function createCgroupManager(options: { layout?: CgroupLayout; parent?: string } = {}): CgroupManager {
  const layout = options.layout ?? machineLayout();
  const parent = options.parent ?? cgroupParent();
  if (layout.mode === 'unified' && layout.v2) return new CgroupV2({ root: layout.v2, parent });
  // A hybrid machine's unified tree gets the container too (as runc places it).
  return new CgroupV1({ hierarchies: layout.v1, parent, ...(layout.mode === 'hybrid' && layout.v2 ? { unified: layout.v2 } : {}) });
}

/**
 * The systemd driver (runc's --systemd-cgroup): transient scopes over D-Bus. It needs
 * cgroup v2 with systemd as PID 1 (/run/systemd/system), as Debian 12, Ubuntu 22.04 and
 * Fedora boot.
 */
export function createSystemdManager(options: { layout?: CgroupLayout } = {}): SystemdCgroup {
  const layout = options.layout ?? machineLayout();
  if (layout.mode !== 'unified' || !layout.v2) {
    throw new DiycError(
      'unsupported',
      `the systemd cgroup driver needs cgroup v2 (this machine is ${layout.mode}): leave out --systemd-cgroup and use a cgroupfs path`,
    );
  }
  return new SystemdCgroup({ root: layout.v2 });
}

/**
 * The cgroup driver this process was asked for: "systemd" when DIYC_CGROUP_DRIVER says
 * so (diyc-oci sets it for runc's --systemd-cgroup), else "cgroupfs". Never guessed from a
 * path: runc, too, reads "a:b:c" as a cgroupfs path without the flag.
 */
export function cgroupDriver(env: NodeJS.ProcessEnv = process.env): 'cgroupfs' | 'systemd' {
  return env.DIYC_CGROUP_DRIVER === 'systemd' ? 'systemd' : 'cgroupfs';
}

/**
 * The manager for a container's cgroupsPath under the driver asked: systemd's, which
 * takes "slice:prefix:name" (what containerd's SystemdCgroup and podman's
 * --cgroup-manager systemd give) and refuses any other form, as runc does; or the
 * machine's cgroupfs one.
 */
export function managerForPath(
  cgroupsPath: string | undefined,
  options: { parent?: string; driver?: 'cgroupfs' | 'systemd' } = {},
): CgroupManager {
  if ((options.driver ?? cgroupDriver()) === 'cgroupfs')
    return createCgroupManager(options.parent !== undefined ? { parent: options.parent } : {});
  if (cgroupsPath !== undefined && !isSystemdPath(cgroupsPath)) {
    throw new DiycError(
      'invalid',
      `expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "${cgroupsPath}" instead`,
    );
  }
  return createSystemdManager();
}
