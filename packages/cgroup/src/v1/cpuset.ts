// cgroup v1 cpuset: which CPUs and memory nodes. A new v1 cpuset starts empty, and an
// empty one takes no process: the manager copies its parent's when it makes it.
// https://docs.kernel.org/admin-guide/cgroup-v1/cpusets.html
import { join } from 'node:path';
import type { Resources } from '@diyc/record';
import type { Applied, Controller } from '../controller.js';
import { readValue, writeValue } from '../files.js';

export const cpuset: Controller = {
  name: 'cpuset',
  wants: (r) => r.cpu?.cpus !== undefined || r.cpu?.mems !== undefined,
  apply(dir: string, r: Resources, out: Applied) {
    if (r.cpu?.cpus !== undefined) { writeValue(join(dir, 'cpuset.cpus'), r.cpu.cpus); out.applied.push(`cpus ${r.cpu.cpus}`); }
    if (r.cpu?.mems !== undefined) { writeValue(join(dir, 'cpuset.mems'), r.cpu.mems); out.applied.push(`mems ${r.cpu.mems}`); }
  },
};

/** Gives a cpuset directory just made its parent's CPUs and memory nodes. */
export function inheritCpuset(dir: string): void {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    if ((readValue(join(dir, file)) ?? '') !== '') continue;
    const parent = readValue(join(dir, '..', file));
    if (parent) writeValue(join(dir, file), parent);
  }
}
