// `diyc stats`: a container's use of the machine as docker prints it, from its cgroup (CPU
// time, memory, pids, block I/O) and its network namespace (/proc/PID/net/dev). CPU % is
// docker's: the CPU time used between two samples over the time between them, so 100% is
// one CPU busy. Memory is docker's on cgroup v2 too: the page cache that can be dropped
// (inactive_file) is not counted as use.
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { detectLayout, managerForPath, type CgroupLayout } from '@diyc/cgroup';
import { bytesSize, humanSize } from './human.js';

/** One sample of a container's counters. */
export interface Sample {
  /** When it was taken (ms, monotonic). */
  at: number;
  cpuNanoseconds?: number;
  memoryBytes?: number;
  memoryLimitBytes?: number;
  pids?: number;
  netRx?: number;
  netTx?: number;
  blockRead?: number;
  blockWrite?: number;
}

/** What docker stats shows of a container; its --format sees these fields. */
export interface StatsRow {
  ID: string;
  Container: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

const percent = (n: number): string => `${n.toFixed(2)}%`;

/** docker's row from two samples (before, after) of a running container; `--` for what is unknown. */
export function statsRow(id: string, name: string, before: Sample | undefined, after: Sample | undefined, hostMemory: number): StatsRow {
  const row: StatsRow = {
    ID: id.slice(0, 12),
    Container: id.slice(0, 12),
    Name: name,
    CPUPerc: '--',
    MemUsage: '-- / --',
    MemPerc: '--',
    NetIO: '--',
    BlockIO: '--',
    PIDs: '--',
  };
  if (!after) return row;
  if (before?.cpuNanoseconds !== undefined && after.cpuNanoseconds !== undefined && after.at > before.at)
    row.CPUPerc = percent((Math.max(0, after.cpuNanoseconds - before.cpuNanoseconds) / ((after.at - before.at) * 1e6)) * 100);
  if (after.memoryBytes !== undefined) {
    const limit = after.memoryLimitBytes !== undefined && after.memoryLimitBytes < hostMemory ? after.memoryLimitBytes : hostMemory;
    row.MemUsage = `${bytesSize(after.memoryBytes)} / ${bytesSize(limit)}`;
    row.MemPerc = percent(limit > 0 ? (after.memoryBytes / limit) * 100 : 0);
  }
  if (after.netRx !== undefined && after.netTx !== undefined) row.NetIO = `${humanSize(after.netRx)} / ${humanSize(after.netTx)}`;
  if (after.blockRead !== undefined && after.blockWrite !== undefined)
    row.BlockIO = `${humanSize(after.blockRead)} / ${humanSize(after.blockWrite)}`;
  if (after.pids !== undefined) row.PIDs = String(after.pids);
  return row;
}

/** Bytes received and sent on every interface but lo, from /proc/PID/net/dev's text. */
export function netTotals(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const fields = (m[2] as string).trim().split(/\s+/).map(Number);
    rx += fields[0] ?? 0;
    tx += fields[8] ?? 0;
  }
  return { rx, tx };
}

/** Bytes read and written, from a v2 io.stat's text ("MAJ:MIN rbytes=N wbytes=N ..."). */
export function ioTotals(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const m of text.matchAll(/\brbytes=(\d+)/g)) read += Number(m[1]);
  for (const m of text.matchAll(/\bwbytes=(\d+)/g)) write += Number(m[1]);
  return { read, write };
}

/** Bytes read and written, from a v1 blkio.throttle.io_service_bytes's text ("MAJ:MIN Read N"). */
export function blkioTotals(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const m of text.matchAll(/^\S+ (Read|Write) (\d+)$/gm)) {
    if (m[1] === 'Read') read += Number(m[2]);
    else write += Number(m[2]);
  }
  return { read, write };
}

/** The page cache the memory counter holds that docker leaves out: v2's inactive_file, v1's total_inactive_file. */
export function inactiveFile(memoryStat: string, v1: boolean): number {
  return Number((v1 ? /^total_inactive_file (\d+)$/m : /^inactive_file (\d+)$/m).exec(memoryStat)?.[1] ?? 0);
}

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

let machine: CgroupLayout | undefined;

/**
 * The directory of a process's cgroup for `controller`, from /proc/PID/cgroup: v2's
 * "0::PATH" under the unified mount, or v1's "N:CONTROLLERS:PATH" under its hierarchy.
 */
function cgroupDir(pid: number, controller: string): string | undefined {
  const layout = (machine ??= detectLayout());
  const lines = (read(`/proc/${pid}/cgroup`) ?? '').split('\n').map((l) => l.split(':'));
  if (layout.mode === 'unified') {
    const path = lines
      .find((l) => l[0] === '0' && l[1] === '')
      ?.slice(2)
      .join(':');
    return path === undefined || !layout.v2 ? undefined : join(layout.v2, path);
  }
  const mount = layout.v1.get(controller);
  const path = lines
    .find((l) => (l[1] ?? '').split(',').includes(controller))
    ?.slice(2)
    .join(':');
  return path === undefined || mount === undefined ? undefined : join(mount, path);
}

/** A sample of a running container: its cgroup `path` and its first process `pid`. */
export function sample(path: string | undefined, pid: number | undefined): Sample {
  const out: Sample = { at: performance.now() };
  if (path !== undefined) {
    try {
      const s = managerForPath(path).stats(path);
      if (s.cpuNanoseconds !== undefined) out.cpuNanoseconds = s.cpuNanoseconds;
      if (s.memoryBytes !== undefined) out.memoryBytes = s.memoryBytes;
      if (s.memoryLimitBytes !== undefined) out.memoryLimitBytes = s.memoryLimitBytes;
      if (s.pids !== undefined) out.pids = s.pids;
    } catch {
      /* its cgroup is gone: it has just ended */
    }
  }
  if (pid === undefined) return out;
  const v1 = (machine ??= detectLayout()).mode !== 'unified';
  const memory = cgroupDir(pid, 'memory');
  const memoryStat = memory === undefined ? undefined : read(join(memory, 'memory.stat'));
  if (memoryStat !== undefined && out.memoryBytes !== undefined)
    out.memoryBytes = Math.max(0, out.memoryBytes - inactiveFile(memoryStat, v1));
  const blkio = cgroupDir(pid, v1 ? 'blkio' : 'io');
  const io = blkio === undefined ? undefined : read(join(blkio, v1 ? 'blkio.throttle.io_service_bytes' : 'io.stat'));
  if (io !== undefined) {
    const { read: r, write: w } = v1 ? blkioTotals(io) : ioTotals(io);
    out.blockRead = r;
    out.blockWrite = w;
  }
  const net = read(`/proc/${pid}/net/dev`);
  if (net !== undefined) {
    const { rx, tx } = netTotals(net);
    out.netRx = rx;
    out.netTx = tx;
  }
  return out;
}

export const hostMemory = (): number => totalmem();
