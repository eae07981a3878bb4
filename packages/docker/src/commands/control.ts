// diyc pause, unpause, restart, top, stats: a running container's cgroup frozen or thawed,
// a stop then a start, its processes as the host's ps shows them, its use of the machine.
import { defineCli, one, parseSignal, writeOut } from '@diyc/cli';
import { pause } from '@diyc/container';
import { DiycError } from '@diyc/record';
import { findContainer, readMeta } from '../containers.js';
import { startDetached, stopContainer } from '../lifecycle.js';
import { formatList, type Columns } from '../output.js';
import { hostMemory, sample, statsRow, type Sample, type StatsRow } from '../stats.js';
import { filterPs, psArgs, topTable } from '../top.js';
import { viewOf, type ContainerView } from '../view.js';
import { allViews, debug, eachContainer, need, requireRoot, traceOf } from './common.js';
import { timeFlag } from './run.js';
import { childProcess } from '../lazy-builtins.js';

const containers = { type: 'positional', description: 'the containers: names, IDs or ID prefixes' } as const;

const notRunning = (id: string): DiycError => new DiycError('state', `container ${id} is not running`);

export const pauseCommand = defineCli({
  meta: { name: 'pause', description: "Pause every process of running containers (the cgroup's freezer)" },
  manyOperands: true,
  args: { containers },
  main({ operands }) {
    const targets = need(operands, 'CONTAINER [CONTAINER...]', 'pause');
    requireRoot();
    return eachContainer(targets, (view, text) => {
      if (view.status === 'paused') throw new DiycError('state', `container ${view.id} is already paused`);
      if (view.status !== 'running') throw notRunning(view.id);
      pause(view.container, true);
      return text;
    });
  },
});

export const unpauseCommand = defineCli({
  meta: { name: 'unpause', description: 'Let the processes of paused containers run again' },
  manyOperands: true,
  args: { containers },
  main({ operands }) {
    const targets = need(operands, 'CONTAINER [CONTAINER...]', 'unpause');
    requireRoot();
    return eachContainer(targets, (view, text) => {
      if (view.status !== 'paused') throw new DiycError('state', `Container ${view.id} is not paused`);
      pause(view.container, false);
      return text;
    });
  },
});

export function restartCommand(script: string) {
  return defineCli({
    meta: { name: 'restart', description: 'Restart containers: stop them (as stop does) if they run, then start them in the background' },
    manyOperands: true,
    args: {
      time: { type: 'string', alias: 't', valueHint: 'SECONDS', description: 'seconds to wait before SIGKILL (default 10)' },
      signal: { type: 'string', alias: 's', valueHint: 'SIGNAL', description: 'the signal to stop it with' },
      debug,
      containers,
    },
    main({ flags, operands }) {
      const targets = need(operands, 'CONTAINER [CONTAINER...]', 'restart');
      requireRoot();
      const seconds = timeFlag(one(flags.time));
      const signalText = one(flags.signal);
      const trace = traceOf(flags);
      return eachContainer(targets, async (view, text) => {
        if (!readMeta(view.container))
          throw new DiycError('invalid', `container ${view.name} was made by diyc-run: run it again with diyc-run`);
        if (view.status === 'paused') pause(view.container, false);
        if (view.status === 'running' || view.status === 'paused' || view.status === 'restarting') {
          await stopContainer(view.container, seconds, signalText === undefined ? undefined : parseSignal(signalText));
        }
        await startDetached(view.container, script, trace);
        return text;
      });
    },
  });
}

export const topCommand = defineCli({
  meta: {
    name: 'top',
    description: "The processes of a running container, as the host's ps shows them (its options: default -ef)",
  },
  stopAtOperand: true,
  args: {
    container: { type: 'positional', description: 'the container: its name, ID or an ID prefix' },
    options: { type: 'positional', description: 'options for ps (default -ef)', required: false },
  },
  main({ operands }) {
    const [target, ...options] = operands;
    if (target === undefined) throw new DiycError('usage', '"diyc top" requires at least 1 argument: CONTAINER [ps OPTIONS]');
    const { container, state } = findContainer(target);
    const view = viewOf(container, state);
    if (view.status !== 'running' && view.status !== 'paused') throw notRunning(view.id);
    const pids = container.pids();
    const ps = childProcess().spawnSync('ps', psArgs(options), { encoding: 'utf8' });
    if (ps.error) throw new DiycError('missing', `ps: ${ps.error.message}: install procps`);
    if (ps.status !== 0) throw new DiycError('usage', `ps failed: ${ps.stderr.trim() || `exit status ${ps.status}`}`);
    const { titles, processes } = filterPs(ps.stdout, pids);
    writeOut(topTable(titles, processes));
    return 0;
  },
});

const STATS_COLUMNS: Columns<StatsRow> = {
  headers: {
    ID: 'CONTAINER ID',
    Container: 'CONTAINER',
    Name: 'NAME',
    CPUPerc: 'CPU %',
    MemUsage: 'MEM USAGE / LIMIT',
    MemPerc: 'MEM %',
    NetIO: 'NET I/O',
    BlockIO: 'BLOCK I/O',
    PIDs: 'PIDS',
  },
  fields: ['ID', 'Name', 'CPUPerc', 'MemUsage', 'MemPerc', 'NetIO', 'BlockIO', 'PIDs'],
  cell: (row, field) => String(row[field as keyof StatsRow] ?? ''),
};

const live = (v: ContainerView): boolean => v.status === 'running' || v.status === 'paused';

function sampleOf(view: ContainerView): Sample | undefined {
  if (!live(view)) return undefined;
  return sample(view.container.record()?.linux.cgroupsPath, view.state.pid);
}

/** The rows of one round: a sample of each container, a second after a first (docker's CPU %). */
async function statsRows(views: ContainerView[], noTrunc: boolean): Promise<StatsRow[]> {
  const before = views.map(sampleOf);
  if (views.some(live)) await new Promise((r) => setTimeout(r, 1000));
  const memory = hostMemory();
  return views.map((v, i) => {
    const row = statsRow(v.id, v.name, before[i], sampleOf(v), memory);
    return noTrunc ? { ...row, ID: v.id, Container: v.id } : row;
  });
}

export const statsCommand = defineCli({
  meta: {
    name: 'stats',
    description: "Containers' CPU, memory, network, block I/O and pids, from their cgroups (each second; once with --no-stream)",
  },
  args: {
    all: { type: 'boolean', alias: 'a', description: 'all containers, not only running ones' },
    'no-stream': { type: 'boolean', description: 'print once and exit' },
    'no-trunc': { type: 'boolean', description: 'whole IDs' },
    format: {
      type: 'string',
      valueHint: 'FORMAT',
      description: "table (the default), table TEMPLATE, json, or a Go template: '{{.Name}} {{.CPUPerc}}'",
    },
    containers: { type: 'positional', description: 'the containers (default: every running one)', required: false },
  },
  async main({ flags, operands }) {
    requireRoot();
    const named = operands.length > 0;
    const pick = (): ContainerView[] =>
      named
        ? operands.map((t) => {
            const { container, state } = findContainer(t);
            return viewOf(container, state);
          })
        : allViews()
            .filter((v) => flags.all === true || live(v))
            .sort((a, b) => (b.state.createdAt ?? '').localeCompare(a.state.createdAt ?? ''));
    const noTrunc = flags['no-trunc'] === true;
    const format = one(flags.format);
    if (flags['no-stream'] === true) {
      writeOut(formatList(await statsRows(pick(), noTrunc), format, STATS_COLUMNS, (r) => r));
      return 0;
    }
    // Streaming: the screen cleared and the table printed again each second, until ^C.
    for (;;) {
      const text = formatList(await statsRows(pick(), noTrunc), format, STATS_COLUMNS, (r) => r);
      writeOut(`\x1b[2J\x1b[H${text}`);
    }
  },
});
