// The v1 controllers diyc only passes on what a config asks of: hugetlb, net_cls, net_prio.
// When the machine does not mount them, the manager reports the fields as not applied.
import { join } from 'node:path';
import type { Resources } from '@diyc/record';
import type { Applied, Controller } from '../controller.js';
import { writeValue } from '../files.js';

export const hugetlb: Controller = {
  name: 'hugetlb',
  wants: (r) => (r.hugepageLimits ?? []).length > 0,
  apply(dir: string, r: Resources, out: Applied) {
    for (const h of r.hugepageLimits ?? []) {
      writeValue(join(dir, `hugetlb.${h.pageSize}.limit_in_bytes`), h.limit);
      out.applied.push(`hugetlb ${h.pageSize} ${h.limit}`);
    }
  },
};

interface Network {
  classID?: number;
  priorities?: { name: string; priority: number }[];
}

export const netCls: Controller = {
  name: 'net_cls',
  wants: (r) => (r.network as Network | undefined)?.classID !== undefined,
  apply(dir: string, r: Resources, out: Applied) {
    const id = (r.network as Network).classID as number;
    writeValue(join(dir, 'net_cls.classid'), id);
    out.applied.push(`net_cls classid ${id}`);
  },
};

export const netPrio: Controller = {
  name: 'net_prio',
  wants: (r) => ((r.network as Network | undefined)?.priorities ?? []).length > 0,
  apply(dir: string, r: Resources, out: Applied) {
    for (const p of (r.network as Network).priorities ?? []) {
      writeValue(join(dir, 'net_prio.ifpriomap'), `${p.name} ${p.priority}`);
      out.applied.push(`net_prio ${p.name} ${p.priority}`);
    }
  },
};
