// cgroup v2 controllers, each the files it writes. https://docs.kernel.org/admin-guide/cgroup-v2.html
import { join } from 'node:path';
import { attachDeviceFilter } from '@diyc/syscalls';
import type { Resources } from '@diyc/record';
import { unlimited, type Applied, type Controller } from '../controller.js';
import { deviceFilterProgram } from '../device-filter.js';
import { existsSync, writeValue } from '../files.js';
import { wantsCpu } from '../shared-controllers.js';
import { formatSize } from '../size.js';

export const memory: Controller = {
  name: 'memory',
  wants: (r) => r.memory !== undefined && Object.keys(r.memory).length > 0,
  apply(dir: string, r: Resources, out: Applied) {
    const m = r.memory ?? {};
    if (m.limit !== undefined) {
      writeValue(join(dir, 'memory.max'), unlimited(m.limit) ? 'max' : m.limit);
      out.applied.push(unlimited(m.limit) ? 'memory unlimited' : `memory ${formatSize(m.limit)}`);
    }
    if (m.swap !== undefined) {
      // OCI's swap is memory + swap; v2's memory.swap.max is the swap alone.
      if (!existsSync(join(dir, 'memory.swap.max')))
        out.skipped.push('memory.swap: swap accounting is off in this kernel, so swap is not limited');
      else if (unlimited(m.swap)) {
        writeValue(join(dir, 'memory.swap.max'), 'max');
        out.applied.push('swap unlimited');
      } else if (m.limit === undefined || unlimited(m.limit)) out.skipped.push('memory.swap: a swap limit needs a memory limit');
      else {
        const swap = Math.max(0, m.swap - m.limit);
        writeValue(join(dir, 'memory.swap.max'), swap);
        out.applied.push(swap === 0 ? 'no swap' : `swap ${formatSize(swap)}`);
      }
    }
    if (m.reservation !== undefined) {
      writeValue(join(dir, 'memory.low'), unlimited(m.reservation) ? 0 : m.reservation);
      out.applied.push(`memory reservation ${unlimited(m.reservation) ? 'none' : formatSize(m.reservation)}`);
    }
    // runc's v2 manager ignores these (and warns for kernel memory): so does diyc, saying so.
    const ignore = (why: string): void => {
      (out.ignored ??= []).push(why);
    };
    if (m.swappiness !== undefined) ignore('memory.swappiness: cgroup v2 has no per-cgroup swappiness');
    if (m.disableOOMKiller) ignore('memory.disableOOMKiller: cgroup v2 cannot turn the OOM killer off');
    if (m.kernel !== undefined) ignore('memory.kernel: cgroup v2 has no separate kernel memory limit');
    if (m.kernelTCP !== undefined) ignore('memory.kernelTCP: cgroup v2 has no separate TCP memory limit');
  },
};

/** OCI's cpu.shares (2 to 262144, v1's scale) as v2's cpu.weight (1 to 10000), as runc converts. */
export const weightOfShares = (shares: number): number => 1 + Math.floor(((Math.min(Math.max(shares, 2), 262144) - 2) * 9999) / 262142);

export const cpu: Controller = {
  name: 'cpu',
  wants: wantsCpu,
  apply(dir: string, r: Resources, out: Applied) {
    const c = r.cpu ?? {};
    if (c.shares !== undefined) {
      writeValue(join(dir, 'cpu.weight'), weightOfShares(c.shares));
      out.applied.push(`cpu weight ${weightOfShares(c.shares)}`);
    }
    if (c.quota !== undefined || c.period !== undefined) {
      const period = c.period ?? 100_000;
      const quota = c.quota === undefined || c.quota < 0 ? 'max' : String(c.quota);
      writeValue(join(dir, 'cpu.max'), `${quota} ${period}`);
      out.applied.push(quota === 'max' ? `cpu period ${period}` : `cpus ${+(Number(quota) / period).toFixed(3)}`);
    }
    if (c.burst !== undefined) {
      writeValue(join(dir, 'cpu.max.burst'), c.burst);
      out.applied.push(`cpu burst ${c.burst}`);
    }
    if (c.idle !== undefined) {
      writeValue(join(dir, 'cpu.idle'), c.idle);
      out.applied.push(`cpu idle ${c.idle}`);
    }
    if (c.realtimeRuntime !== undefined || c.realtimePeriod !== undefined)
      out.skipped.push('cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no real-time group scheduling');
  },
};

export { cpuset, pids } from '../shared-controllers.js';

interface Rate {
  major: number;
  minor: number;
  rate: number;
}
interface BlockIO {
  weight?: number;
  leafWeight?: number;
  throttleReadBpsDevice?: Rate[];
  throttleWriteBpsDevice?: Rate[];
  throttleReadIOPSDevice?: Rate[];
  throttleWriteIOPSDevice?: Rate[];
}

export const io: Controller = {
  name: 'io',
  wants: (r) => r.blockIO !== undefined && Object.keys(r.blockIO).length > 0,
  apply(dir: string, r: Resources, out: Applied) {
    const b = (r.blockIO ?? {}) as BlockIO;
    if (b.weight !== undefined) {
      const file = ['io.weight', 'io.bfq.weight'].find((f) => existsSync(join(dir, f)));
      if (file === undefined) out.skipped.push('blockIO.weight: this kernel has no io.weight');
      else {
        writeValue(join(dir, file), file === 'io.weight' ? `default ${b.weight}` : b.weight);
        out.applied.push(`io weight ${b.weight}`);
      }
    }
    if (b.leafWeight !== undefined) out.skipped.push('blockIO.leafWeight: cgroup v2 has no leaf weight');
    const keys = [
      ['throttleReadBpsDevice', 'rbps'],
      ['throttleWriteBpsDevice', 'wbps'],
      ['throttleReadIOPSDevice', 'riops'],
      ['throttleWriteIOPSDevice', 'wiops'],
    ] as const;
    for (const [key, name] of keys) {
      for (const d of b[key] ?? []) {
        writeValue(join(dir, 'io.max'), `${d.major}:${d.minor} ${name}=${d.rate}`);
        out.applied.push(`io ${name} ${d.major}:${d.minor} ${d.rate}`);
      }
    }
  },
};

export const hugetlb: Controller = {
  name: 'hugetlb',
  wants: (r) => (r.hugepageLimits ?? []).length > 0,
  apply(dir: string, r: Resources, out: Applied) {
    for (const h of r.hugepageLimits ?? []) {
      writeValue(join(dir, `hugetlb.${h.pageSize}.max`), h.limit);
      out.applied.push(`hugetlb ${h.pageSize} ${h.limit}`);
    }
  },
};

/** The device rules as a BPF program: no controller to enable, it attaches to any cgroup. */
export function devices(attach: (dir: string, program: Buffer) => void = attachDeviceFilter): Controller {
  return {
    name: '',
    wants: (r) => r.devices !== undefined,
    apply(dir: string, r: Resources, out: Applied) {
      attach(dir, deviceFilterProgram(r.devices ?? []));
      out.applied.push('devices');
    },
  };
}

/** linux.resources.unified: v2 files by name, as the config gives them. */
export const unified: Controller = {
  name: '',
  wants: (r) => r.unified !== undefined && Object.keys(r.unified).length > 0,
  apply(dir: string, r: Resources, out: Applied) {
    for (const [key, value] of Object.entries(r.unified ?? {})) {
      // A controller's file (memory.high), never a path: the name stays in this directory.
      if (!/^[a-z0-9_]+\.[a-z0-9_.]+$/.test(key) || key.startsWith('cgroup.'))
        throw new Error(`linux.resources.unified: '${key}' is not a controller file`);
      writeValue(join(dir, key), value);
      out.applied.push(`${key} ${value}`);
    }
  },
};
