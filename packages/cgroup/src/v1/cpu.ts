// cgroup v1 cpu: CFS shares, quota and period, real-time time. cpuacct is read for stats.
// https://docs.kernel.org/scheduler/sched-bwc.html
import { join } from 'node:path';
import type { Resources } from '@diyc/record';
import type { Applied, Controller } from '../controller.js';
import { existsSync, writeValue } from '../files.js';
import { wantsCpu } from '../shared-controllers.js';

export const cpu: Controller = {
  name: 'cpu',
  wants: wantsCpu,
  apply(dir: string, r: Resources, out: Applied) {
    const c = r.cpu ?? {};
    if (c.shares !== undefined) {
      writeValue(join(dir, 'cpu.shares'), c.shares);
      out.applied.push(`cpu shares ${c.shares}`);
    }
    // The period first: a quota is checked against it.
    if (c.period !== undefined) writeValue(join(dir, 'cpu.cfs_period_us'), c.period);
    if (c.quota !== undefined) writeValue(join(dir, 'cpu.cfs_quota_us'), c.quota < 0 ? -1 : c.quota);
    if (c.quota !== undefined || c.period !== undefined) {
      const period = c.period ?? 100_000;
      out.applied.push(c.quota === undefined || c.quota < 0 ? `cpu period ${period}` : `cpus ${+(c.quota / period).toFixed(3)}`);
    }
    if (c.burst !== undefined) {
      if (!existsSync(join(dir, 'cpu.cfs_burst_us'))) out.skipped.push('cpu.burst: this kernel has no cpu.cfs_burst_us');
      else {
        writeValue(join(dir, 'cpu.cfs_burst_us'), c.burst);
        out.applied.push(`cpu burst ${c.burst}`);
      }
    }
    // Real-time time: period before runtime, as the kernel checks the runtime against it.
    for (const [key, file] of [
      ['realtimePeriod', 'cpu.rt_period_us'],
      ['realtimeRuntime', 'cpu.rt_runtime_us'],
    ] as const) {
      const value = c[key];
      if (value === undefined) continue;
      if (!existsSync(join(dir, file))) out.skipped.push(`cpu.${key}: this kernel has no real-time group scheduling (${file})`);
      else {
        writeValue(join(dir, file), value);
        out.applied.push(`${key} ${value}`);
      }
    }
    if (c.idle !== undefined) out.skipped.push('cpu.idle: only cgroup v2 has it');
  },
};
