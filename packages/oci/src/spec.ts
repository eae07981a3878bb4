// `diyc-oci spec`: the config.json `runc spec` writes (runc 1.1's libcontainer/specconv
// Example and ToRootless), field for field and in the same order: engines, scripts and
// runc's own test suite start from it and change what they need. Only ociVersion is
// diyc's: the version of the runtime spec diyc reads.
//
// It is a starting point, not a policy: three capabilities, no seccomp profile, no cgroup
// namespace (on a cgroup v1 machine). diyc's stricter defaults (Docker's capabilities and
// seccomp profile, a cgroup namespace) belong to diyc-run, and to the engines' own specs.
import { existsSync } from 'node:fs';
import { OCI_VERSION } from '@diyc/record';

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

interface SpecOptions {
  /** process.terminal (runc: always true; --no-terminal is diyc's). */
  terminal?: boolean;
  /** runc spec --rootless: a user namespace mapping this user, no network namespace, /sys bound. */
  rootless?: { uid: number; gid: number };
  /** Whether /sys/fs/cgroup is cgroup v2 only: runc then adds a cgroup namespace. */
  unified?: boolean;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The spec runc writes, as a JSON value in runc's key order. */
export function runcSpec(options: SpecOptions = {}): { [key: string]: Json } {
  const mounts: { [key: string]: Json }[] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
  const namespaces: Json[] = ['pid', 'network', 'ipc', 'uts', 'mount'].map((type) => ({ type }));
  if (options.unified ?? existsSync('/sys/fs/cgroup/cgroup.controllers')) namespaces.push({ type: 'cgroup' });
  const linux: { [key: string]: Json } = {
    resources: { devices: [{ allow: false, access: 'rwm' }] },
    namespaces,
    maskedPaths: [
      '/proc/acpi',
      '/proc/asound',
      '/proc/kcore',
      '/proc/keys',
      '/proc/latency_stats',
      '/proc/timer_list',
      '/proc/timer_stats',
      '/proc/sched_debug',
      '/sys/firmware',
      '/proc/scsi',
    ],
    readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
  };
  const spec: { [key: string]: Json } = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: options.terminal ?? true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS], ambient: [...CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts,
    linux,
  };
  if (options.rootless) {
    // ToRootless: a user namespace instead of a network one, this user as root, /sys bound
    // (a fresh sysfs needs the network namespace's owner), no gid=/uid= on mounts, no resources.
    const { uid, gid } = options.rootless;
    spec.mounts = mounts.map((m): { [key: string]: Json } => {
      if (m.destination === '/sys')
        return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
      const kept = (m.options as string[] | undefined)?.filter((o) => !o.startsWith('gid=') && !o.startsWith('uid='));
      return kept === undefined ? m : { ...m, options: kept };
    });
    spec.linux = {
      uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
      namespaces: [...namespaces.filter((ns) => !['network', 'user'].includes((ns as { type: string }).type)), { type: 'user' }],
      maskedPaths: linux.maskedPaths as Json,
      readonlyPaths: linux.readonlyPaths as Json,
    };
  }
  return spec;
}

/** The text runc writes: tab-indented (Go's json.MarshalIndent), with no newline at the end. */
export function specText(options: SpecOptions = {}): string {
  return JSON.stringify(runcSpec(options), null, '\t');
}
