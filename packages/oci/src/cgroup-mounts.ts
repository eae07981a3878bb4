// Which cgroup controllers each cgroup.procs file of a container belongs to, from the
// machine's cgroup mounts: a v1 hierarchy has its controllers (cpu, memory, name=systemd...)
// in its mount options, v2's one tree has them all (""). exec --cgroup and events use it.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';

/** Mount point -> the controllers of the cgroup hierarchy mounted there ("" for v2). */
export function cgroupMounts(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): Map<string, string[]> {
  const mounts = new Map<string, string[]>();
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const point = left.split(' ')[4] as string;
    const [fstype, , options = ''] = right.split(' ');
    if (fstype === 'cgroup2') mounts.set(point, ['']);
    else if (fstype === 'cgroup')
      mounts.set(
        point,
        options.split(',').filter((o) => o !== 'rw' && o !== 'ro'),
      );
  }
  return mounts;
}

/** The controllers a cgroup.procs file's hierarchy has (its mount point's). */
export function controllersOf(procsFile: string, mounts: Map<string, string[]>): string[] {
  const dir = posix.dirname(procsFile);
  let best = '';
  for (const point of mounts.keys()) if ((dir === point || dir.startsWith(`${point}/`)) && point.length > best.length) best = point;
  return mounts.get(best) ?? [];
}
