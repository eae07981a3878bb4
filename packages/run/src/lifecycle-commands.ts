// diyc-ps, diyc-exec, diyc-stop, diyc-rm: thin shells over lifecycle.ts.
import { CliError, createTrace, defineCli, one, printTable } from '@diyc/cli';
import { stateRoot } from '@diyc/record';
import { exitCodeOf } from '@diyc/syscalls';
import { execInContainer, recoverIfStale, removeContainer, stopContainer } from './lifecycle.js';
import { asCliError } from './run-command.js';
import { stageContext } from './stages.js';
import { listContainers, readState } from './state.js';

const name = { type: 'positional', description: 'the container' } as const;
const verbose = { type: 'boolean', alias: 'v', description: 'trace each step' } as const;

export const psCommand = defineCli({
  meta: { name: 'diyc-ps', version: '0.1.0', description: 'List containers: name, image, status, address, pid, command, exit code. Stale ones (their diyc-run was killed) are cleaned up first.' },
  args: { all: { type: 'boolean', alias: 'a', description: 'also list containers that are not running' }, json: { type: 'boolean', description: 'print JSON' }, verbose },
  main({ flags }) {
    try {
      const ctx = stageContext(createTrace(flags.verbose === true), stateRoot());
      const states = listContainers(ctx.root).map((n) => recoverIfStale(n, ctx) ?? readState(n, ctx.root)).filter((s) => s !== undefined);
      const shown = flags.all === true ? states : states.filter((s) => s.status === 'running');
      if (flags.json === true || !process.stdout.isTTY) {
        process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
        return 0;
      }
      const rows = shown.map((s) => [s.name, s.image, s.status + (s.reason ? ` (${s.reason})` : ''), s.ip ?? (s.net === 'host' ? 'host' : '-'), s.status === 'running' ? String(s.pid ?? '-') : '-', s.command.join(' '), s.exitCode === undefined ? '-' : String(s.exitCode)]);
      printTable(['NAME', 'IMAGE', 'STATUS', 'ADDRESS', 'PID', 'COMMAND', 'EXIT'], rows);
      return 0;
    } catch (err) {
      asCliError(err);
    }
  },
});

export const execCommand = defineCli({
  meta: { name: 'diyc-exec', version: '0.1.0', description: 'Run a command inside a running container: its namespaces, cgroup, environment and working directory. Exit status is the command\'s.' },
  stopAtOperand: true,
  args: { verbose, name, command: { type: 'positional', description: 'the command and its arguments' } },
  async main({ flags, operands }) {
    const [container, ...command] = operands;
    if (container === undefined || command.length === 0) throw new CliError('usage: diyc-exec NAME CMD [ARG...]', { exitCode: 2 });
    try {
      const ctx = stageContext(createTrace(flags.verbose === true), stateRoot());
      return exitCodeOf(await execInContainer(container, command, ctx, process.stdin.isTTY === true));
    } catch (err) {
      asCliError(err);
    }
  },
});

export const stopCommand = defineCli({
  meta: { name: 'diyc-stop', version: '0.1.0', description: 'Stop a container: SIGTERM, then SIGKILL after the timeout. Its files stay; diyc-run NAME starts it again.' },
  args: { verbose, time: { type: 'string', alias: 't', valueHint: 'SECONDS', description: 'how long to wait after SIGTERM (default 10)' }, name },
  async main({ flags, operands }) {
    try {
      const seconds = Number(one(flags.time) ?? '10');
      if (!Number.isFinite(seconds) || seconds < 0) throw new CliError(`-t ${one(flags.time)}: give a number of seconds`, { exitCode: 2 });
      const ctx = stageContext(createTrace(flags.verbose === true), stateRoot());
      const state = await stopContainer(operands[0] as string, ctx, seconds);
      process.stdout.write(`${operands[0]}${state?.exitCode !== undefined ? `: exited ${state.exitCode}` : ''}\n`);
      return 0;
    } catch (err) {
      asCliError(err);
    }
  },
});

export const rmCommand = defineCli({
  meta: { name: 'diyc-rm', version: '0.1.0', description: 'Remove a container: unmount, delete its cgroup, detach its network, remove its files. A running one only with -f, which stops it first.' },
  args: { verbose, force: { type: 'boolean', alias: 'f', description: 'stop it first if it runs' }, name },
  async main({ flags, operands }) {
    try {
      const ctx = stageContext(createTrace(flags.verbose === true), stateRoot());
      await removeContainer(operands[0] as string, ctx, flags.force === true);
      return 0;
    } catch (err) {
      asCliError(err);
    }
  },
});
