// cgroup v1 cpuset: a new v1 cpuset starts empty, and an empty one takes no process: the
// manager copies its parent's when it makes it. (Its limits are shared-controllers.ts's.)
// https://docs.kernel.org/admin-guide/cgroup-v1/cpusets.html
import { join } from 'node:path';
import { readValue, writeValue } from '../files.js';

/** Gives a cpuset directory just made its parent's CPUs and memory nodes. */
export function inheritCpuset(dir: string): void {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    if ((readValue(join(dir, file)) ?? '') !== '') continue;
    const parent = readValue(join(dir, '..', file));
    if (parent) writeValue(join(dir, file), parent);
  }
}
