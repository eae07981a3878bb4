// Flag values from <sched.h> and <sys/mount.h> (x86_64 and arm64 share them).

/** The namespaces of namespaces(7), by the names runtime-spec uses. */
export type Namespace = 'mount' | 'uts' | 'ipc' | 'pid' | 'network' | 'cgroup';

/** CLONE_NEW* flag of each namespace (clone(2), setns(2)). */
export const CLONE_NEW: Readonly<Record<Namespace, number>> = {
  mount: 0x00020000,
  uts: 0x04000000,
  ipc: 0x08000000,
  pid: 0x20000000,
  network: 0x40000000,
  cgroup: 0x02000000,
};

/** mount(2) flags. */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  REMOUNT: 32,
  NOATIME: 1024,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  STRICTATIME: 1 << 24,
} as const;

/** umount2(2) flags. */
export const MNT = { FORCE: 1, DETACH: 2, EXPIRE: 4 } as const;
