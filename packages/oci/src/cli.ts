// diyc-oci [GLOBAL FLAGS] COMMAND [FLAGS] ARGS...: runc's command line (runc 1.1), as
// containerd's shim, podman, CRI-O and runc's own integration suite call it. The commands
// are defined here, once: shell.ts reads these definitions to parse a command line and to
// show runc's help, and tools/gen-cli-docs.mjs makes the man page and the completions from
// them. What a command does is in its own module, loaded only when that command runs
// (events, checkpoint and ps never load for a `state`): a call must cost little more than
// Node's own start (issue 22).
import { resolve } from 'node:path';
import type { ArgsDef } from 'citty';
import { commandVersion, createTrace, drained, guardStdio, writeErr, type CliCommand, type CliContext } from '@diyc/cli';
import { DiycError, OCI_VERSION, type Trace } from '@diyc/record';
import { Logger } from './log.js';
import {
  appHelp,
  commandHelp,
  dispatch,
  IncorrectUsage,
  many,
  NoHelpTopic,
  one,
  parseGlobalLine,
  print,
  usageText,
  type AppInfo,
  type OciCommand,
} from './shell.js';

/** Where podman and containerd look when they give no --root: it must not change. */
export const DEFAULT_ROOT = '/run/diyc-oci';

/** What the global flags set, for the command that runs. */
export interface Session {
  root: string;
  log: Logger;
  criu: string;
  /** --trace FILE: the timed steps (stages, the child's own), as Chrome trace-event JSON. */
  timing?: Trace;
}

let session: Session = { root: DEFAULT_ROOT, log: new Logger({ format: 'text', debug: false }), criu: 'criu' };

/** The -v trace of the core, as logrus debug lines (--debug); the container's steps say so. */
function trace(): Trace {
  const { log, timing } = session;
  const fn = (message: string, tag?: string): void => log.debug(tag === 'CONTAINER' ? `container: ${message}` : message);
  const timed = timing?.begin && timing.slices ? { begin: timing.begin, slices: timing.slices } : {};
  return Object.assign(fn, { enabled: log.debugging, ...timed });
}

/** What every command's core call gets from the global flags. */
export function context(): { root: string; trace: Trace; warn: (message: string) => void; log: Logger; criu: string } {
  return { root: session.root, trace: trace(), warn: (m) => session.log.warn(m), log: session.log, criu: session.criu };
}
export type OciContext = ReturnType<typeof context>;

// ---- flags shared by several commands ----

const bundle = {
  type: 'string',
  alias: 'b',
  valueHint: 'DIR',
  description: 'path to the root of the bundle directory, defaults to the current directory',
} as const;
const consoleSocket = {
  type: 'string',
  valueHint: 'SOCKET',
  description: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal",
} as const;
const pidFile = { type: 'string', valueHint: 'FILE', description: 'specify the file to write the process id to' } as const;
const noPivot = {
  type: 'boolean',
  description: 'do not use pivot root to jail process inside rootfs (chroot; for a root on ramfs)',
} as const;
const noNewKeyring = {
  type: 'boolean',
  description: "do not create a new session keyring for the container: it inherits the caller's",
} as const;
const preserveFds = {
  type: 'string',
  valueHint: 'N',
  description: 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)',
} as const;
const format = {
  type: 'string',
  alias: 'f',
  valueHint: 'table|json',
  default: 'table',
  description: 'select one of: table or json',
} as const;
const id = { type: 'positional', description: 'the container ID' } as const;
const detach = { type: 'boolean', alias: 'd', description: "detach from the container's process" } as const;
const WHERE_ID = '<container-id>\n\nWhere "<container-id>" is the name for the instance of the container.';

/** A flag's number: runc's int flags ("invalid value" otherwise). */
export function intFlag(value: string | undefined, flag: string, fallback = 0): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new DiycError('usage', `invalid value "${value}" for flag -${flag}: parse error`);
  return Number(value);
}

function createFlags(flags: CliContext['flags']) {
  return {
    bundle: one(flags.bundle) ?? process.cwd(),
    noPivot: flags['no-pivot'] === true,
    noNewKeyring: flags['no-new-keyring'] === true,
    preserveFds: intFlag(one(flags['preserve-fds']), 'preserve-fds'),
    ...(one(flags['pid-file']) !== undefined ? { pidFile: one(flags['pid-file']) as string } : {}),
    ...(one(flags['console-socket']) !== undefined ? { consoleSocket: one(flags['console-socket']) as string } : {}),
  };
}

// ---- the commands, in runc's order ----

const checkpoint: OciCommand = {
  meta: { name: 'checkpoint', description: 'checkpoint a running container (CRIU)' },
  argsUsage: `<container-id>\n\nWhere "<container-id>" is the name for the instance of the container to be\ncheckpointed.`,
  details: "The checkpoint command saves the state of the container instance (CRIU's images, in --image-path).",
  argCount: { exact: 1 },
  args: {
    'image-path': { type: 'string', valueHint: 'DIR', description: 'path for saving criu image files' },
    'work-path': { type: 'string', valueHint: 'DIR', description: 'path for saving work files and logs' },
    'parent-path': {
      type: 'string',
      valueHint: 'DIR',
      description: 'path for previous criu image files in pre-dump (relative to --image-path)',
    },
    'leave-running': { type: 'boolean', description: 'leave the process running after checkpointing' },
    'tcp-established': { type: 'boolean', description: 'allow open tcp connections' },
    'ext-unix-sk': { type: 'boolean', description: 'allow external unix sockets' },
    'shell-job': { type: 'boolean', description: 'allow shell jobs' },
    'lazy-pages': { type: 'boolean', description: 'use userfaultfd to lazily restore memory pages' },
    'status-fd': { type: 'string', valueHint: 'FD', description: 'criu writes \\0 to this FD once lazy-pages is ready' },
    'page-server': { type: 'string', valueHint: 'ADDRESS:PORT', description: 'ADDRESS:PORT of the page server' },
    'file-locks': { type: 'boolean', description: 'handle file locks, for safety' },
    'pre-dump': { type: 'boolean', description: "dump container's memory information only, leave the container running after this" },
    'manage-cgroups-mode': { type: 'string', valueHint: 'MODE', description: "cgroups mode: 'soft' (default), 'full' and 'strict'" },
    'empty-ns': { type: 'string', valueHint: 'NS', description: "create a namespace, but don't restore its properties (repeatable)" },
    'auto-dedup': { type: 'boolean', description: 'enable auto deduplication of memory images' },
    id,
  },
  main: async ({ flags, operands }) => (await import('./checkpoint.js')).checkpointCommand(context(), operands[0] as string, flags),
};

const create: OciCommand = {
  meta: { name: 'create', description: 'create a container' },
  argsUsage: `<container-id>\n\nWhere "<container-id>" is your name for the instance of the container that you\nare starting. The name you provide for the container instance must be unique on\nyour host.`,
  details:
    'The create command creates an instance of a container for a bundle. The bundle\n   is a directory with a specification file named "config.json" and a root filesystem.\n   Its process is made and held before execve(2) until `start`.',
  argCount: { exact: 1 },
  args: {
    bundle,
    'console-socket': consoleSocket,
    'pid-file': pidFile,
    'no-pivot': noPivot,
    'no-new-keyring': noNewKeyring,
    'preserve-fds': preserveFds,
    id,
  },
  main: async ({ flags, operands }) => {
    const { createContainer } = await import('./lifecycle.js');
    await createContainer(context(), operands[0], createFlags(flags));
  },
};

const del: OciCommand = {
  meta: { name: 'delete', description: 'delete any resources held by the container often used with detached container' },
  argsUsage: WHERE_ID,
  argCount: { exact: 1 },
  args: { force: { type: 'boolean', alias: 'f', description: 'Forcibly deletes the container if it is still running (uses SIGKILL)' }, id },
  main: async ({ flags, operands }) => {
    // One without state needs none of the stages that lifecycle.js loads.
    if ((await import('./containers.js')).deleteStateless(session.root, operands[0], flags.force === true)) return;
    await (await import('./lifecycle.js')).deleteContainer(context(), operands[0], flags.force === true);
  },
};

const events: OciCommand = {
  meta: { name: 'events', description: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics' },
  argsUsage: WHERE_ID,
  details: 'The events command displays information about the container. By default the\n   information is displayed once every 5 seconds.',
  argCount: { exact: 1 },
  args: {
    interval: { type: 'string', valueHint: 'DURATION', default: '5s', description: 'set the stats collection interval' },
    stats: { type: 'boolean', description: "display the container's stats then exit" },
    id,
  },
  main: async ({ flags, operands }) =>
    (await import('./events.js')).eventsCommand(context(), operands[0] as string, {
      interval: one(flags.interval) ?? '5s',
      stats: flags.stats === true,
    }),
};

const exec: OciCommand = {
  meta: { name: 'exec', description: 'execute new process inside the container' },
  argsUsage: '<container-id> <command> [command options]  || -p process.json <container-id>',
  details: "The exec command runs a new process in the container's namespaces and cgroup, under its policy.",
  argCount: { min: 1 },
  skipArgReorder: true,
  stopAtOperand: true,
  args: {
    'console-socket': consoleSocket,
    cwd: { type: 'string', valueHint: 'DIR', description: 'current working directory in the container' },
    env: { type: 'string', alias: 'e', valueHint: 'K=V', description: 'set environment variables (repeatable)' },
    tty: { type: 'boolean', alias: 't', description: 'allocate a pseudo-TTY' },
    user: { type: 'string', alias: 'u', valueHint: 'UID[:GID]', description: 'UID (format: <uid>[:<gid>])' },
    'additional-gids': { type: 'string', alias: 'g', valueHint: 'GID', description: 'additional gids (repeatable)' },
    process: { type: 'string', alias: 'p', valueHint: 'FILE', description: 'path to the process.json' },
    detach,
    'pid-file': pidFile,
    'process-label': {
      type: 'string',
      valueHint: 'LABEL',
      description: 'set the asm process label for the process commonly used with selinux (refused: no SELinux)',
    },
    apparmor: { type: 'string', valueHint: 'PROFILE', description: 'set the apparmor profile for the process (refused: no AppArmor)' },
    'no-new-privs': { type: 'boolean', description: 'set the no new privileges value for the process' },
    cap: { type: 'string', alias: 'c', valueHint: 'CAP', description: 'add a capability to the bounding set for the process (repeatable)' },
    'preserve-fds': preserveFds,
    cgroup: {
      type: 'string',
      valueHint: '[CONTROLLER[,CONTROLLER]:]PATH',
      description: 'run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.',
    },
    'ignore-paused': { type: 'boolean', description: 'allow exec in a paused container' },
    id,
    command: { type: 'positional', description: 'the command and its arguments', required: false },
  },
  main: async (ctx) => {
    try {
      return await (await import('./exec.js')).execCommand(context(), ctx);
    } catch (err) {
      // runc: any failure of exec itself is 255, so it is never taken for the process's status.
      throw new DiycError(
        err instanceof DiycError ? err.kind : 'system',
        `exec failed: ${err instanceof Error ? err.message : String(err)}`,
        { exitCode: 255, cause: err },
      );
    }
  },
};

const kill: OciCommand = {
  meta: { name: 'kill', description: "kill sends the specified signal (default: SIGTERM) to the container's init process" },
  argsUsage: `<container-id> [signal]\n\nWhere "<container-id>" is the name for the instance of the container and\n"[signal]" is the signal to be sent to the init process.`,
  argCount: { min: 1, max: 2 },
  args: {
    all: { type: 'boolean', alias: 'a', description: 'send the specified signal to all processes inside the container' },
    id,
    signal: { type: 'positional', description: 'the signal', required: false },
  },
  main: async ({ flags, operands }) =>
    (await import('./control.js')).killContainer(context(), operands[0], operands[1], flags.all === true),
};

const list: OciCommand = {
  meta: { name: 'list', description: 'lists containers started by diyc-oci with the given root' },
  argsUsage: '\n\nWhere the given root is specified via the global option "--root"\n(default: "/run/diyc-oci").',
  argCount: { exact: 0 },
  args: { format, quiet: { type: 'boolean', alias: 'q', description: 'display only container IDs' } },
  main: async ({ flags }) => (await import('./state.js')).listCommand(session.root, one(flags.format) ?? 'table', flags.quiet === true),
};

const pause: OciCommand = {
  meta: { name: 'pause', description: 'pause suspends all processes inside the container' },
  argsUsage: `<container-id>\n\nWhere "<container-id>" is the name for the instance of the container to be\npaused.`,
  details: 'The pause command suspends all processes in the instance of the container (the freezer cgroup).',
  argCount: { exact: 1 },
  args: { id },
  main: async ({ operands }) => (await import('./control.js')).pauseContainer(context(), operands[0], true),
};

const ps: OciCommand = {
  meta: { name: 'ps', description: 'ps displays the processes running inside a container' },
  argsUsage: '<container-id> [ps options]',
  argCount: { min: 1 },
  skipArgReorder: true,
  stopAtOperand: true,
  args: { format, id, options: { type: 'positional', description: 'options for ps(1) (default: -ef)', required: false } },
  main: async ({ flags, operands }) =>
    (await import('./ps.js')).psCommand(session.root, operands[0] as string, one(flags.format) ?? 'table', operands.slice(1)),
};

const restore: OciCommand = {
  meta: { name: 'restore', description: 'restore a container from a previous checkpoint (CRIU)' },
  argsUsage: `<container-id>\n\nWhere "<container-id>" is the name for the instance of the container to be\nrestored.`,
  details: 'Restores the saved state of the container instance that was previously saved\n   using the diyc-oci checkpoint command.',
  argCount: { exact: 1 },
  args: {
    'console-socket': consoleSocket,
    'image-path': { type: 'string', valueHint: 'DIR', description: 'path to criu image files for restoring' },
    'work-path': { type: 'string', valueHint: 'DIR', description: 'path for saving work files and logs' },
    'tcp-established': { type: 'boolean', description: 'allow open tcp connections' },
    'ext-unix-sk': { type: 'boolean', description: 'allow external unix sockets' },
    'shell-job': { type: 'boolean', description: 'allow shell jobs' },
    'file-locks': { type: 'boolean', description: 'handle file locks, for safety' },
    'manage-cgroups-mode': { type: 'string', valueHint: 'MODE', description: "cgroups mode: 'soft' (default), 'full' and 'strict'" },
    bundle,
    detach,
    'pid-file': pidFile,
    'no-subreaper': { type: 'boolean', description: 'disable the use of the subreaper used to reap reparented processes' },
    'no-pivot': noPivot,
    'empty-ns': { type: 'string', valueHint: 'NS', description: "create a namespace, but don't restore its properties (repeatable)" },
    'auto-dedup': { type: 'boolean', description: 'enable auto deduplication of memory images' },
    'lazy-pages': { type: 'boolean', description: 'use userfaultfd to lazily restore memory pages' },
    'lsm-profile': {
      type: 'string',
      valueHint: 'TYPE:NAME',
      description: 'Specify an LSM profile to be used during restore in the form of TYPE:NAME.',
    },
    'lsm-mount-context': { type: 'string', valueHint: 'CONTEXT', description: 'Specify an LSM mount context to be used during restore.' },
    id,
  },
  main: async ({ flags, operands }) => (await import('./checkpoint.js')).restoreCommand(context(), operands[0] as string, flags),
};

const resume: OciCommand = {
  meta: { name: 'resume', description: 'resumes all processes that have been previously paused' },
  argsUsage: `<container-id>\n\nWhere "<container-id>" is the name for the instance of the container to be\nresumed.`,
  argCount: { exact: 1 },
  args: { id },
  main: async ({ operands }) => (await import('./control.js')).pauseContainer(context(), operands[0], false),
};

const run: OciCommand = {
  meta: { name: 'run', description: 'create and run a container' },
  argsUsage: `<container-id>\n\nWhere "<container-id>" is your name for the instance of the container that you\nare starting. The name you provide for the container instance must be unique on\nyour host.`,
  details:
    'The run command creates an instance of a container for a bundle, starts it, waits\n   for its process and deletes it (unless --keep), and exits as the process did.',
  argCount: { exact: 1 },
  args: {
    bundle,
    'console-socket': consoleSocket,
    detach,
    keep: { type: 'boolean', description: 'do not delete the container after it exits' },
    'pid-file': pidFile,
    'no-subreaper': {
      type: 'boolean',
      description: 'disable the use of the subreaper used to reap reparented processes (diyc-oci never is one)',
    },
    'no-pivot': noPivot,
    'no-new-keyring': noNewKeyring,
    'preserve-fds': preserveFds,
    id,
  },
  main: async ({ flags, operands }) =>
    (await import('./run.js')).runContainer(context(), operands[0], {
      ...createFlags(flags),
      detach: flags.detach === true,
      keep: flags.keep === true,
    }),
};

const spec: OciCommand = {
  meta: { name: 'spec', description: 'create a new specification file' },
  argsUsage: '',
  details:
    'The spec command creates the new specification file named "config.json" for\n   the bundle: the one runc spec writes (three capabilities, no seccomp profile), a\n   starter file to edit. diyc-run\'s stricter defaults are diyc-run\'s.',
  argCount: { exact: 0 },
  args: {
    bundle: { type: 'string', alias: 'b', valueHint: 'DIR', description: 'path to the root of the bundle directory' },
    rootless: { type: 'boolean', description: 'generate a configuration for a rootless container' },
    'no-terminal': { type: 'boolean', description: "process.terminal false (diyc's addition)" },
  },
  main: async ({ flags }) => {
    const { existsSync, statSync, writeFileSync } = await import('node:fs');
    const { join, resolve } = await import('node:path');
    const { specText } = await import('./spec.js');
    const dir = resolve(one(flags.bundle) ?? '.');
    if (one(flags.bundle) !== undefined && !(existsSync(dir) && statSync(dir).isDirectory()))
      throw new DiycError('not-found', `chdir ${one(flags.bundle)}: no such file or directory`);
    const file = join(dir, 'config.json');
    if (existsSync(file)) throw new DiycError('exists', 'File config.json exists. Remove it first');
    const rootless = flags.rootless === true ? { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 } : undefined;
    writeFileSync(file, specText({ terminal: flags['no-terminal'] !== true, ...(rootless ? { rootless } : {}) }), { mode: 0o666 });
  },
};

const start: OciCommand = {
  meta: { name: 'start', description: 'executes the user defined process in a created container' },
  argsUsage: `<container-id>\n\nWhere "<container-id>" is your name for the instance of the container that you\nare starting. The name you provide for the container instance must be unique on\nyour host.`,
  argCount: { exact: 1 },
  args: { id },
  main: async ({ operands }) => (await import('./lifecycle.js')).startContainer(context(), operands[0]),
};

const state: OciCommand = {
  meta: { name: 'state', description: 'output the state of a container' },
  argsUsage: `<container-id>\n\nWhere "<container-id>" is your name for the instance of the container.`,
  details: 'The state command outputs current state information for the\n   instance of a container.',
  argCount: { exact: 1 },
  args: { id },
  main: async ({ operands }) => (await import('./state.js')).stateCommand(session.root, operands[0]),
};

const update: OciCommand = {
  meta: { name: 'update', description: 'update container resource constraints' },
  argsUsage: WHERE_ID,
  details:
    'The update command changes the cgroup limits of a running (or paused) container.\n   A value of 0 (or a flag not given) leaves a limit as it is; -1 removes it.',
  argCount: { exact: 1 },
  args: {
    resources: {
      type: 'string',
      alias: 'r',
      valueHint: 'FILE|-',
      description:
        "path to the file containing the resources to update or '-' to read from the standard input (the other flags are then ignored)",
    },
    'blkio-weight': { type: 'string', valueHint: 'N', description: 'Specifies per cgroup weight, range is from 10 to 1000' },
    'cpu-period': {
      type: 'string',
      valueHint: 'N',
      description: 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default',
    },
    'cpu-quota': { type: 'string', valueHint: 'N', description: 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period' },
    'cpu-share': { type: 'string', valueHint: 'N', description: 'CPU shares (relative weight vs. other containers)' },
    'cpu-rt-period': {
      type: 'string',
      valueHint: 'N',
      description: 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default',
    },
    'cpu-rt-runtime': {
      type: 'string',
      valueHint: 'N',
      description: 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period',
    },
    'cpuset-cpus': { type: 'string', valueHint: 'CPUS', description: 'CPU(s) to use' },
    'cpuset-mems': { type: 'string', valueHint: 'MEMS', description: 'Memory node(s) to use' },
    'kernel-memory': { type: 'string', valueHint: 'SIZE', description: 'Kernel memory limit (in bytes): ignored, as by runc' },
    'kernel-memory-tcp': {
      type: 'string',
      valueHint: 'SIZE',
      description: 'Kernel memory limit (in bytes) for tcp buffer: ignored, as by runc',
    },
    memory: { type: 'string', valueHint: 'SIZE', description: 'Memory limit (in bytes, or with a unit: 50M)' },
    'memory-reservation': { type: 'string', valueHint: 'SIZE', description: 'Memory reservation or soft_limit (in bytes)' },
    'memory-swap': {
      type: 'string',
      valueHint: 'SIZE',
      description: "Total memory usage (memory + swap); set '-1' to enable unlimited swap",
    },
    'pids-limit': { type: 'string', valueHint: 'N', description: 'Maximum number of pids allowed in the container' },
    'l3-cache-schema': {
      type: 'string',
      valueHint: 'SCHEMA',
      description: 'The string of Intel RDT/CAT L3 cache schema (refused: no Intel RDT)',
    },
    'mem-bw-schema': {
      type: 'string',
      valueHint: 'SCHEMA',
      description: 'The string of Intel RDT/MBA memory bandwidth schema (refused: no Intel RDT)',
    },
    id,
  },
  main: async ({ flags, operands }) => (await import('./update.js')).updateCommand(context(), operands[0] as string, flags),
};

const features: OciCommand = {
  meta: { name: 'features', description: 'show the enabled features' },
  argsUsage: '',
  details: 'Show the enabled features (runtime-spec features.md), as JSON.',
  argCount: { exact: 0 },
  args: {},
  main: async () => {
    print(`${JSON.stringify((await import('./info.js')).features(), null, '    ')}\n`);
  },
};

const GLOBALS: ArgsDef = {
  debug: { type: 'boolean', description: 'enable debug logging' },
  log: { type: 'string', valueHint: 'FILE', description: "set the log file to write diyc-oci logs to (default is '/dev/stderr')" },
  'log-format': {
    type: 'string',
    valueHint: 'text|json',
    default: 'text',
    description: "set the log format ('text' (default), or 'json')",
  },
  root: {
    type: 'string',
    valueHint: 'DIR',
    default: DEFAULT_ROOT,
    description: 'root directory for storage of container state (this should be located in tmpfs)',
  },
  criu: { type: 'string', valueHint: 'PATH', default: 'criu', description: 'path to the criu binary used for checkpoint and restore' },
  trace: {
    type: 'string',
    valueHint: 'FILE',
    description: "diyc's own: write the command's timed steps as Chrome trace-event JSON (open it in ui.perfetto.dev)",
  },
  'systemd-cgroup': {
    type: 'boolean',
    description: 'enable systemd cgroup support, expects cgroupsPath to be of form "slice:prefix:name" for e.g. "system.slice:runc:434234"',
  },
  rootless: {
    type: 'string',
    valueHint: 'true|false|auto',
    default: 'auto',
    description: "ignore cgroup permission errors ('true', 'false', or 'auto'): diyc-oci runs as root only",
  },
};

const COMMANDS: Record<string, OciCommand> = {
  checkpoint,
  create,
  delete: del,
  events,
  exec,
  kill,
  list,
  pause,
  ps,
  restore,
  resume,
  run,
  spec,
  start,
  state,
  update,
  features,
};

/** The command tree, for the man page and the completions (gen-cli-docs) and for the shell. */
export const ociCommand: CliCommand = {
  meta: { name: 'diyc-oci', description: "An OCI runtime with runc's command line, for containerd, podman and Kubernetes" },
  globalArgs: GLOBALS,
  subCommands: COMMANDS,
};

/**
 * The version lines, in runc's layout. containerd (go-runc's parseVersion) and moby read a
 * runtime's version only from a first line that begins "runc version ", and runc's own test
 * suite checks the same line: diyc-oci has runc 1.1.5's command line, so that is the version
 * it names there, then its own, which the "commit:" line repeats.
 */
export async function versionText(): Promise<string> {
  const version = commandVersion();
  let seccomp = 'none';
  try {
    // Through a module of its own: import() of @diyc/syscalls itself would keep every export
    // of it in the bundle, and build its namespace object at each start (tools/bundle-bin.mjs).
    seccomp = (await import('./seccomp-version.js')).seccompVersion() ?? 'none';
  } catch {
    /* the addon is not built: no libseccomp to name */
  }
  return `runc version 1.1.5 (diyc-oci ${version})\ncommit: diyc-oci-${version}\nspec: ${OCI_VERSION}\nnode: ${process.version}\nlibseccomp: ${seccomp}\n`;
}

const APP_USAGE = "diyc's runtime, a drop-in for runc - Open Container Initiative runtime";
const APP_ABOUT = `diyc-oci runs applications packaged according to the Open Container Initiative
(OCI) format, with the command line of runc 1.1: containerd, podman, CRI-O and
Kubernetes drive it as they drive runc. A bundle is a directory with a config.json
and a root filesystem.

To start a new instance of a container:

    # diyc-oci run [ -b bundle ] <container-id>`;

/** Applies the global flags; throws what runc says of a bad one. */
function applyGlobals(globals: CliContext['globals']): void {
  const logFormat = one(globals['log-format']) ?? 'text';
  const file = one(globals.log);
  const log = new Logger({
    format: logFormat === 'json' ? 'json' : 'text',
    debug: globals.debug === true,
    ...(file !== undefined && file !== '' ? { file } : {}),
  });
  const traceFile = one(globals.trace);
  session = { root: resolve(one(globals.root) ?? DEFAULT_ROOT), log, criu: one(globals.criu) ?? 'criu' };
  if (traceFile !== undefined && traceFile !== '') session.timing = createTrace({ verbose: false, file: traceFile, process: 'diyc-oci' });
  if (logFormat !== 'text' && logFormat !== 'json') throw new DiycError('usage', `invalid log-format: ${logFormat}`);
  // runc's flag: cgroups are transient scopes of systemd's (cgroupsPath slice:prefix:name).
  if (globals['systemd-cgroup'] === true) process.env.DIYC_CGROUP_DRIVER = 'systemd';
  const rootless = one(globals.rootless) ?? 'auto';
  if (!['auto', 'false'].includes(rootless))
    throw new DiycError('unsupported', `--rootless ${rootless}: diyc-oci runs as root only (use auto or false)`);
}

/** The error of a failed command, as runc's fatal(): logged, and bare on stderr when the log is a file. */
function fatal(err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  const { log } = session;
  log.error(message);
  if (!log.toStderr) writeErr(`${message}\n`);
  if (err instanceof NoHelpTopic) return 3;
  // runc: 1 for every error, usage errors too; exec's own failures carry 255.
  return err instanceof DiycError && err.exitCode === 255 ? 255 : 1;
}

/** Runs one diyc-oci command line; resolves to the exit code. */
export async function runOci(argv: readonly string[]): Promise<number> {
  const app: AppInfo = { name: 'diyc-oci', usage: APP_USAGE, about: APP_ABOUT, version: '', commands: COMMANDS, globals: GLOBALS };
  try {
    const line = parseGlobalLine(app, argv);
    if (line.version && !line.help) {
      print(await versionText());
      return 0;
    }
    // The log is set up before the command's own flags are read: their errors go there too.
    applyGlobals(line.globals);
    if (line.help || line.rest.length === 0) app.version = await versionText();
    const d = dispatch(app, line);
    if (d.print !== undefined) {
      print(d.print);
      return d.code ?? 0;
    }
    const { cmd, ctx } = d.command as NonNullable<typeof d.command>;
    const code = await cmd.main?.(ctx);
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    if (err instanceof IncorrectUsage) {
      // The app's help names the version, as on --help.
      if (err.command === undefined && app.version === '') app.version = await versionText();
      print(usageText(app, err));
    }
    return fatal(err);
  } finally {
    session.log.close();
  }
}

export { appHelp, commandHelp, many, one };

/** The bin: runs argv and exits with its code. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  // containerd's shim gives fds on a read-only /dev/null, a pipeline's reader may be gone:
  // a write that fails is dropped (@diyc/cli's stdio), and what a stream holds is written first.
  guardStdio();
  const code = await runOci(argv);
  await drained();
  process.exit(code);
}
