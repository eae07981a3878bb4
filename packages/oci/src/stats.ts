// A container's statistics as `runc events` reports them (runc's types/events.go, filled
// by libcontainer/cgroups/fs and fs2), read from its cgroup's files: CPU time, cpuset,
// memory with swap and kernel use, pids, block I/O, huge pages. The keys and their order
// are runc's, and so is what is left out when zero (Go's omitempty). Counters can pass
// 2^53 (an unlimited memory limit is 2^63 - 4096): they are read and written as bigints.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { cgroupMounts, controllersOf } from './cgroup-mounts.js';

export type GoValue = bigint | number | string | boolean | null | GoValue[] | { [key: string]: GoValue };

/** JSON as Go's encoding/json writes it: exact big integers, <, > and & escaped. */
export function goJson(value: GoValue): string {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${goJson(v)}`)
      .join(',')}}`;
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** A file holding one number ("max" and absent are 0, as runc's parsers leave them). */
function num(file: string): bigint {
  const text = read(file)?.trim();
  if (text === undefined || !/^\d+$/.test(text)) return 0n;
  return BigInt(text);
}

/** "key value" lines (memory.stat, cpu.stat, cpuacct.stat, memory.events). */
export function keyed(text: string | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) out.set(key, BigInt(value));
  }
  return out;
}

/** "0-2,5" -> [0, 1, 2, 5]. */
export function cpuList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? '').trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-').map(Number);
    for (let i = a as number; i <= (b ?? (a as number)); i++) out.push(i);
  }
  return out;
}

/** Go's omitempty: the key only when the value is not zero or empty. */
function put(obj: { [key: string]: GoValue }, key: string, value: GoValue, omitEmpty: boolean): void {
  if (omitEmpty && (value === 0n || value === 0 || value === '' || value === null || (Array.isArray(value) && value.length === 0))) return;
  obj[key] = value;
}

/** The cgroup directories of a container, by controller ("" for cgroup v2's one directory). */
export type CgroupDirs = Map<string, string>;

/** Controller -> directory, from the container's cgroup.procs files. On hybrid v1 the unified tree is left out. */
export function cgroupDirs(procsFiles: readonly string[], mounts = cgroupMounts()): CgroupDirs {
  const dirs: CgroupDirs = new Map();
  const v1 = procsFiles.some((f) => !controllersOf(f, mounts).includes(''));
  for (const file of procsFiles) {
    for (const c of controllersOf(file, mounts)) if (c !== '' || !v1) dirs.set(c, posix.dirname(file));
  }
  return dirs;
}

function memoryEntry(dir: string, prefix: string): { [key: string]: GoValue } {
  const entry: { [key: string]: GoValue } = {};
  put(entry, 'limit', num(join(dir, `${prefix}limit_in_bytes`)), false);
  put(entry, 'usage', num(join(dir, `${prefix}usage_in_bytes`)), true);
  put(entry, 'max', num(join(dir, `${prefix}max_usage_in_bytes`)), true);
  put(entry, 'failcnt', num(join(dir, `${prefix}failcnt`)), false);
  return entry;
}

/** USER_HZ ticks (cpuacct.stat) in nanoseconds, as runc converts them. */
const TICK_NS = 10_000_000n;

/** runc's stats of a cgroup v1 container. */
function statsV1(dirs: CgroupDirs): { [key: string]: GoValue } {
  const usage: { [key: string]: GoValue } = {};
  const cpuacct = dirs.get('cpuacct');
  if (cpuacct) {
    put(usage, 'total', num(join(cpuacct, 'cpuacct.usage')), true);
    const percpu = (read(join(cpuacct, 'cpuacct.usage_percpu')) ?? '')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((v) => BigInt(v));
    put(usage, 'percpu', percpu, true);
    // cpuacct.usage_all: "cpu user system" per CPU.
    const rows = (read(join(cpuacct, 'cpuacct.usage_all')) ?? '')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/));
    put(
      usage,
      'percpu_kernel',
      rows.filter((r) => r.length === 3).map((r) => BigInt(r[2] as string)),
      true,
    );
    put(
      usage,
      'percpu_user',
      rows.filter((r) => r.length === 3).map((r) => BigInt(r[1] as string)),
      true,
    );
    const stat = keyed(read(join(cpuacct, 'cpuacct.stat')));
    usage.kernel = (stat.get('system') ?? 0n) * TICK_NS;
    usage.user = (stat.get('user') ?? 0n) * TICK_NS;
  } else {
    usage.kernel = 0n;
    usage.user = 0n;
  }
  const throttling: { [key: string]: GoValue } = {};
  const cpuDir = dirs.get('cpu');
  if (cpuDir) {
    const stat = keyed(read(join(cpuDir, 'cpu.stat')));
    put(throttling, 'periods', stat.get('nr_periods') ?? 0n, true);
    put(throttling, 'throttledPeriods', stat.get('nr_throttled') ?? 0n, true);
    put(throttling, 'throttledTime', stat.get('throttled_time') ?? 0n, true);
  }
  const cpuset: { [key: string]: GoValue } = {};
  const cs = dirs.get('cpuset');
  const csNum = (name: string): bigint => (cs ? num(join(cs, `cpuset.${name}`)) : 0n);
  put(cpuset, 'cpus', cs ? cpuList(read(join(cs, 'cpuset.cpus'))) : [], true);
  cpuset.cpu_exclusive = csNum('cpu_exclusive');
  put(cpuset, 'mems', cs ? cpuList(read(join(cs, 'cpuset.mems'))) : [], true);
  cpuset.mem_hardwall = csNum('mem_hardwall');
  cpuset.mem_exclusive = csNum('mem_exclusive');
  cpuset.memory_migrate = csNum('memory_migrate');
  cpuset.memory_spread_page = csNum('memory_spread_page');
  cpuset.memory_spread_slab = csNum('memory_spread_slab');
  cpuset.memory_pressure = csNum('memory_pressure');
  cpuset.sched_load_balance = csNum('sched_load_balance');
  const level = cs ? read(join(cs, 'cpuset.sched_relax_domain_level'))?.trim() : undefined;
  cpuset.sched_relax_domain_level = level !== undefined && /^-?\d+$/.test(level) ? Number(level) : 0;
  const memory: { [key: string]: GoValue } = {};
  const mem = dirs.get('memory');
  const raw = mem ? keyed(read(join(mem, 'memory.stat'))) : new Map<string, bigint>();
  put(memory, 'cache', raw.get('cache') ?? 0n, true);
  memory.usage = mem ? memoryEntry(mem, 'memory.') : { limit: 0n, failcnt: 0n };
  memory.swap = mem ? memoryEntry(mem, 'memory.memsw.') : { limit: 0n, failcnt: 0n };
  memory.kernel = mem ? memoryEntry(mem, 'memory.kmem.') : { limit: 0n, failcnt: 0n };
  memory.kernelTCP = mem ? memoryEntry(mem, 'memory.kmem.tcp.') : { limit: 0n, failcnt: 0n };
  put(memory, 'raw', raw.size > 0 ? Object.fromEntries(raw) : null, true);
  const pids: { [key: string]: GoValue } = {};
  const pidsDir = dirs.get('pids');
  if (pidsDir) {
    put(pids, 'current', num(join(pidsDir, 'pids.current')), true);
    put(pids, 'limit', num(join(pidsDir, 'pids.max')), true);
  }
  const blkio: { [key: string]: GoValue } = {};
  const bl = dirs.get('blkio');
  if (bl) {
    for (const [key, file] of [
      ['ioServiceBytesRecursive', 'blkio.throttle.io_service_bytes_recursive'],
      ['ioServicedRecursive', 'blkio.throttle.io_serviced_recursive'],
    ] as const) {
      const entries = blkioEntries(read(join(bl, file)));
      if (entries.length > 0) blkio[key] = entries;
    }
  }
  const hugetlb: { [key: string]: GoValue } = {};
  const hd = dirs.get('hugetlb');
  if (hd) {
    for (const name of safeList(hd)) {
      const m = /^hugetlb\.(.+)\.usage_in_bytes$/.exec(name);
      if (!m) continue;
      const size = m[1] as string;
      const entry: { [key: string]: GoValue } = {};
      put(entry, 'usage', num(join(hd, `hugetlb.${size}.usage_in_bytes`)), true);
      put(entry, 'max', num(join(hd, `hugetlb.${size}.max_usage_in_bytes`)), true);
      entry.failcnt = num(join(hd, `hugetlb.${size}.failcnt`));
      hugetlb[size] = entry;
    }
  }
  return { cpu: { usage, throttling }, cpuset, memory, pids, blkio, hugetlb, intel_rdt: {}, network_interfaces: null };
}

/** "8:0 Read 4096" lines as runc's BlkioEntry list (the Total line left out). */
function blkioEntries(text: string | undefined): GoValue[] {
  const out: GoValue[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, op, value] = line.trim().split(/\s+/);
    if (!dev || !op || value === undefined || !dev.includes(':')) continue;
    const [major, minor] = dev.split(':');
    const entry: { [key: string]: GoValue } = {};
    put(entry, 'major', BigInt(major as string), true);
    put(entry, 'minor', BigInt(minor as string), true);
    put(entry, 'op', op, true);
    put(entry, 'value', BigInt(value), true);
    out.push(entry);
  }
  return out;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** runc's stats of a cgroup v2 container (fs2: cpu.stat in µs, memory.current/max, pids, io.stat). */
function statsV2(dir: string): { [key: string]: GoValue } {
  const cpu = keyed(read(join(dir, 'cpu.stat')));
  const usage: { [key: string]: GoValue } = {};
  put(usage, 'total', (cpu.get('usage_usec') ?? 0n) * 1000n, true);
  usage.kernel = (cpu.get('system_usec') ?? 0n) * 1000n;
  usage.user = (cpu.get('user_usec') ?? 0n) * 1000n;
  const throttling: { [key: string]: GoValue } = {};
  put(throttling, 'periods', cpu.get('nr_periods') ?? 0n, true);
  put(throttling, 'throttledPeriods', cpu.get('nr_throttled') ?? 0n, true);
  put(throttling, 'throttledTime', (cpu.get('throttled_usec') ?? 0n) * 1000n, true);
  const raw = keyed(read(join(dir, 'memory.stat')));
  const events = keyed(read(join(dir, 'memory.events')));
  const maxOf = (file: string): bigint => {
    const text = read(join(dir, file))?.trim();
    return text === 'max' ? 0xffffffffffffffffn : text !== undefined && /^\d+$/.test(text) ? BigInt(text) : 0n;
  };
  const memory: { [key: string]: GoValue } = {};
  put(memory, 'cache', raw.get('file') ?? 0n, true);
  const entry = (current: bigint, limit: bigint, failcnt: bigint): { [key: string]: GoValue } => {
    const e: { [key: string]: GoValue } = { limit };
    put(e, 'usage', current, true);
    e.failcnt = failcnt;
    return e;
  };
  memory.usage = entry(num(join(dir, 'memory.current')), maxOf('memory.max'), events.get('max') ?? 0n);
  memory.swap = entry(num(join(dir, 'memory.swap.current')), maxOf('memory.swap.max'), 0n);
  memory.kernel = { limit: 0n, failcnt: 0n };
  memory.kernelTCP = { limit: 0n, failcnt: 0n };
  put(memory, 'raw', raw.size > 0 ? Object.fromEntries(raw) : null, true);
  const pids: { [key: string]: GoValue } = {};
  put(pids, 'current', num(join(dir, 'pids.current')), true);
  put(pids, 'limit', num(join(dir, 'pids.max')), true);
  return {
    cpu: { usage, throttling },
    cpuset: {
      cpu_exclusive: 0n,
      mem_hardwall: 0n,
      mem_exclusive: 0n,
      memory_migrate: 0n,
      memory_spread_page: 0n,
      memory_spread_slab: 0n,
      memory_pressure: 0n,
      sched_load_balance: 0n,
      sched_relax_domain_level: 0,
    },
    memory,
    pids,
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** The stats of the container whose cgroup directories are `dirs`. */
export function containerStats(dirs: CgroupDirs): { [key: string]: GoValue } {
  const v2 = dirs.get('');
  return v2 !== undefined && dirs.size === 1 ? statsV2(v2) : statsV1(dirs);
}

/**
 * How many times the container's memory cgroup has run out of memory: v1's oom_kill in
 * memory.oom_control, v2's oom in memory.events. Undefined once the cgroup is gone.
 */
export function oomCount(dirs: CgroupDirs): bigint | undefined {
  const v2 = dirs.get('');
  if (v2 !== undefined && dirs.size === 1) {
    const text = read(join(v2, 'memory.events'));
    return text === undefined ? undefined : (keyed(text).get('oom') ?? 0n);
  }
  const mem = dirs.get('memory');
  if (mem === undefined) return existsSync([...dirs.values()][0] ?? '/nonexistent') ? 0n : undefined;
  const text = read(join(mem, 'memory.oom_control'));
  return text === undefined ? undefined : (keyed(text).get('oom_kill') ?? 0n);
}
