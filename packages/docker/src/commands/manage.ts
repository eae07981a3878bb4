// diyc stop, kill, rm, wait, exec, logs, port: a container named by
// its name, ID or ID prefix, the core's operation, docker's output.
import { closeSync } from 'node:fs';
import { defineCli, many, one, parseSignal, writeOut } from '@diyc/cli';
import {
  checkUser,
  checkWorkdir,
  envFlags,
  exec,
  execProcess,
  kill,
  parseTail,
  renameContainer,
  showLogs,
  type ExecOverrides,
} from '@diyc/container';
import { expandPublish } from '@diyc/net';
import { ANNOTATION, DiycError } from '@diyc/record';
import { findContainer, runtimeFor, updateMeta } from '../containers.js';
import { containerNull, hostStdio } from '../host-stdio.js';
import { markStoppedByUser, removeContainer, stopContainer } from '../lifecycle.js';
import { viewOf } from '../view.js';
import { debug, eachContainer, need, requireRoot, traceOf } from './common.js';
import { EXIT_RUNTIME, timeFlag } from './run.js';

const containers = { type: 'positional', description: 'the containers: names, IDs or ID prefixes' } as const;
const container = { type: 'positional', description: 'the container: its name, ID or an ID prefix' } as const;

export const stopCommand = defineCli({
  meta: {
    name: 'stop',
    description:
      "Stop running containers: the stop signal (--stop-signal, the image's STOPSIGNAL, else SIGTERM), then SIGKILL after the timeout.",
  },
  // Several operands, flags among them (docker rm web -f).
  manyOperands: true,
  args: {
    time: {
      type: 'string',
      alias: 't',
      valueHint: 'SECONDS',
      description: "seconds to wait before SIGKILL (default the container's --stop-timeout, else 10)",
    },
    signal: { type: 'string', alias: 's', valueHint: 'SIGNAL', description: 'the signal to send first' },
    containers,
  },
  async main({ flags, operands }) {
    const targets = need(operands, 'CONTAINER [CONTAINER...]', 'stop');
    requireRoot();
    const seconds = timeFlag(one(flags.time));
    const signal = one(flags.signal) === undefined ? undefined : parseSignal(one(flags.signal));
    return eachContainer(targets, async (view, text) => {
      await stopContainer(view.container, seconds, signal);
      return text;
    });
  },
});

export const killCommand = defineCli({
  meta: { name: 'kill', description: 'Send a signal to running containers (default SIGKILL).' },
  // Several operands, flags among them (docker rm web -f).
  manyOperands: true,
  args: {
    signal: {
      type: 'string',
      alias: 's',
      valueHint: 'SIGNAL',
      description: 'the signal: a name (KILL, SIGHUP) or a number (default KILL)',
    },
    containers,
  },
  async main({ flags, operands }) {
    const targets = need(operands, 'CONTAINER [CONTAINER...]', 'kill');
    requireRoot();
    const signal = parseSignal(one(flags.signal), 9);
    return eachContainer(targets, async (view, text) => {
      if (view.status !== 'running' && view.status !== 'paused')
        throw new DiycError('state', `cannot kill container: ${text}: container ${view.id.slice(0, 12)} is not running`);
      await markStoppedByUser(view.container);
      kill(view.container, signal, { all: signal === 9 });
      return text;
    });
  },
});

export const rmCommand = defineCli({
  meta: {
    name: 'rm',
    description: 'Remove containers: their files, cgroup, network and mounts. A running one only with -f, which kills it first.',
  },
  // Several operands, flags among them (docker rm web -f).
  manyOperands: true,
  args: {
    force: { type: 'boolean', alias: 'f', description: 'kill it first if it runs' },
    volumes: { type: 'boolean', alias: 'v', description: 'remove its anonymous volumes too (named ones stay)' },
    debug,
    containers,
  },
  async main({ flags, operands }) {
    const targets = need(operands, 'CONTAINER [CONTAINER...]', 'rm');
    requireRoot();
    const trace = traceOf(flags);
    return eachContainer(targets, async (view, text) => {
      await removeContainer(view.container, { force: flags.force === true, volumes: flags.volumes === true, trace });
      return text;
    });
  },
});

export const waitCommand = defineCli({
  meta: { name: 'wait', description: 'Wait until containers stop, then print their exit codes' },
  // Several operands, flags among them (docker rm web -f).
  manyOperands: true,
  args: {
    condition: {
      type: 'enum',
      options: ['not-running', 'next-exit', 'removed'],
      description: 'wait until it is not running (the default), has ended once more, or is removed',
    },
    containers,
  },
  async main({ flags, operands }) {
    const targets = need(operands, 'CONTAINER [CONTAINER...]', 'wait');
    const condition = one(flags.condition) ?? 'not-running';
    return eachContainer(targets, async (view) => {
      const started = view.state.startedAt;
      for (;;) {
        const now = viewOf(view.container.refresh(), view.container.state() ?? view.state);
        const gone = !view.container.exists();
        if (condition === 'removed' && gone) return String(view.state.exitCode ?? 0);
        if (condition !== 'removed') {
          if (gone) return String(view.state.exitCode ?? 0);
          // Ended once its supervisor has recorded the exit (state.json says stopped): the
          // process alone gone is too early, its exit code not written yet.
          const ended = (now.status === 'exited' || now.status === 'created') && now.state.status === 'stopped';
          if (ended && (condition === 'not-running' || now.state.startedAt !== started || now.state.finishedAt !== view.state.finishedAt))
            return String(now.state.exitCode ?? 0);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    });
  },
});

export const execCommand = defineCli({
  meta: {
    name: 'exec',
    description:
      "Run a command in a running container: its namespaces, cgroup, environment, capabilities and seccomp filter. Exit status is the command's.",
  },
  stopAtOperand: true,
  failureCode: EXIT_RUNTIME,
  args: {
    interactive: { type: 'boolean', alias: 'i', description: 'keep stdin open' },
    tty: { type: 'boolean', alias: 't', description: 'give it a terminal of its own, proxied to yours' },
    detach: { type: 'boolean', alias: 'd', description: 'leave it running in the background' },
    env: { type: 'string', alias: 'e', valueHint: 'KEY=VALUE', description: 'set an environment variable (repeatable)' },
    workdir: { type: 'string', alias: 'w', valueHint: 'DIR', description: 'the working directory inside' },
    user: { type: 'string', alias: 'u', valueHint: 'USER[:GROUP]', description: 'run as this user of the container' },
    privileged: { type: 'boolean', description: "refused: an exec has the container's own privileges" },
    debug,
    container,
    command: { type: 'positional', description: 'the command and its arguments' },
  },
  async main({ flags, operands }) {
    const [target, ...command] = operands;
    if (target === undefined || command.length === 0)
      throw new DiycError('usage', '"diyc exec" requires at least 2 arguments: CONTAINER COMMAND [ARG...]');
    if (flags.privileged === true)
      throw new DiycError(
        'usage',
        "--privileged: diyc runs an exec with the container's own privileges; run the container with --privileged",
      );
    requireRoot();
    const overrides: ExecOverrides = { env: envFlags(many(flags.env)) };
    const cwd = checkWorkdir(one(flags.workdir));
    const user = checkUser(one(flags.user));
    if (cwd !== undefined) overrides.cwd = cwd;
    if (user !== undefined) overrides.user = user;
    const tty = flags.tty === true;
    if (tty && flags.interactive === true && process.stdin.isTTY !== true)
      throw new DiycError('usage', 'the input device is not a TTY', { exitCode: 1 });
    const { container: found } = findContainer(target);
    const record = found.record();
    if (!found.isRunning() || !record) throw new DiycError('state', `container ${found.name} is not running`);
    if (found.status() === 'paused') throw new DiycError('state', `container ${found.name} is paused, unpause the container before exec`);
    const rt = runtimeFor(found.name, traceOf(flags));
    const proc = execProcess(record, command, overrides, tty && flags.detach !== true);
    // Never our descriptors as they are: a host file the container could reopen (host-stdio.ts).
    if (flags.detach === true) {
      const discard = containerNull(found);
      try {
        return await exec(rt, found, proc, { detach: true, stdio: [discard, discard, discard] });
      } finally {
        closeSync(discard);
      }
    }
    if (tty) return exec(rt, found, proc, {});
    const io = hostStdio({ interactive: flags.interactive === true, outputs: true, deferInput: true });
    try {
      return await exec(rt, found, proc, { stdio: io.stdio, onSpawn: () => io.spawned() });
    } finally {
      await io.close();
    }
  },
});

export const logsCommand = defineCli({
  meta: {
    name: 'logs',
    description: 'Print what a container wrote (stdout and stderr of its runs in the background); -f follows it until it ends',
  },
  args: {
    follow: { type: 'boolean', alias: 'f', description: 'keep printing what it writes until it stops' },
    tail: { type: 'string', alias: 'n', valueHint: 'N', description: 'only the last N lines (default all)' },
    timestamps: { type: 'boolean', alias: 't', description: "refused: diyc's log keeps no times" },
    since: { type: 'string', valueHint: 'TIME', description: "refused: diyc's log keeps no times" },
    container,
  },
  async main({ flags, operands }) {
    if (flags.timestamps === true || one(flags.since) !== undefined)
      throw new DiycError(
        'usage',
        `${flags.timestamps === true ? '--timestamps' : '--since'}: diyc's log holds the bytes written, with no times`,
      );
    const tail = parseTail(one(flags.tail));
    const { container: found } = findContainer(operands[0] as string);
    try {
      await showLogs(found, { follow: flags.follow === true, ...(tail !== undefined ? { tail } : {}) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') return 0;
      throw err;
    }
    return 0;
  },
});

export const portCommand = defineCli({
  meta: { name: 'port', description: 'The published ports of a container, or where one of its ports is published' },
  args: { container, port: { type: 'positional', description: 'PORT[/PROTOCOL] in the container', required: false } },
  main({ operands }) {
    const [target, asked] = operands;
    const { container: found, state } = findContainer(target as string);
    const view = viewOf(found, state);
    const ports = view.ports.flatMap(expandPublish);
    if (asked !== undefined) {
      const [port, protocol = 'tcp'] = asked.split('/');
      const matches = ports.filter((p) => String(p.containerPort) === port && p.protocol === protocol);
      if (matches.length === 0) throw new DiycError('not-found', `No public port '${port}/${protocol}' published for ${found.name}`);
      for (const p of matches) writeOut(`${p.hostIp ?? '0.0.0.0'}:${p.hostPort}\n`);
      return 0;
    }
    for (const p of ports) writeOut(`${p.containerPort}/${p.protocol} -> ${p.hostIp ?? '0.0.0.0'}:${p.hostPort}\n`);
    return 0;
  },
});

export const renameCommand = defineCli({
  meta: {
    name: 'rename',
    description: "Rename a stopped container (its directory is named for it; a running one's cgroup and network are too: stop it first)",
  },
  args: {
    container: { type: 'positional', description: 'the container: a name, an ID or a prefix of one' },
    name: { type: 'positional', description: 'its new name' },
  },
  main({ operands }) {
    const [target, name] = operands as [string, string];
    requireRoot();
    const { container: found } = findContainer(target);
    const renamed = renameContainer(found, name.replace(/^\//, ''));
    updateMeta(renamed, (m) => {
      m.record.annotations[ANNOTATION.name] = renamed.name;
    });
    return 0;
  },
});
