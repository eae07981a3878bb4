// The filesystems every container gets, as OCI runtimes give them: a fresh /proc, a
// small /dev on tmpfs with only the harmless devices (not the host's devtmpfs), a
// private devpts, /dev/shm, /dev/mqueue with an IPC namespace, /sys read-only, and the
// container's own cgroup read-only at /sys/fs/cgroup (runc's spec has the same mount):
// JVMs, Go, .NET and Node read their memory and CPU limits there. On cgroup v2 it is one
// cgroup2 mount; on v1 (or hybrid) a tmpfs with each hierarchy mounted inside, by its
// controllers. With a cgroup namespace, made after the process entered its cgroup, each
// shows that cgroup as its root: the container sees its own subtree, nothing above.
import type { RecordDevice, RecordMount } from '@diyc/record';

/** With `ipc` (the container has its own IPC namespace), its POSIX message queues too. */
export function containerMounts(options: { ipc?: boolean } = {}): RecordMount[] {
  const mqueue: RecordMount[] = options.ipc
    ? [{ destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] }]
    : [];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    ...mqueue,
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

export function containerDevices(): RecordDevice[] {
  const dev = (path: string, major: number, minor: number): RecordDevice => ({ path, type: 'c', major, minor, fileMode: 0o666 });
  return [
    dev('/dev/null', 1, 3),
    dev('/dev/zero', 1, 5),
    dev('/dev/full', 1, 7),
    dev('/dev/random', 1, 8),
    dev('/dev/urandom', 1, 9),
    dev('/dev/tty', 5, 0),
  ];
}

/** The links every /dev has (runtime-spec "Default Devices"), made after /dev is mounted. */
export const DEV_SYMLINKS: readonly [target: string, path: string][] = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
  ['pts/ptmx', '/dev/ptmx'],
];
