// cgroup v1 devices: the rules, written in order. https://docs.kernel.org/admin-guide/cgroup-v1/devices.html
import { join } from 'node:path';
import type { Resources } from '@diyc/record';
import type { Applied, Controller } from '../controller.js';
import { v1DeviceLines } from '../device-filter.js';
import { writeValue } from '../files.js';

export const devices: Controller = {
  name: 'devices',
  wants: (r) => r.devices !== undefined,
  apply(dir: string, r: Resources, out: Applied) {
    for (const { file, line } of v1DeviceLines(r.devices ?? [])) writeValue(join(dir, file), line);
    out.applied.push('devices');
  },
};
