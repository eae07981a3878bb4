// Which cgroup layout this machine has, read from /proc/self/mountinfo:
//   unified  cgroup v2 only (at /sys/fs/cgroup)
//   legacy   cgroup v1 only: one hierarchy per controller (or per group of them)
//   hybrid   v1 controllers, plus an empty v2 tree (/sys/fs/cgroup/unified) for tracking
// https://man7.org/linux/man-pages/man7/cgroups.7.html
import { readFileSync } from 'node:fs';
import { DiycError } from '@diyc/record';

export type CgroupMode = 'unified' | 'legacy' | 'hybrid';

export interface CgroupLayout {
  mode: CgroupMode;
  /** v1: each controller's hierarchy mount point. */
  v1: Map<string, string>;
  /** v2: the unified hierarchy's mount point. */
  v2?: string;
}

// name=systemd is a hierarchy without a controller (systemd's own tracking tree); runc joins
// it as it joins every mounted hierarchy, so /proc/PID/cgroup shows the container's path on
// every line, as tools and runc's tests expect.
const V1_CONTROLLERS = [
  'memory',
  'pids',
  'cpu',
  'cpuacct',
  'cpuset',
  'blkio',
  'devices',
  'freezer',
  'net_cls',
  'net_prio',
  'perf_event',
  'hugetlb',
  'rdma',
  'misc',
  'name=systemd',
];

export function detectLayout(mountinfo: string = readFileSync('/proc/self/mountinfo', 'utf8')): CgroupLayout {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const [fstype, , superOptions = ''] = right.split(' ');
    if (!mountPoint) continue;
    if (fstype === 'cgroup2') v2 ??= mountPoint;
    if (fstype === 'cgroup') {
      for (const option of superOptions.split(',')) {
        if (V1_CONTROLLERS.includes(option) && !v1.has(option)) v1.set(option, mountPoint);
      }
    }
  }
  const layout: CgroupLayout = { mode: v1.size === 0 ? 'unified' : v2 ? 'hybrid' : 'legacy', v1 };
  if (v2) layout.v2 = v2;
  if (v1.size === 0 && !v2) throw new DiycError('missing', 'no cgroup filesystem is mounted: mount cgroup2 on /sys/fs/cgroup');
  return layout;
}
