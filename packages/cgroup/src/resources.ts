// The limits a person writes (--memory 10M --pids 20 --cpus 0.5), as the OCI resources
// every stage and manager reads, and back.
import { DiycError, type Resources } from '@diyc/record';
import { parseSize } from './size.js';

/** The flags diyc-cgroup and diyc-run take for limits. */
export interface LimitFlags {
  memory?: string | undefined;
  swap?: string | undefined;
  pids?: string | undefined;
  cpus?: string | undefined;
}

export const CFS_PERIOD = 100_000;

function positiveNumber(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new DiycError('usage', `${what} must be a positive number (got '${text}')`);
  return n;
}

/**
 * The resources the flags ask for. Memory without --swap allows no swap (diyC's
 * default): OCI's memory.swap counts memory and swap together, so it equals the limit.
 */
export function resourcesFromFlags(flags: LimitFlags, memoryUnit: 'b' | 'm' = 'b'): Resources {
  const resources: Resources = {};
  const size = (text: string, unit: 'b' | 'm'): number => {
    try {
      return parseSize(text, unit);
    } catch (err) {
      throw new DiycError('usage', (err as Error).message);
    }
  };
  if (flags.memory !== undefined) {
    const limit = size(flags.memory, memoryUnit);
    resources.memory = { limit, swap: limit + (flags.swap !== undefined ? size(flags.swap, 'b') : 0) };
  } else if (flags.swap !== undefined) {
    throw new DiycError('usage', '--swap needs --memory: swap is allowed on top of a memory limit');
  }
  if (flags.pids !== undefined) {
    const n = positiveNumber(flags.pids, '--pids');
    if (!Number.isInteger(n)) throw new DiycError('usage', `--pids must be a whole number (got '${flags.pids}')`);
    resources.pids = { limit: n };
  }
  if (flags.cpus !== undefined) {
    resources.cpu = { quota: Math.max(1000, Math.round(positiveNumber(flags.cpus, '--cpus') * CFS_PERIOD)), period: CFS_PERIOD };
  }
  return resources;
}

/** The flags that ask for `resources` (the inverse, for the pipeline diyc-run prints). */
export function flagsOfResources(resources: Resources = {}): string[] {
  const flags: string[] = [];
  const { memory, pids, cpu } = resources;
  if (memory?.limit !== undefined && memory.limit >= 0) {
    flags.push('--memory', String(memory.limit));
    const swap = (memory.swap ?? memory.limit) - memory.limit;
    if (swap > 0) flags.push('--swap', String(swap));
  }
  if (pids?.limit !== undefined && pids.limit > 0) flags.push('--pids', String(pids.limit));
  if (cpu?.quota !== undefined && cpu.quota > 0) flags.push('--cpus', String(+(cpu.quota / (cpu.period ?? CFS_PERIOD)).toFixed(3)));
  return flags;
}
