// cgroup v1 memory: https://docs.kernel.org/admin-guide/cgroup-v1/memory.html
import { join } from 'node:path';
import type { Resources } from '@diyc/record';
import { unlimited, type Applied, type Controller } from '../controller.js';
import { existsSync, writeValue } from '../files.js';
import { formatSize } from '../size.js';

export const memory: Controller = {
  name: 'memory',
  wants: (r) => r.memory !== undefined && Object.keys(r.memory).length > 0,
  apply(dir: string, r: Resources, out: Applied) {
    const m = r.memory ?? {};
    const memsw = join(dir, 'memory.memsw.limit_in_bytes');
    const hasMemsw = existsSync(memsw);
    if (m.limit !== undefined) {
      // memsw (memory + swap) must never be below the limit: lift it first, set it last.
      if (hasMemsw) writeValue(memsw, -1);
      writeValue(join(dir, 'memory.limit_in_bytes'), unlimited(m.limit) ? -1 : m.limit);
      out.applied.push(unlimited(m.limit) ? 'memory unlimited' : `memory ${formatSize(m.limit)}`);
    }
    if (m.swap !== undefined) {
      if (!hasMemsw)
        out.skipped.push('memory.swap: swap accounting is off in this kernel (boot with swapaccount=1), so swap is not limited');
      else if (m.limit === undefined && !unlimited(m.swap)) out.skipped.push('memory.swap: a swap limit needs a memory limit');
      else {
        writeValue(memsw, unlimited(m.swap) ? -1 : m.swap);
        const swap = unlimited(m.swap) ? undefined : m.swap - (m.limit ?? 0);
        out.applied.push(swap === undefined ? 'swap unlimited' : swap <= 0 ? 'no swap' : `swap ${formatSize(swap)}`);
      }
    }
    if (m.reservation !== undefined) {
      writeValue(join(dir, 'memory.soft_limit_in_bytes'), unlimited(m.reservation) ? -1 : m.reservation);
      out.applied.push(`memory reservation ${unlimited(m.reservation) ? 'none' : formatSize(m.reservation)}`);
    }
    if (m.swappiness !== undefined) {
      writeValue(join(dir, 'memory.swappiness'), m.swappiness);
      out.applied.push(`swappiness ${m.swappiness}`);
    }
    if (m.disableOOMKiller) {
      writeValue(join(dir, 'memory.oom_control'), 1);
      out.applied.push('OOM killer off');
    }
    for (const [key, file] of [
      ['kernel', 'memory.kmem.limit_in_bytes'],
      ['kernelTCP', 'memory.kmem.tcp.limit_in_bytes'],
    ] as const) {
      const value = m[key];
      if (value === undefined) continue;
      // Ignored, as runc ignores kernel memory settings ("will be removed"), with a warning.
      if (!existsSync(join(dir, file)))
        (out.ignored ??= []).push(`memory.${key}: this kernel has no ${file} (kernel memory limits are gone since Linux 6.1)`);
      else {
        writeValue(join(dir, file), unlimited(value) ? -1 : value);
        out.applied.push(`${key} memory ${unlimited(value) ? 'unlimited' : formatSize(value)}`);
      }
    }
  },
};
