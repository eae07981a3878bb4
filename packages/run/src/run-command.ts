// diyc-run [OPTIONS] NAME IMAGE [CMD [ARG...]]
import { createTrace, defineCli, writeErr, writeOut, type ArgsDef, type CliContext, type FlagHint } from '@diyc/cli';
import {
  baseRecord,
  newContainerId,
  reap,
  runDetached,
  runForeground,
  teardown,
  type Container,
  type CreateOptions,
  type ForegroundOptions,
  type Runtime,
  type RunResult,
} from '@diyc/container';
import { ImageStore } from '@diyc/image';
import { describeConfig, ensureNetwork, type NetConfig } from '@diyc/net';
import { isTerminal } from '@diyc/nsexec';
import { DiycError, formatRecord, stateRoot, type ContainerRecord } from '@diyc/record';
import { DEFAULT_LOG_FILES, DEFAULT_LOG_SIZE, DEFAULT_PIDS_LIMIT, runOptions, type RunOptions } from './options.js';
import { runPipeline, shellLine } from './pipeline.js';
import { containerAt, runtimeFor } from './runtime.js';

/** Exit code when diyc-run itself failed before the container ran (as docker's 125). */
export const EXIT_RUNTIME = 125;

export const runArgs: ArgsDef = {
  ip: { type: 'string', alias: 'i', valueHint: 'IP', description: "the container's address on the bridge (implies --net bridge)" },
  net: {
    type: 'enum',
    options: ['bridge', 'none', 'host'],
    description:
      "bridge (the default): own namespace on diyc0, made on first use; none: only lo; host: the host's network, its loopback servers included",
  },
  mem: { type: 'string', alias: 'm', valueHint: 'SIZE', description: "memory limit, no swap: 10M, 1G, or a bare number of MB (diyC's -m)" },
  cpus: { type: 'string', valueHint: 'N', description: 'CPU limit as a number of CPUs (0.5 is half of one)' },
  pids: {
    type: 'string',
    valueHint: 'N',
    description: `most processes at once (default ${DEFAULT_PIDS_LIMIT}: a fork bomb stays inside; 0 or -1 for no limit)`,
  },
  'pids-limit': { type: 'string', valueHint: 'N', description: "docker's name for --pids" },
  publish: {
    type: 'string',
    alias: 'p',
    valueHint: 'HOST:PORT',
    description: 'make HOST port on the host reach PORT in the container (repeatable; implies --net bridge)',
  },
  env: {
    type: 'string',
    alias: 'e',
    valueHint: 'K=V',
    description: "set an environment variable; a bare K takes the host's value (repeatable)",
  },
  'env-file': {
    type: 'string',
    valueHint: 'FILE',
    description: "read variables from FILE: KEY=VALUE lines, a bare KEY takes the host's value, # comments (repeatable; -e wins)",
  },
  entrypoint: {
    type: 'string',
    valueHint: 'CMD',
    description: "run CMD in place of the image's Entrypoint (and without its Cmd); '' for none",
  },
  workdir: { type: 'string', alias: 'w', valueHint: 'DIR', description: 'the working directory inside' },
  ulimit: {
    type: 'string',
    valueHint: 'NAME=SOFT[:HARD]',
    description: 'a resource limit, as setrlimit(2): nofile=1024:4096, nproc=64 (repeatable)',
  },
  sysctl: {
    type: 'string',
    valueHint: 'KEY=VALUE',
    description: 'a namespaced sysctl for the container: net.* (own network), kernel.shm*, msg*, sem*, fs.mqueue.* (repeatable)',
  },
  'read-only': {
    type: 'boolean',
    description: "mount the container's root filesystem read-only (/dev, /dev/shm, --tmpfs and --volume stay writable)",
  },
  user: {
    type: 'string',
    alias: 'u',
    valueHint: 'USER[:GROUP]',
    description: "run as this user (a name or number, looked up in the image's /etc/passwd and /etc/group), with its groups and HOME",
  },
  volume: {
    type: 'string',
    valueHint: 'HOST:CONTAINER[:ro]',
    description: 'bind a host directory or file into the container (repeatable; :ro for read-only)',
  },
  tmpfs: {
    type: 'string',
    valueHint: 'PATH[:OPTS]',
    description: 'a fresh tmpfs at PATH (repeatable; noexec,nosuid,nodev unless OPTS say exec...)',
  },
  init: {
    type: 'boolean',
    description: 'run diyc-init as PID 1: it passes signals on (Ctrl-C works), reaps zombies, exits as the command',
  },
  dns: {
    type: 'string',
    valueHint: 'IP',
    description: "a name server for /etc/resolv.conf (repeatable; default: the host's, without loopback ones)",
  },
  'dns-search': { type: 'string', valueHint: 'DOMAIN', description: 'a search domain for /etc/resolv.conf (repeatable)' },
  'add-host': { type: 'string', valueHint: 'NAME:IP', description: 'a line for /etc/hosts (repeatable)' },
  'cap-add': { type: 'string', valueHint: 'CAP', description: "add a capability to Docker's default set (repeatable; ALL for all)" },
  'cap-drop': {
    type: 'string',
    valueHint: 'CAP',
    description: 'drop a capability (repeatable; ALL for all, then --cap-add what is needed)',
  },
  'security-opt': {
    type: 'string',
    valueHint: 'OPT',
    description: 'seccomp=unconfined, seccomp=FILE (an OCI profile), or no-new-privileges',
  },
  'no-new-privileges': { type: 'boolean', description: 'setuid programs and file capabilities grant nothing (prctl PR_SET_NO_NEW_PRIVS)' },
  privileged: {
    type: 'boolean',
    description:
      "give the container everything the host's root has: all capabilities (mount, load kernel modules, change the clock...), no seccomp filter, every device node it makes (the host's disks), /proc and /sys unmasked. Only namespaces and the cgroup remain: trust the image as you trust the host's root",
  },
  tty: {
    type: 'boolean',
    alias: 't',
    description:
      "docker's -t: the command gets a terminal, a pty of its own proxied to yours, as it does whenever stdin is one; refused when stdin is not a terminal",
  },
  verbose: { type: 'boolean', alias: 'v', description: 'trace each step (HOST| and CONTAINER| lines), timed steps with their duration' },
  trace: {
    type: 'string',
    valueHint: 'FILE',
    description:
      "write the run as Chrome trace-event JSON (open it in ui.perfetto.dev): the host's stages and the container's own steps, timed",
  },
  rm: { type: 'boolean', description: "remove the container's files when it ends" },
  detach: {
    type: 'boolean',
    alias: 'd',
    description: 'run in the background, watched by diyc-shim (output in $DIYC_ROOT/containers/NAME/log: diyc-logs NAME)',
  },
  'log-size': {
    type: 'string',
    valueHint: 'SIZE',
    description: `with -d: rotate the log before it passes SIZE (default ${DEFAULT_LOG_SIZE / 1024 / 1024}M; 0 for no limit)`,
  },
  'log-files': { type: 'string', valueHint: 'N', description: `with -d: rotated logs kept beside it (default ${DEFAULT_LOG_FILES})` },
  'dry-run': { type: 'boolean', description: 'print the pipeline of diyc tools that does the same, and run nothing' },
  pipeline: { type: 'boolean', description: 'run the stages as separate processes joined by pipes' },
  spec: { type: 'boolean', description: 'pipeline stage: print the base record for NAME IMAGE CMD' },
  start: { type: 'boolean', description: 'pipeline stage: start NAME from its config.json' },
  reap: { type: 'boolean', description: "diyc-shim's exit command: record how NAME ended and clean up after it" },
  name: { type: 'positional', description: 'the container: its hostname, and the name of its files, cgroup and network namespace' },
  image: { type: 'positional', description: 'an image unpacked with diyc-image', required: false },
  command: { type: 'positional', description: "the command (default: the image's)", required: false },
};

/** What `diyc-run NAME` shows beside its status (diyc-ps). */
function describe(record: ContainerRecord, options: Pick<RunOptions, 'image' | 'net'>): CreateOptions['describe'] {
  // An ID as `diyc` gives its containers, so that `diyc ps` and `diyc inspect` name it too
  // (a container made again keeps the one it has).
  return { id: newContainerId(), image: options.image, net: options.net, command: record.process.args };
}

/** Says why the container ended, when its cgroup knows (the OOM killer). */
function reportEnd(name: string, result: RunResult): void {
  if (!result.reason) return;
  if (result.status.signal === 9 || result.exitCode === 137) writeErr(`diyc-run: ${name}: killed: ${result.reason}\n`);
  else writeErr(`diyc-run: ${name}: a process in it was killed: ${result.reason}\n`);
}

/**
 * The bridge a container joins by default, made on first use as `diyc-net setup` makes it
 * (Docker and podman make theirs the same way), and said once.
 */
function ensureBridge(config: NetConfig, root: string): void {
  if (ensureNetwork(config, { root }).changed) {
    writeErr(`diyc-run: set up the bridge ${describeConfig(config)}, with NAT to the outside (\`diyc-net clean\` removes it)\n`);
  }
}

/** Runs the container in the foreground; its exit code, and why it ended when a stage could tell. */
async function runAttached(rt: Runtime, container: Container, record: ContainerRecord, options: ForegroundOptions): Promise<number> {
  const result = await runForeground(rt, container, record, options);
  reportEnd(container.name, result);
  return result.exitCode;
}

export async function runMain({ flags, operands }: CliContext, script: string): Promise<number> {
  const trace = createTrace({
    verbose: flags.verbose === true,
    ...(typeof flags.trace === 'string' ? { file: flags.trace } : {}),
    process: 'diyc-run',
  });
  const root = stateRoot();
  const remove = flags.rm === true;
  if (flags.reap === true || flags.start === true) {
    const name = operands[0];
    if (name === undefined || operands.length > 1)
      throw new DiycError('usage', `use diyc-run ${flags.reap === true ? '--reap' : '--start'} NAME`);
    const container = containerAt(name, root);
    const rt = runtimeFor(name, trace, root);
    if (flags.reap === true) {
      reap(rt, container, remove);
      return 0;
    }
    // The last stage of the pipeline: the record in config.json, prepared by the stages.
    const record = container.record();
    if (!record) throw new DiycError('not-found', `container ${name} has no config.json: prepare it first`);
    // A pty of its own when this is a terminal (the --spec stage said so for its own stdin).
    record.process.terminal = isTerminal(0);
    return runAttached(rt, container, record, { remove, prepared: true });
  }
  const options = runOptions(flags, operands);
  const image = new ImageStore(root).requireImage(options.image);
  if (flags.spec === true) {
    writeOut(formatRecord(baseRecord(options, image, isTerminal(0))));
    return 0;
  }
  const terminal = !options.detach && isTerminal(0);
  if (flags.tty === true && !terminal)
    throw new DiycError(
      'usage',
      `-t: ${options.detach ? 'a detached container has no terminal' : 'the input device is not a terminal'}: leave out -t`,
    );
  const base = baseRecord(options, image, terminal);
  if (flags['dry-run'] === true) {
    writeOut(`${shellLine(options, base, root)}\n`);
    return 0;
  }
  if (process.getuid?.() !== 0)
    throw new DiycError('missing', 'diyc-run needs root (namespaces, mounts, cgroups, network): run it with sudo');
  if (options.net === 'bridge') ensureBridge(options.netConfig, root);
  const rt = runtimeFor(options.name, trace, root);
  const container = containerAt(options.name, root);
  let record = base;
  let prepared = false;
  if (flags.pipeline === true) {
    trace(`pipeline: ${shellLine(options, base, root)}`);
    record = await runStagesAsProcesses(rt, container, options, base, root);
    prepared = true;
  }
  if (options.detach) {
    // The shim runs `diyc-run --reap NAME` when the container ends: the exit recorded, the stages undone.
    const exitCommand = [process.execPath, script, '--reap', ...(options.remove ? ['--rm'] : []), options.name];
    await runDetached(rt, container, record, {
      logSize: options.logSize,
      logFiles: options.logFiles,
      exitCommand,
      describe: describe(base, options),
      prepared,
    });
    writeOut(`${options.name}\n`);
    return 0;
  }
  return runAttached(rt, container, record, { remove: options.remove, prepared, describe: describe(base, options) });
}

/** --pipeline: the stages as processes joined by pipes; a failure undoes what they made. */
async function runStagesAsProcesses(
  rt: Runtime,
  container: Container,
  options: RunOptions,
  base: ContainerRecord,
  root: string,
): Promise<ContainerRecord> {
  if (container.isRunning())
    throw new DiycError(
      'exists',
      `container ${options.name} is running: stop it first (diyc-stop ${options.name}), or choose another name`,
    );
  try {
    await runPipeline(options, base, root);
  } catch (err) {
    try {
      teardown(base, rt);
    } catch {
      /* the first error is the one to show */
    }
    throw err;
  }
  const record = container.refresh().record();
  if (!record) throw new DiycError('system', `the pipeline wrote no config.json for ${options.name}`);
  return record;
}

/** docker run's flags that mean something else here, or that diyc-run takes another way. */
export const DOCKER_HINTS: FlagHint[] = [
  { flag: '-v', value: /:/, hint: '-v is verbose here (diyC); use --volume, or `diyc run -v`' },
  { flag: '--name', hint: 'the name is the first operand here: diyc-run NAME IMAGE (or `diyc run --name`)' },
  { flag: '--hostname', hint: 'the hostname is the name here: diyc-run NAME IMAGE' },
  {
    flag: '-it',
    hint: "-it: -i is diyC's --ip here (an address); the command gets a terminal of its own whenever stdin is one: leave out -i, or give -t alone",
  },
  {
    flag: '-ti',
    hint: "-ti: -i is diyC's --ip here (an address); the command gets a terminal of its own whenever stdin is one: give -t alone",
  },
  { flag: '--mount', hint: '--mount: use --volume HOST:CONTAINER[:ro] or --tmpfs PATH here (or `diyc run --mount`)' },
];

export function diycRunCommand(script: string) {
  return defineCli({
    meta: {
      name: 'diyc-run',
      description:
        "Run a command in a new container made from IMAGE: its own root filesystem (overlayfs), PID, mount, UTS, IPC and cgroup namespaces, hostname NAME, domain diyc, a cgroup with the limits given, and without --ip the host's network (as in diyC). Exit status is the container's (128+N for signal N); 125 when diyc-run failed; 126/127 when the command cannot run.",
    },
    stopAtOperand: true,
    failureCode: EXIT_RUNTIME,
    args: runArgs,
    hints: DOCKER_HINTS,
    main: (ctx) => runMain(ctx, script),
  });
}
