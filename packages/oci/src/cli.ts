// diyc-oci [GLOBAL FLAGS] COMMAND [FLAGS] ID ...: runc's command line, as containerd's
// shim, podman and runtime-tools call it. The global flags come before the command.
import { commandVersion, createTrace, defineCli, guardStdio, many, one, parseSignal, printTable, runCli, type ParsedFlags } from '@diyc/cli';
import * as core from '@diyc/container';
import { ociState } from '@diyc/container';
import { DiycError, isDiycError, type Resources } from '@diyc/record';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSpec } from './spec.js';
import { runContainer } from './run.js';
import { execInContainer, processFromArgs, readProcessFile } from './exec.js';
import { commandLine, containerPids, features, listStates, versionText } from './info.js';
import { writeLog, type LogOptions } from './log.js';
import { createContainer, DEFAULT_ROOT, deleteContainer, existingContainer, startContainer, type OciContext, type OciCreateOptions } from './lifecycle.js';

interface Globals {
  root: string;
  log: LogOptions;
  debug: boolean;
}

const globals: Globals = { root: DEFAULT_ROOT, log: { format: 'text' }, debug: false };

const warn = (message: string): void => {
  process.stderr.write(`diyc-oci: warning: ${message}\n`);
  writeLog(globals.log, 'warning', message);
};
const trace = () => createTrace(globals.debug);
/** What each command gets from the global flags. */
const context = (): OciContext => ({ root: globals.root, trace: trace(), warn });

const id = { type: 'positional', description: 'the container ID' } as const;
const pidFile = { type: 'string', valueHint: 'FILE', description: 'write the process\'s pid here (decimal, no newline)' } as const;
const consoleSocket = { type: 'string', valueHint: 'SOCKET', description: 'send the master of a new pty to this unix socket (process.terminal)' } as const;
const preserveFds = { type: 'string', valueHint: 'N', description: 'pass on descriptors 3 to 3+N-1 to the process' } as const;
const format = { type: 'enum' as const, alias: 'f', options: ['table', 'json'], description: 'table (default) or json' };

const count = (text: string | undefined, flag: string): number => {
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text)) throw new DiycError('usage', `${flag} ${text}: give a number`);
  return Number(text);
};

/** The flags of create, which run takes too. */
const createArgs = {
  bundle: { type: 'string', alias: 'b', valueHint: 'DIR', description: 'the bundle (default: the current directory)' },
  'pid-file': pidFile,
  'console-socket': consoleSocket,
  'no-pivot': { type: 'boolean', description: 'chroot instead of pivot_root (a root on ramfs)' },
  'no-new-keyring': { type: 'boolean', description: 'keep the caller\'s session keyring' },
  'preserve-fds': preserveFds,
  id,
} as const;

const create = defineCli({
  meta: { name: 'create', description: 'Create a container from an OCI bundle: its process made and held before execve (see start)' },
  args: createArgs,
  main: async ({ flags, operands }) => {
    await createContainer(context(), operands[0], createOptions(flags));
  },
});

/** The options of create, and of run, from their flags. */
function createOptions(flags: ParsedFlags): OciCreateOptions {
  return {
    bundle: one(flags.bundle) ?? process.cwd(),
    noPivot: flags['no-pivot'] === true, noNewKeyring: flags['no-new-keyring'] === true, preserveFds: count(one(flags['preserve-fds']), '--preserve-fds'),
    ...(one(flags['pid-file']) !== undefined ? { pidFile: one(flags['pid-file']) as string } : {}),
    ...(one(flags['console-socket']) !== undefined ? { consoleSocket: one(flags['console-socket']) as string } : {}),
  };
}

const run = defineCli({
  meta: { name: 'run', description: 'Create, start and wait for a container, then delete it; exit as its process did (-d: leave it running)' },
  args: { detach: { type: 'boolean', alias: 'd', description: 'return once it runs, and leave it running' }, ...createArgs },
  main: ({ flags, operands }) => runContainer(context(), operands[0], { ...createOptions(flags), detach: flags.detach === true }),
  failureCode: 125,
});

const start = defineCli({
  meta: { name: 'start', description: 'Start a created container: its process execs' },
  args: { id },
  main: ({ operands }) => startContainer(context(), operands[0]),
});

const state = defineCli({
  meta: { name: 'state', description: 'Print a container\'s state as JSON (ociVersion, id, status, pid, bundle, ...)' },
  args: { id },
  main: ({ operands }) => {
    process.stdout.write(`${JSON.stringify(ociState(existingContainer(globals.root, operands[0])), null, 2)}\n`);
  },
});

const kill = defineCli({
  meta: { name: 'kill', description: 'Send a signal (default TERM; a name or a number) to a container\'s process' },
  args: { all: { type: 'boolean', alias: 'a', description: 'to every process of the container' }, id, signal: { type: 'positional', description: 'the signal', required: false } },
  main: ({ flags, operands }) => core.kill(existingContainer(globals.root, operands[0]), parseSignal(operands[1]), { all: flags.all === true }),
});

const del = defineCli({
  meta: { name: 'delete', description: 'Delete a stopped container: its cgroup and state; then the poststop hooks' },
  args: { force: { type: 'boolean', alias: 'f', description: 'kill it first if it runs; a missing one is not an error' }, id },
  main: ({ flags, operands }) => deleteContainer(context(), operands[0], flags.force === true),
});

const exec = defineCli({
  meta: { name: 'exec', description: 'Run another process in a running container: from --process FILE, or CMD [ARG...]' },
  stopAtOperand: true,
  args: {
    process: { type: 'string', alias: 'p', valueHint: 'FILE', description: 'the OCI process to run (JSON)' },
    detach: { type: 'boolean', alias: 'd', description: 'leave it running and return' },
    'pid-file': pidFile,
    'console-socket': consoleSocket,
    tty: { type: 'boolean', alias: 't', description: 'give it a terminal (with --console-socket)' },
    env: { type: 'string', alias: 'e', valueHint: 'K=V', description: 'set a variable (repeatable)' },
    cwd: { type: 'string', valueHint: 'DIR', description: 'its working directory' },
    user: { type: 'string', alias: 'u', valueHint: 'UID[:GID]', description: 'run as this user' },
    'preserve-fds': preserveFds,
    id,
    command: { type: 'positional', description: 'the command and its arguments', required: false },
  },
  main: async ({ flags, operands }) => {
    const [target, ...command] = operands;
    const file = one(flags.process);
    let proc;
    if (file !== undefined) {
      if (command.length > 0) throw new DiycError('usage', '--process gives the command: give no CMD');
      proc = readProcessFile(file, warn);
    } else {
      if (command.length === 0) throw new DiycError('usage', 'missing COMMAND (or --process FILE)');
      const base = existingContainer(globals.root, target).record()?.process;
      if (!base) throw new DiycError('state', `container ${target} has no record`);
      const cwd = one(flags.cwd);
      const user = one(flags.user);
      proc = processFromArgs(base, command, { env: many(flags.env), tty: flags.tty === true, ...(cwd !== undefined ? { cwd } : {}), ...(user !== undefined ? { user } : {}) });
    }
    return execInContainer(context(), target, proc, {
      detach: flags.detach === true,
      preserveFds: count(one(flags['preserve-fds']), '--preserve-fds'),
      ...(one(flags['pid-file']) !== undefined ? { pidFile: one(flags['pid-file']) as string } : {}),
      ...(one(flags['console-socket']) !== undefined ? { consoleSocket: one(flags['console-socket']) as string } : {}),
    });
  },
  failureCode: 125,
});

const ps = defineCli({
  meta: { name: 'ps', description: 'List the processes of a container' },
  args: { format, id },
  main: ({ flags, operands }) => {
    const pids = containerPids(globals.root, operands[0]);
    if (one(flags.format) === 'json') process.stdout.write(`${JSON.stringify(pids)}\n`);
    // A process inside names itself (its argv): printTable shows its control characters escaped.
    else printTable(['PID', 'CMD'], pids.map((pid) => [String(pid), commandLine(pid)]));
  },
});

const list = defineCli({
  meta: { name: 'list', description: 'List the containers under --root' },
  args: { format, quiet: { type: 'boolean', alias: 'q', description: 'only the IDs' } },
  main: ({ flags }) => {
    const states = listStates(globals.root);
    if (flags.quiet === true) process.stdout.write(states.map((s) => `${s.id}\n`).join(''));
    else if (one(flags.format) === 'json') process.stdout.write(`${JSON.stringify(states)}\n`);
    else {
      const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...states.map((s) => [s.id, String(s.pid ?? 0), s.status, s.bundle, s.created ?? '', s.owner || 'root'])];
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
      process.stdout.write(rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').trimEnd()).join('\n') + '\n');
    }
  },
});

const featuresCommand = defineCli({
  meta: { name: 'features', description: 'What this runtime can honour, as JSON (runtime-spec features.md)' },
  args: {},
  main: () => { process.stdout.write(`${JSON.stringify(features(), null, 2)}\n`); },
});

const pause = defineCli({
  meta: { name: 'pause', description: 'Freeze every process of a container' },
  args: { id },
  main: ({ operands }) => core.pause(existingContainer(globals.root, operands[0]), true),
});

const resume = defineCli({
  meta: { name: 'resume', description: 'Thaw a paused container' },
  args: { id },
  main: ({ operands }) => core.pause(existingContainer(globals.root, operands[0]), false),
});

const update = defineCli({
  meta: { name: 'update', description: 'Set new limits on a running container (OCI linux.resources as JSON)' },
  args: { resources: { type: 'string', alias: 'r', valueHint: 'FILE|-', description: 'the resources: a file, or - for stdin' }, id },
  main: ({ flags, operands }) => {
    const source = one(flags.resources);
    if (source === undefined) throw new DiycError('usage', 'give --resources FILE (or - for stdin)');
    let resources: Resources;
    try {
      resources = JSON.parse(readFileSync(source === '-' ? 0 : source, 'utf8')) as Resources;
    } catch (err) {
      throw new DiycError('invalid', `--resources ${source}: ${(err as Error).message}`);
    }
    core.update(existingContainer(globals.root, operands[0]), resources);
  },
});

const spec = defineCli({
  meta: { name: 'spec', description: 'Write a config.json to start a bundle from (as runc spec), with diyc\'s defaults; root.path is rootfs' },
  args: {
    bundle: { type: 'string', alias: 'b', valueHint: 'DIR', description: 'write BUNDLE/config.json (default: the current directory); - prints it' },
    terminal: { type: 'boolean', description: 'process.terminal (default true; --no-terminal for a process without one)', default: true },
  },
  main: ({ flags }) => {
    const text = `${JSON.stringify(defaultSpec({ terminal: flags.terminal !== false }), null, 2)}\n`;
    const bundle = one(flags.bundle) ?? process.cwd();
    if (bundle === '-') { process.stdout.write(text); return; }
    const file = join(bundle, 'config.json');
    if (existsSync(file)) throw new DiycError('exists', `${file} exists already: remove it first`);
    writeFileSync(file, text);
  },
});

export const ociCommand = defineCli({
  meta: { name: 'diyc-oci', description: 'An OCI runtime with runc\'s command line, for containerd, podman and Kubernetes. Global flags (before the command): --root DIR (default /run/diyc-oci), --log FILE, --log-format text|json, --debug.' },
  // Every error line also goes to --log, where containerd reads the last error (even when
  // stderr is /dev/null opened read-only, as the shim gives it).
  onError: (message) => writeLog(globals.log, 'error', message),
  subCommands: { create, start, run, state, kill, delete: del, exec, ps, list, features: featuresCommand, pause, resume, update, spec },
});

/** Reads the global flags (runc's: before the command) and returns the rest. */
export function parseGlobals(argv: readonly string[]): string[] {
  let i = 0;
  const value = (flag: string): string => {
    const eq = flag.indexOf('=');
    if (eq >= 0) return flag.slice(eq + 1);
    const next = argv[++i];
    if (next === undefined) throw new DiycError('usage', `${flag} needs a value`);
    return next;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    const name = arg.split('=')[0];
    if (name === '--root') globals.root = value(arg);
    else if (name === '--log') globals.log.file = value(arg);
    else if (name === '--log-format') {
      const f = value(arg);
      if (f !== 'text' && f !== 'json') throw new DiycError('usage', `--log-format ${f}: use text or json`);
      globals.log.format = f;
    } else if (name === '--debug') globals.debug = true;
    else if (name === '--systemd-cgroup') {
      // runc's flag: cgroups are transient scopes of systemd's (cgroupsPath slice:prefix:name).
      process.env.DIYC_CGROUP_DRIVER = 'systemd';
    } else if (name === '--rootless') {
      if (!['false', 'auto'].includes(value(arg))) throw new DiycError('unsupported', 'diyc-oci does not run rootless');
    } else if (name === '--criu') value(arg);
    else break;
  }
  return argv.slice(i);
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  guardStdio();
  let rest: string[];
  try {
    rest = parseGlobals(argv);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`diyc-oci: ${message}\n`);
    writeLog(globals.log, 'error', message);
    process.exit(isDiycError(err, 'usage') ? 2 : 1);
  }
  if (rest[0] === '--version' || rest[0] === '-v' || rest[0] === 'version') {
    process.stdout.write(versionText(commandVersion()));
    process.exit(0);
  }
  return runCli(ociCommand, rest);
}
