// `update ID`: new cgroup limits on a container, with runc's flags and meanings (runc 1.1
// update.go, libcontainer/cgroups/fs):
//
// - a flag not given, or 0, leaves a limit as it is; -1 removes one (memory, swap, cpu quota,
//   pids); `-r FILE|-` gives the spec's linux.resources as JSON instead, and the other flags
//   are then ignored;
// - a CPU quota or period given alone keeps the other's value from before (the config's, or
//   the last update's): the two are one limit;
// - memory: --memory -1 alone lifts the swap limit too; a new memory limit keeps the swap
//   limit there was (which the kernel then checks against it);
// - cgroup v1 CPU: shares, then the period, then the quota; a period the kernel refuses
//   (EINVAL: the old quota over the new period would exceed the parent's) is written again
//   after the quota, when a quota is being set too;
// - the devices cgroup is never touched, nor the freezer: a paused container stays paused.
import { readFileSync } from 'node:fs';
import { managerForPath } from '@diyc/cgroup';
import type { Container } from '@diyc/container';
import { DiycError, type Resources } from '@diyc/record';
import type { ParsedFlags } from '@diyc/cli';
import type { OciContext } from './cli.js';
import { existingContainer } from './containers.js';
import { one } from './shell.js';

const UNITS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** docker/go-units RAMInBytes: 67108864, 50M, 1.5g, 512KiB (binary units, any case). */
export function ramInBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text);
  if (!m) throw new DiycError('usage', `invalid size: '${text}'`);
  return Math.trunc(Number.parseFloat(m[1] as string) * (m[2] ? (UNITS[m[2].toLowerCase()] as number) : 1));
}

/** The numbers runc reads with strconv: ParseUint for `unsigned`, ParseInt otherwise. */
function number(flag: string, text: string, unsigned: boolean): number {
  if (!(unsigned ? /^\d+$/ : /^[-+]?\d+$/).test(text)) {
    throw new DiycError('usage', `invalid value for ${flag}: strconv.Parse${unsigned ? 'Uint' : 'Int'}: parsing "${text}": invalid syntax`);
  }
  return Number(text);
}

/** The resources runc's flags ask for; 0 (or absent) for "unchanged". */
export interface Asked {
  memory: { limit: number; reservation: number; swap: number; kernel: number; kernelTCP: number };
  cpu: { shares: number; quota: number; period: number; realtimeRuntime: number; realtimePeriod: number; cpus: string; mems: string };
  blockIO: { weight: number };
  pids: { limit: number };
  unified?: Record<string, string>;
}

/** What the flags (or -r's JSON, which replaces them) ask, as runc reads them. */
export function askedResources(
  flags: ParsedFlags,
  readInput: (source: string) => string = (s) => readFileSync(s === '-' ? 0 : s, 'utf8'),
): Asked {
  const asked: Asked = {
    memory: { limit: 0, reservation: 0, swap: 0, kernel: 0, kernelTCP: 0 },
    cpu: { shares: 0, quota: 0, period: 0, realtimeRuntime: 0, realtimePeriod: 0, cpus: '', mems: '' },
    blockIO: { weight: 0 },
    pids: { limit: 0 },
  };
  const source = one(flags.resources);
  if (source !== undefined && source !== '') {
    let json: Partial<Record<keyof Asked, Record<string, unknown>>>;
    try {
      json = JSON.parse(readInput(source)) as typeof json;
    } catch (err) {
      throw new DiycError(
        'invalid',
        source === '-'
          ? `reading the resources from stdin: ${(err as Error).message}`
          : `${(err as NodeJS.ErrnoException).code === 'ENOENT' ? `open ${source}: no such file or directory` : (err as Error).message}`,
      );
    }
    for (const part of ['memory', 'cpu', 'blockIO', 'pids'] as const) Object.assign(asked[part], json[part] ?? {});
    if (json.unified) asked.unified = json.unified as Record<string, string>;
    return asked;
  }
  const value = (flag: string): string | undefined => {
    const v = one(flags[flag]);
    return v === undefined || v === '' ? undefined : v;
  };
  const weight = value('blkio-weight');
  if (weight !== undefined) asked.blockIO.weight = number('blkio-weight', weight, false);
  asked.cpu.cpus = value('cpuset-cpus') ?? '';
  asked.cpu.mems = value('cpuset-mems') ?? '';
  for (const [flag, key] of [
    ['cpu-period', 'period'],
    ['cpu-rt-period', 'realtimePeriod'],
    ['cpu-share', 'shares'],
  ] as const) {
    const v = value(flag);
    if (v !== undefined) asked.cpu[key] = number(flag, v, true);
  }
  for (const [flag, key] of [
    ['cpu-quota', 'quota'],
    ['cpu-rt-runtime', 'realtimeRuntime'],
  ] as const) {
    const v = value(flag);
    if (v !== undefined) asked.cpu[key] = number(flag, v, false);
  }
  for (const [flag, key] of [
    ['memory', 'limit'],
    ['memory-swap', 'swap'],
    ['kernel-memory', 'kernel'],
    ['kernel-memory-tcp', 'kernelTCP'],
    ['memory-reservation', 'reservation'],
  ] as const) {
    const v = value(flag);
    if (v === undefined) continue;
    try {
      asked.memory[key] = v === '-1' ? -1 : ramInBytes(v);
    } catch (err) {
      throw new DiycError('usage', `invalid value for ${flag}: ${(err as Error).message}`);
    }
  }
  const pids = value('pids-limit');
  if (pids !== undefined) {
    if (!/^[-+]?\d+$/.test(pids)) throw new DiycError('usage', `invalid value "${pids}" for flag -pids-limit: parse error`);
    asked.pids.limit = Number(pids);
  }
  return asked;
}

/** One write of the update: the resources for one apply(), in runc's order. */
export type Step = Resources & { retryPeriodAfterQuota?: boolean };

/**
 * The writes an update makes, in order, from what was asked and what the container has
 * now (`current`, its config's resources as last updated). Each step holds only what it
 * changes; `v1` is cgroup v1's order (v2 writes quota and period as one file).
 */
export function updateSteps(asked: Asked, current: Resources | undefined, v1: boolean): Step[] {
  const steps: Step[] = [];
  const m = asked.memory;
  if (m.limit !== 0 || m.swap !== 0 || m.reservation !== 0) {
    const memory: NonNullable<Resources['memory']> = {};
    if (m.limit !== 0) memory.limit = m.limit;
    if (m.reservation !== 0) memory.reservation = m.reservation;
    if (m.swap !== 0) memory.swap = m.swap;
    // --memory -1 alone: no swap limit either (runc's setMemoryAndSwap).
    else if (m.limit === -1) memory.swap = -1;
    // A new memory limit keeps the swap limit there was; a swap limit alone is set against the current memory limit.
    else if (m.limit !== 0 && current?.memory?.swap !== undefined) memory.swap = current.memory.swap;
    if (m.limit === 0 && memory.swap !== undefined && memory.swap !== -1 && current?.memory?.limit !== undefined)
      memory.limit = current.memory.limit;
    steps.push({ memory });
  }
  const c = asked.cpu;
  // Quota and period are one limit: one given alone keeps the other's value from before.
  const period = c.period !== 0 ? c.period : c.quota !== 0 ? (current?.cpu?.period ?? 0) : 0;
  const quota = c.quota !== 0 ? c.quota : c.period !== 0 ? (current?.cpu?.quota ?? 0) : 0;
  if (c.shares !== 0) steps.push({ cpu: { shares: c.shares } });
  if (v1) {
    if (period !== 0) steps.push({ cpu: { period }, retryPeriodAfterQuota: quota !== 0 });
    if (quota !== 0) steps.push({ cpu: { quota } });
  } else if (period !== 0 || quota !== 0) {
    steps.push({ cpu: { ...(quota !== 0 ? { quota } : {}), ...(period !== 0 ? { period } : {}) } });
  }
  if (c.realtimePeriod !== 0) steps.push({ cpu: { realtimePeriod: c.realtimePeriod } });
  if (c.realtimeRuntime !== 0) steps.push({ cpu: { realtimeRuntime: c.realtimeRuntime } });
  if (c.cpus !== '' || c.mems !== '')
    steps.push({ cpu: { ...(c.cpus !== '' ? { cpus: c.cpus } : {}), ...(c.mems !== '' ? { mems: c.mems } : {}) } });
  if (asked.pids.limit !== 0) steps.push({ pids: { limit: asked.pids.limit < 0 ? -1 : asked.pids.limit } });
  if (asked.blockIO.weight !== 0) steps.push({ blockIO: { weight: asked.blockIO.weight } });
  if (asked.unified && Object.keys(asked.unified).length > 0) steps.push({ unified: asked.unified });
  return steps;
}

/** `current` with the steps' values in: the record's resources after the update. */
function merged(current: Resources | undefined, steps: readonly Step[]): Resources {
  const out: Resources = JSON.parse(JSON.stringify(current ?? {})) as Resources;
  for (const { retryPeriodAfterQuota: _, ...step } of steps) {
    for (const [key, value] of Object.entries(step)) {
      const k = key as keyof Resources;
      (out as Record<string, unknown>)[k] = { ...((out[k] as object | undefined) ?? {}), ...(value as object) };
    }
  }
  return out;
}

const isEinval = (err: unknown): boolean => (err as { cause?: { code?: string } } | undefined)?.cause?.code === 'EINVAL';

/** Writes the steps to the container's cgroup; throws the first failure. */
export function applyUpdate(container: Container, asked: Asked): void {
  const record = container.record();
  const path = record?.linux.cgroupsPath;
  if (!record || !path) throw new DiycError('state', `container ${container.name} has no cgroup`);
  const cgroups = managerForPath(path);
  if (asked.unified && Object.keys(asked.unified).length > 0 && cgroups.version === 1)
    throw new DiycError('invalid', 'invalid configuration: cannot use unified on cgroup v1');
  const steps = updateSteps(asked, record.linux.resources, cgroups.version === 1);
  let retryPeriod: number | undefined;
  for (const { retryPeriodAfterQuota, ...step } of steps) {
    try {
      const { skipped } = cgroups.apply(path, step);
      if (skipped.length > 0) throw new DiycError('unsupported', `cannot apply: ${skipped.join('; ')}`);
    } catch (err) {
      // The old quota over the new period exceeds the parent's: once the new quota is in, it fits.
      if (retryPeriodAfterQuota && isEinval(err)) {
        retryPeriod = step.cpu?.period;
        continue;
      }
      throw err;
    }
    if (retryPeriod !== undefined && step.cpu?.quota !== undefined) {
      cgroups.apply(path, { cpu: { period: retryPeriod } });
      retryPeriod = undefined;
    }
  }
  record.linux.resources = merged(record.linux.resources, steps);
  container.saveRecord(record);
}

export function updateCommand(ctx: OciContext, id: string, flags: ParsedFlags): void {
  const container = existingContainer(ctx.root, id);
  if (container.status() === 'stopped') throw new DiycError('state', 'container not running');
  for (const [flag, what] of [
    ['l3-cache-schema', 'Intel RDT/CAT: l3 cache schema is not enabled'],
    ['mem-bw-schema', 'Intel RDT/MBA: memory bandwidth schema is not enabled'],
  ] as const) {
    if ((one(flags[flag]) ?? '') !== '') throw new DiycError('unsupported', what);
  }
  const asked = askedResources(flags);
  if (asked.memory.kernel !== 0 || asked.memory.kernelTCP !== 0) ctx.warn('Kernel memory settings are ignored and will be removed');
  container.locked(() => applyUpdate(container.refresh(), asked));
}
