// cgroup v1 blkio: weights and throttles. https://docs.kernel.org/admin-guide/cgroup-v1/blkio-controller.html
import { join } from 'node:path';
import type { Resources } from '@diyc/record';
import type { Applied, Controller } from '../controller.js';
import { existsSync, writeValue } from '../files.js';

interface BlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: { major: number; minor: number; weight?: number; leafWeight?: number }[];
  throttleReadBpsDevice?: { major: number; minor: number; rate: number }[];
  throttleWriteBpsDevice?: { major: number; minor: number; rate: number }[];
  throttleReadIOPSDevice?: { major: number; minor: number; rate: number }[];
  throttleWriteIOPSDevice?: { major: number; minor: number; rate: number }[];
}

/** Writes `value` to the first of `files` this kernel has; false when it has none. */
function writeFirst(dir: string, files: string[], value: string | number): boolean {
  const file = files.find((f) => existsSync(join(dir, f)));
  if (file === undefined) return false;
  writeValue(join(dir, file), value);
  return true;
}

export const blkio: Controller = {
  name: 'blkio',
  wants: (r) => r.blockIO !== undefined && Object.keys(r.blockIO).length > 0,
  apply(dir: string, r: Resources, out: Applied) {
    const b = (r.blockIO ?? {}) as BlockIO;
    const weight = (what: string, files: string[], value: string | number): void => {
      if (writeFirst(dir, files, value)) out.applied.push(`${what} ${value}`);
      else out.skipped.push(`blockIO.${what}: this kernel has no ${files.join(' or ')}`);
    };
    if (b.weight !== undefined) weight('weight', ['blkio.weight', 'blkio.bfq.weight'], b.weight);
    if (b.leafWeight !== undefined) weight('leafWeight', ['blkio.leaf_weight'], b.leafWeight);
    for (const d of b.weightDevice ?? []) {
      if (d.weight !== undefined)
        weight('weightDevice', ['blkio.weight_device', 'blkio.bfq.weight_device'], `${d.major}:${d.minor} ${d.weight}`);
      if (d.leafWeight !== undefined)
        weight('weightDevice.leafWeight', ['blkio.leaf_weight_device'], `${d.major}:${d.minor} ${d.leafWeight}`);
    }
    const throttles = [
      ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
      ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
      ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
      ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
    ] as const;
    for (const [key, file] of throttles) for (const d of b[key] ?? []) weight(key, [file], `${d.major}:${d.minor} ${d.rate}`);
  },
};
