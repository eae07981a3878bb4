// diyc-cgroup create NAME [--memory SIZE] [--swap SIZE] [--pids N] [--cpus N]
//             add NAME PID | stats NAME | ls | rm NAME [--force]
import { createTrace, defineCli, formatBytes, one, printTable } from '@diyc/cli';
import { checkName, DiycError, formatRecord, readRecordInput, stateRoot } from '@diyc/record';
import { resourcesFromFlags } from './resources.js';
import { createCgroupManager } from './select.js';
import { cgroupStage } from './stage.js';

const name = { type: 'positional', description: 'the cgroup (a container name)' } as const;
const json = { type: 'boolean', description: 'print JSON' } as const;

/** NAME's cgroup, which must exist. */
function existing(operand: string | undefined): { manager: ReturnType<typeof createCgroupManager>; path: string } {
  const manager = createCgroupManager();
  const path = manager.pathOf(checkName(operand as string, 'cgroup name'));
  if (!manager.exists(path))
    throw new DiycError('not-found', `cgroup ${path} does not exist: create it first (diyc-cgroup create ${operand})`);
  return { manager, path };
}

const create = defineCli({
  meta: {
    name: 'create',
    description: 'Create a cgroup under diyc/ with limits; prints the record when piped (swap is off unless --swap)',
  },
  args: {
    name,
    memory: { type: 'string', valueHint: 'SIZE', description: 'memory limit: 10M, 512K, 1G or bytes' },
    swap: { type: 'string', valueHint: 'SIZE', description: 'swap allowed on top of memory (default 0)' },
    pids: { type: 'string', valueHint: 'N', description: 'most processes at once' },
    cpus: { type: 'string', valueHint: 'N', description: 'CPU time as a number of CPUs: 0.5 is half of one' },
    verbose: { type: 'boolean', alias: 'v', description: 'trace each step' },
  },
  async main({ flags, operands }) {
    const cgroupName = checkName(operands[0] as string, 'cgroup name');
    const given = resourcesFromFlags({ memory: one(flags.memory), swap: one(flags.swap), pids: one(flags.pids), cpus: one(flags.cpus) });
    const record = await readRecordInput();
    // The flags' limits over those the record on stdin asks for (the device rules of diyc-run).
    record.linux.resources = { ...record.linux.resources, ...given };
    const next = cgroupStage.apply(record, {
      name: cgroupName,
      root: stateRoot(),
      trace: createTrace(flags.verbose === true),
      warn: (m) => process.stderr.write(`diyc-cgroup: ${m}\n`),
    });
    if (process.stdout.isTTY) process.stdout.write(`created ${next.linux.cgroupsPath}\n`);
    else process.stdout.write(formatRecord(next));
  },
});

const add = defineCli({
  meta: { name: 'add', description: 'Move a process into a cgroup' },
  args: { name, pid: { type: 'positional', description: 'the process id' } },
  main({ operands }) {
    const pid = Number(operands[1]);
    if (!Number.isInteger(pid) || pid <= 0) throw new DiycError('usage', `'${operands[1]}' is not a process id`);
    const { manager, path } = existing(operands[0]);
    manager.add(path, pid);
  },
});

const stats = defineCli({
  meta: { name: 'stats', description: 'Memory now and at peak, OOM kills, processes, CPU time' },
  args: { name, json },
  main({ flags, operands }) {
    const { manager, path } = existing(operands[0]);
    const s = manager.stats(path);
    if (flags.json === true) {
      process.stdout.write(`${JSON.stringify(s)}\n`);
      return;
    }
    const b = (n: number | undefined): string => (n === undefined ? '-' : formatBytes(n));
    process.stdout.write(
      `${[
        `memory     ${b(s.memoryBytes)} (peak ${b(s.memoryPeakBytes)}, limit ${s.memoryLimitBytes === undefined ? 'none' : b(s.memoryLimitBytes)})`,
        `oom kills  ${s.oomKills ?? '-'}`,
        `processes  ${s.pids ?? '-'}${s.pidsLimit !== undefined ? ` (limit ${s.pidsLimit})` : ''}`,
        `cpu time   ${s.cpuNanoseconds === undefined ? '-' : `${(s.cpuNanoseconds / 1e9).toFixed(2)} s`}`,
      ].join('\n')}\n`,
    );
  },
});

const ls = defineCli({
  meta: { name: 'ls', description: "List diyc's cgroups: name, path, processes" },
  args: { json },
  main({ flags }) {
    const manager = createCgroupManager();
    const rows = manager.list().map((n) => ({ name: n, path: manager.pathOf(n), processes: manager.pids(manager.pathOf(n)).length }));
    if (flags.json === true) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else
      printTable(
        ['NAME', 'PATH', 'PROCESSES'],
        rows.map((r) => [r.name, r.path, String(r.processes)]),
      );
  },
});

const rm = defineCli({
  meta: { name: 'rm', description: 'Remove a cgroup (one with processes only with --force, which kills them)' },
  args: { name, force: { type: 'boolean', alias: 'f', description: 'kill its processes first' } },
  main({ flags, operands }) {
    const manager = createCgroupManager();
    manager.remove(manager.pathOf(checkName(operands[0] as string, 'cgroup name')), { force: flags.force === true });
  },
});

export const cgroupCommand = defineCli({
  meta: { name: 'diyc-cgroup', description: 'Create, limit, join, read and remove the cgroups of containers (v1, v2 or hybrid)' },
  subCommands: { create, add, stats, ls, rm },
});
