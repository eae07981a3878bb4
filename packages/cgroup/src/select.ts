// Chooses the cgroup manager once, from the machine's layout.
import { detectLayout, type CgroupLayout } from './detect.js';
import type { CgroupManager } from './manager.js';
import { CgroupV1 } from './v1/manager.js';
import { CgroupV2 } from './v2/manager.js';

/** The parent of diyc's cgroups: $DIYC_CGROUP_PARENT (tests use their own), or "diyc". */
export function cgroupParent(env: NodeJS.ProcessEnv = process.env): string {
  const parent = env.DIYC_CGROUP_PARENT;
  return parent && /^[A-Za-z0-9_.-]+$/.test(parent) ? parent : 'diyc';
}

let machine: CgroupLayout | undefined;

/**
 * v2 when the machine is unified; v1 when it is legacy or hybrid (the v2 tree of a
 * hybrid machine has no controllers). The layout is read once per process.
 */
export function createCgroupManager(options: { layout?: CgroupLayout; parent?: string } = {}): CgroupManager {
  const layout = options.layout ?? (machine ??= detectLayout());
  const parent = options.parent ?? cgroupParent();
  if (layout.mode === 'unified' && layout.v2) return new CgroupV2({ root: layout.v2, parent });
  // A hybrid machine's unified tree gets the container too (as runc places it).
  return new CgroupV1({ hierarchies: layout.v1, parent, ...(layout.mode === 'hybrid' && layout.v2 ? { unified: layout.v2 } : {}) });
}
