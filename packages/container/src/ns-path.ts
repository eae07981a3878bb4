// /proc/PID/ns/NAME: where a process's namespace of each type is, for joining it (setns(2)).
// https://man7.org/linux/man-pages/man7/namespaces.7.html
import type { Namespace } from '@diyc/syscalls';

const NS_FILE: Record<Namespace, string> = {
  mount: 'mnt',
  uts: 'uts',
  ipc: 'ipc',
  pid: 'pid',
  network: 'net',
  cgroup: 'cgroup',
  user: 'user',
};

/** Process `pid`'s namespace of type `type`. */
export function nsPath(pid: number, type: Namespace): string {
  return `/proc/${pid}/ns/${NS_FILE[type]}`;
}
