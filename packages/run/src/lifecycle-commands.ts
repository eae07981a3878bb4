// diyc-ps, diyc-exec, diyc-logs, diyc-stop, diyc-rm: thin shells over @diyc/container
// (and logs.ts): a name in, the core's operation, its output formatted.
import { createTrace, defineCli, many, one, parseSignal, printTable, writeOut } from '@diyc/cli';
import {
  checkUser,
  checkWorkdir,
  envFlags,
  exec,
  execProcess,
  listContainers,
  parseTail,
  showLogs,
  recoverIfStaleLocked,
  remove,
  stop,
  type Container,
  type ContainerState,
  type ExecOverrides,
  type Runtime,
} from '@diyc/container';
import { isTerminal } from '@diyc/nsexec';
import { ANNOTATION, containersDir, DiycError, stateRoot } from '@diyc/record';
import { EXIT_RUNTIME } from './run-command.js';
import { containerAt, runtimeFor } from './runtime.js';

const name = { type: 'positional', description: 'the container' } as const;
const verbose = { type: 'boolean', alias: 'v', description: 'trace each step' } as const;

/** The container NAME (checked) and its runtime. */
function open(operand: string | undefined, verboseFlag: unknown, tool: string): { container: Container; rt: Runtime } {
  const root = stateRoot();
  const container = containerAt(operand as string, root);
  return { container, rt: runtimeFor(container.name, createTrace(verboseFlag === true), root, tool) };
}

/** The container's state once a stale one (its supervisor killed) is cleaned up; it must exist. */
function existing(container: Container, rt: Runtime): ContainerState {
  const state = container.locked(() => recoverIfStaleLocked(rt, container));
  if (!state) throw new DiycError('not-found', `no container named ${container.name}`);
  return state;
}

/** The signal that asks a container to stop: its image's StopSignal (nginx wants SIGQUIT), else SIGTERM. */
function stopSignal(container: Container, rt: Runtime): number {
  const asked = container.record()?.annotations[ANNOTATION.stopSignal];
  try {
    return parseSignal(asked);
  } catch {
    // An image's signal diyc cannot read: SIGTERM, the image should not keep it running.
    rt.trace(`stop: the image's StopSignal ${asked} is not a signal: SIGTERM`);
    return parseSignal(undefined);
  }
}

export const psCommand = defineCli({
  meta: {
    name: 'diyc-ps',
    description:
      'List containers: name, image, status, address, published ports, pid, command, exit code. Stale ones (their diyc-run was killed) are cleaned up first.',
  },
  args: {
    all: { type: 'boolean', alias: 'a', description: 'also list containers that are not running' },
    json: { type: 'boolean', description: 'print JSON' },
    verbose,
  },
  main({ flags }) {
    const root = stateRoot();
    const states = listContainers(containersDir(root)).flatMap((n) => {
      const container = containerAt(n, root);
      const rt = runtimeFor(n, createTrace(flags.verbose === true), root, 'diyc-ps');
      const state = container.locked(() => recoverIfStaleLocked(rt, container));
      // diyc-run speaks docker's words: a stopped container has exited.
      const status = container.status();
      return state ? [{ ...state, status: status === 'stopped' ? 'exited' : status }] : [];
    });
    const shown = flags.all === true ? states : states.filter((s) => s.status === 'running' || s.status === 'paused');
    if (flags.json === true) {
      writeOut(`${JSON.stringify(shown, null, 2)}\n`);
      return 0;
    }
    const rows = shown.map((s) => [
      s.name,
      s.image ?? '-',
      s.status + (s.reason ? ` (${s.reason})` : ''),
      s.ip ?? (s.net === 'host' ? 'host' : '-'),
      // As docker shows them: 8080->80/tcp.
      s.ports?.map((p) => p.replace(':', '->')).join(', ') || '-',
      s.status === 'running' ? String(s.pid ?? '-') : '-',
      s.command.join(' '),
      s.exitCode === undefined ? '-' : String(s.exitCode),
    ]);
    printTable(['NAME', 'IMAGE', 'STATUS', 'ADDRESS', 'PORTS', 'PID', 'COMMAND', 'EXIT'], rows);
    return 0;
  },
});

export const execCommand = defineCli({
  meta: {
    name: 'diyc-exec',
    description:
      "Run a command inside a running container: its namespaces, cgroup, environment and working directory, and its capabilities and seccomp filter. Exit status is the command's.",
  },
  stopAtOperand: true,
  failureCode: EXIT_RUNTIME,
  args: {
    env: {
      type: 'string',
      alias: 'e',
      valueHint: 'K=V',
      description: "set an environment variable; a bare K takes the host's value (repeatable)",
    },
    workdir: { type: 'string', alias: 'w', valueHint: 'DIR', description: "the working directory inside (default: the container's)" },
    user: {
      type: 'string',
      alias: 'u',
      valueHint: 'USER[:GROUP]',
      description: "run as this user of the container's /etc/passwd, with its groups and HOME (default: the container's)",
    },
    verbose,
    name,
    command: { type: 'positional', description: 'the command and its arguments' },
  },
  async main({ flags, operands }) {
    const [target, ...command] = operands;
    if (target === undefined || command.length === 0) throw new DiycError('usage', 'missing COMMAND');
    const overrides: ExecOverrides = { env: envFlags(many(flags.env)) };
    const cwd = checkWorkdir(one(flags.workdir));
    const user = checkUser(one(flags.user));
    if (cwd !== undefined) overrides.cwd = cwd;
    if (user !== undefined) overrides.user = user;
    const { container, rt } = open(target, flags.verbose, 'diyc-exec');
    const state = existing(container, rt);
    const record = container.record();
    if (!container.isRunning() || !record)
      throw new DiycError('state', `container ${container.name} is not running (${state.status}): start it with diyc-run`);
    return exec(rt, container, execProcess(record, command, overrides, isTerminal(0)));
  },
});

export const logsCommand = defineCli({
  meta: {
    name: 'diyc-logs',
    description: 'Print what a container run with -d wrote (stdout and stderr, each run appended); -f follows it until the container ends',
  },
  args: {
    follow: { type: 'boolean', alias: 'f', description: 'keep printing new output until the container ends' },
    tail: { type: 'string', alias: 'n', valueHint: 'N', description: 'only the last N lines (default all)' },
    name,
  },
  async main({ flags, operands }) {
    const tail = parseTail(one(flags.tail));
    const container = containerAt(operands[0] as string, stateRoot());
    try {
      await showLogs(container, { follow: flags.follow === true, ...(tail !== undefined ? { tail } : {}) });
    } catch (err) {
      // `diyc-logs NAME | head`: the reader has all it wants.
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') return 0;
      throw err;
    }
    return 0;
  },
});

export const stopCommand = defineCli({
  meta: {
    name: 'diyc-stop',
    description:
      "Stop a container: its image's StopSignal (else SIGTERM), then SIGKILL after the timeout. Its files stay; diyc-run NAME starts it again.",
  },
  args: {
    verbose,
    time: { type: 'string', alias: 't', valueHint: 'SECONDS', description: 'how long to wait after the signal (default 10)' },
    signal: {
      type: 'string',
      alias: 's',
      valueHint: 'SIGNAL',
      description: "the signal to send first (a name or a number; default the image's StopSignal, else TERM)",
    },
    name,
  },
  async main({ flags, operands }) {
    const seconds = Number(one(flags.time) ?? '10');
    if (!Number.isFinite(seconds) || seconds < 0) throw new DiycError('usage', `-t ${one(flags.time)}: give a number of seconds`);
    const signal = one(flags.signal) === undefined ? undefined : parseSignal(one(flags.signal));
    const { container, rt } = open(operands[0], flags.verbose, 'diyc-stop');
    existing(container, rt);
    const state = await stop(container, signal ?? stopSignal(container, rt), seconds);
    writeOut(`${container.name}${state?.exitCode !== undefined ? `: exited ${state.exitCode}` : ''}\n`);
    return 0;
  },
});

export const rmCommand = defineCli({
  meta: {
    name: 'diyc-rm',
    description:
      'Remove a container: unmount, delete its cgroup, detach its network, remove its files. A running one only with -f, which stops it first.',
  },
  args: { verbose, force: { type: 'boolean', alias: 'f', description: 'stop it first if it runs' }, name },
  async main({ flags, operands }) {
    const { container, rt } = open(operands[0], flags.verbose, 'diyc-rm');
    existing(container, rt);
    if (container.isRunning() && flags.force !== true)
      throw new DiycError('state', `container ${container.name} is running: stop it first (diyc-stop ${container.name}), or use -f`);
    await remove(rt, container, { force: true });
    return 0;
  },
});
