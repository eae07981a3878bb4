// The cgroup stage of the pipeline, and how a container's end is told from its stats.
import { ANNOTATION, type ContainerRecord } from '@diyc/record';
import type { Applied, CgroupManager, Limits, Stats } from './manager.js';
import { formatSize } from './size.js';

/**
 * Creates NAME's cgroup and records it: path, resources, the files to join. The limits
 * are those the record asks for already (the device rules diyc-run put there), with
 * `limits` (the stage's own flags) over them.
 */
export function cgroupStage(record: ContainerRecord, name: string, given: Limits, manager: CgroupManager): { record: ContainerRecord; applied: Applied } {
  const limits: Limits = { ...limitsOf(record) };
  for (const [key, value] of Object.entries(given) as [keyof Limits, Limits[keyof Limits]][]) {
    if (value !== undefined) (limits as Record<string, unknown>)[key] = value;
  }
  const applied = manager.create(name, limits);
  const next = structuredClone(record);
  next.linux.cgroupsPath = manager.path(name);
  const resources: NonNullable<ContainerRecord['linux']['resources']> = {};
  if (limits.memory !== undefined) resources.memory = { limit: limits.memory, swap: limits.memory + (limits.swap ?? 0) };
  if (limits.pids !== undefined) resources.pids = { limit: limits.pids };
  if (limits.cpus !== undefined) resources.cpu = { quota: Math.round(limits.cpus * 100_000), period: 100_000 };
  if (limits.devices !== undefined) resources.devices = limits.devices;
  next.linux.resources = resources;
  next.annotations[ANNOTATION.cgroupProcs] = manager.procsFiles(name).join(':');
  if (limits.memory !== undefined) next.annotations[ANNOTATION.memory] = String(limits.memory);
  return { record: next, applied };
}

/** The limits a record's resources describe (the inverse of cgroupStage's). */
export function limitsOf(record: ContainerRecord): Limits {
  const r = record.linux.resources ?? {};
  const limits: Limits = {};
  if (r.memory?.limit !== undefined) {
    limits.memory = r.memory.limit;
    limits.swap = Math.max(0, (r.memory.swap ?? r.memory.limit) - r.memory.limit);
  }
  if (r.pids) limits.pids = r.pids.limit;
  if (r.cpu?.quota !== undefined) limits.cpus = r.cpu.quota / (r.cpu.period ?? 100_000);
  if (r.devices !== undefined) limits.devices = r.devices;
  return limits;
}

/**
 * Why a container died, when its cgroup knows: "out of memory (limit 10M)" after the
 * OOM killer ended a process of it. Read this before the cgroup is removed.
 */
export function deathReason(stats: Stats, signal: number | null): string | undefined {
  if ((stats.oomKills ?? 0) > 0) {
    const limit = stats.memoryLimitBytes !== undefined ? ` (limit ${formatSize(stats.memoryLimitBytes)})` : '';
    return `out of memory${limit}`;
  }
  return signal === 9 ? 'killed by SIGKILL' : undefined;
}
