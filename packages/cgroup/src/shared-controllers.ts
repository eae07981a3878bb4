// Controllers whose files are the same in cgroup v1 and v2: pids.max, cpuset.cpus and
// cpuset.mems. (v1 also has to give a new cpuset its parent's values: v1/cpuset.ts.)
import { join } from 'node:path';
import type { Resources } from '@diyc/record';
import type { Applied, Controller } from './controller.js';
import { writeValue } from './files.js';

export const pids: Controller = {
  name: 'pids',
  wants: (r) => r.pids !== undefined,
  apply(dir: string, r: Resources, out: Applied) {
    const limit = r.pids?.limit ?? 0;
    writeValue(join(dir, 'pids.max'), limit > 0 ? limit : 'max');
    out.applied.push(limit > 0 ? `pids ${limit}` : 'pids unlimited');
  },
};

export const cpuset: Controller = {
  name: 'cpuset',
  wants: (r) => r.cpu?.cpus !== undefined || r.cpu?.mems !== undefined,
  apply(dir: string, r: Resources, out: Applied) {
    if (r.cpu?.cpus !== undefined) {
      writeValue(join(dir, 'cpuset.cpus'), r.cpu.cpus);
      out.applied.push(`cpus ${r.cpu.cpus}`);
    }
    if (r.cpu?.mems !== undefined) {
      writeValue(join(dir, 'cpuset.mems'), r.cpu.mems);
      out.applied.push(`mems ${r.cpu.mems}`);
    }
  },
};

/** Whether the resources ask the cpu controller (not cpuset) for anything. */
export const wantsCpu = (r: Resources): boolean =>
  ['shares', 'quota', 'period', 'burst', 'realtimeRuntime', 'realtimePeriod', 'idle'].some(
    (k) => r.cpu?.[k as keyof NonNullable<Resources['cpu']>] !== undefined,
  );
