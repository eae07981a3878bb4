// What a container may do, as the defaults of runc's `runc spec` and Docker give it,
// and a little more: the record carries these, the child enforces them.
import { readFileSync } from 'node:fs';
import { CAPABILITIES } from '@diyc/syscalls';
import type { Capabilities, DeviceRule } from '@diyc/record';

/**
 * Docker's default capabilities (capabilities(7)): enough for a package manager, su,
 * ping and chown inside, and none of those that reach the host (SYS_ADMIN, NET_ADMIN,
 * SYS_MODULE, SYS_RAWIO, SYS_PTRACE, SYS_TIME, SYSLOG, DAC_READ_SEARCH, ...).
 */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/**
 * Every capability this process can give (its bounding set, /proc/self/status CapBnd):
 * what --privileged hands on. A capability the caller lacks cannot be given (capset(2)
 * refuses it), as in a sandbox whose bounding set drops CAP_SYS_RESOURCE.
 */
export function allCapabilities(status = readFileSync('/proc/self/status', 'utf8')): string[] {
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  const mask = hex === undefined ? (1n << BigInt(CAPABILITIES.length)) - 1n : BigInt(`0x${hex}`);
  return CAPABILITIES.filter((_, bit) => ((mask >> BigInt(bit)) & 1n) === 1n);
}

/**
 * The five sets of a container's process: root in the container holds them all in
 * effect (bounding = permitted = effective); inheritable and ambient stay empty, so a
 * non-root user gets none across execve, as with Docker.
 */
export function capabilitySets(caps: readonly string[]): Capabilities {
  const list = [...caps];
  return { bounding: list, effective: [...list], permitted: [...list] };
}

/** /proc and /sys paths a container cannot read (runc's default spec, and powercap). */
export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** /proc paths a container can read but not write (runc's default spec). */
export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const rule = (type: 'c' | 'b', major: number | null, minor: number | null, access = 'rwm'): DeviceRule => ({
  allow: true,
  type,
  major,
  minor,
  access,
});

/**
 * The device cgroup's rules: nothing but what diyc puts in /dev (Docker's list). A node
 * may be made anywhere (mknod: m), but only these can be opened: not the host's disks,
 * nor /dev/kmsg or /dev/mem, whatever an image ships. Nor /dev/console (c 5:1): the
 * container has none of its own, so that node is the host's system console.
 */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  { allow: false, access: 'rwm' },
  rule('c', null, null, 'm'),
  rule('b', null, null, 'm'),
  rule('c', 1, 3), // null
  rule('c', 1, 5), // zero
  rule('c', 1, 7), // full
  rule('c', 1, 8), // random
  rule('c', 1, 9), // urandom
  rule('c', 5, 0), // tty
  rule('c', 5, 2), // ptmx
  rule('c', 136, null), // the pts of /dev/pts
  rule('c', 10, 200), // net/tun
];
