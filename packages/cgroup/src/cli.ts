// diyc-cgroup create NAME [--memory SIZE] [--swap SIZE] [--pids N] [--cpus N]
//             add NAME PID | stats NAME | ls | rm NAME [--force]
import { defineCli, formatBytes, one } from '@diyc/cli';
import { checkName, formatRecord, readRecordInput } from '@diyc/record';
import { CgroupError } from './files.js';
import type { Limits } from './manager.js';
import { createCgroupManager } from './select.js';
import { parseSize } from './size.js';
import { cgroupStage } from './stage.js';

function positiveNumber(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${what} must be a positive number (got '${text}')`);
  return n;
}

/** The limits the flags give; sizes like 10M, 512K, 1G. */
export function limitsFromFlags(flags: Record<string, unknown>): Limits {
  const limits: Limits = {};
  const str = (v: unknown): string | undefined => one(v as string | string[] | undefined);
  const memory = str(flags.memory);
  const swap = str(flags.swap);
  const pids = str(flags.pids);
  const cpus = str(flags.cpus);
  if (memory !== undefined) limits.memory = parseSize(memory);
  if (swap !== undefined) limits.swap = parseSize(swap);
  if (pids !== undefined) {
    const n = positiveNumber(pids, '--pids');
    if (!Number.isInteger(n)) throw new RangeError(`--pids must be a whole number (got '${pids}')`);
    limits.pids = n;
  }
  if (cpus !== undefined) limits.cpus = positiveNumber(cpus, '--cpus');
  return limits;
}

const name = { type: 'positional', description: 'the cgroup (a container name)' } as const;

const create = defineCli({
  meta: { name: 'create', description: 'Create a cgroup under diyc/ with limits; prints the record (swap is off unless --swap)' },
  args: {
    name,
    memory: { type: 'string', valueHint: 'SIZE', description: 'memory limit: 10M, 512K, 1G or bytes' },
    swap: { type: 'string', valueHint: 'SIZE', description: 'swap allowed on top of memory (default 0)' },
    pids: { type: 'string', valueHint: 'N', description: 'most processes at once' },
    cpus: { type: 'string', valueHint: 'N', description: 'CPU time as a number of CPUs: 0.5 is half of one' },
  },
  async main({ flags, operands }) {
    const cgroupName = checkName(operands[0] as string, 'cgroup name');
    const limits = limitsFromFlags(flags);
    const record = await readRecordInput();
    const { record: next, applied } = cgroupStage(record, cgroupName, limits, createCgroupManager());
    for (const skipped of applied.skipped) process.stderr.write(`diyc-cgroup: not applied: ${skipped}\n`);
    if (process.stdout.isTTY) process.stdout.write(`created ${next.linux.cgroupsPath}${applied.applied.length ? `: ${applied.applied.join(', ')}` : ''}\n`);
    else process.stdout.write(formatRecord(next));
  },
});

const add = defineCli({
  meta: { name: 'add', description: 'Move a process into a cgroup' },
  args: { name, pid: { type: 'positional', description: 'the process id' } },
  main({ operands }) {
    const pid = Number(operands[1]);
    if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`'${operands[1]}' is not a process id`);
    const manager = createCgroupManager();
    const cgroupName = checkName(operands[0] as string, 'cgroup name');
    if (!manager.exists(cgroupName)) throw new CgroupError(`cgroup ${manager.path(cgroupName)} does not exist: create it first (diyc-cgroup create ${cgroupName})`);
    manager.add(cgroupName, pid);
  },
});

const stats = defineCli({
  meta: { name: 'stats', description: 'Memory now and at peak, OOM kills, processes, CPU time' },
  args: { name, json: { type: 'boolean', description: 'print JSON' } },
  main({ flags, operands }) {
    const manager = createCgroupManager();
    const cgroupName = checkName(operands[0] as string, 'cgroup name');
    if (!manager.exists(cgroupName)) throw new CgroupError(`cgroup ${manager.path(cgroupName)} does not exist`);
    const s = manager.stats(cgroupName);
    if (flags.json === true || !process.stdout.isTTY) {
      process.stdout.write(`${JSON.stringify(s)}\n`);
      return;
    }
    const b = (n: number | undefined): string => (n === undefined ? '-' : formatBytes(n));
    process.stdout.write([
      `memory     ${b(s.memoryBytes)} (peak ${b(s.memoryPeakBytes)}, limit ${s.memoryLimitBytes === undefined ? 'none' : b(s.memoryLimitBytes)})`,
      `oom kills  ${s.oomKills ?? '-'}`,
      `processes  ${s.pids ?? '-'}${s.pidsLimit !== undefined ? ` (limit ${s.pidsLimit})` : ''}`,
      `cpu time   ${s.cpuNanoseconds === undefined ? '-' : `${(s.cpuNanoseconds / 1e9).toFixed(2)} s`}`,
    ].join('\n') + '\n');
  },
});

const ls = defineCli({
  meta: { name: 'ls', description: 'List diyc\'s cgroups' },
  args: {},
  main() {
    const manager = createCgroupManager();
    for (const n of manager.list()) process.stdout.write(`${n}\t${manager.path(n)}\t${manager.pids(n).length} processes\n`);
  },
});

const rm = defineCli({
  meta: { name: 'rm', description: 'Remove a cgroup (one with processes only with --force, which kills them)' },
  args: { name, force: { type: 'boolean', alias: 'f', description: 'kill its processes first' } },
  main({ flags, operands }) {
    createCgroupManager().remove(checkName(operands[0] as string, 'cgroup name'), { force: flags.force === true });
  },
});

export const cgroupCommand = defineCli({
  meta: { name: 'diyc-cgroup', version: '0.1.0', description: 'Create, limit, join, read and remove the cgroups of containers (v1, v2 or hybrid)' },
  subCommands: { create, add, stats, ls, rm },
});
