// diyc-run [OPTIONS] NAME IMAGE [CMD [ARG...]]
import { openSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { createTrace, defineCli, type ArgsDef, type CliContext } from '@diyc/cli';
import { ImageStore } from '@diyc/image';
import { describeConfig, requireBridge, setupNetwork, type NetConfig } from '@diyc/net';
import { DiycError, formatRecord, stateRoot, type ContainerRecord, type StageContext } from '@diyc/record';
import { Container } from './container.js';
import { recoverIfStaleLocked } from './lifecycle.js';
import { DEFAULT_PIDS_LIMIT, runOptions, type RunOptions } from './options.js';
import { runPipeline, shellLine } from './pipeline.js';
import { baseRecord } from './spec.js';
import { prepare, stageContext, teardown } from './stages.js';
import { baseState, startContainer, type RunResult } from './start.js';

/** Exit code when diyc-run itself failed before the container ran (as docker's 125). */
export const EXIT_RUNTIME = 125;

export const runArgs: ArgsDef = {
  ip: { type: 'string', alias: 'i', valueHint: 'IP', description: 'the container\'s address on the bridge (implies --net bridge)' },
  net: { type: 'enum', options: ['bridge', 'none', 'host'], description: 'bridge (the default): own namespace on diyc0, made on first use; none: only lo; host: the host\'s network, its loopback servers included' },
  mem: { type: 'string', alias: 'm', valueHint: 'SIZE', description: 'memory limit, no swap: 10M, 1G, or a bare number of MB (diyC\'s -m)' },
  cpus: { type: 'string', valueHint: 'N', description: 'CPU limit as a number of CPUs (0.5 is half of one)' },
  pids: { type: 'string', valueHint: 'N', description: `most processes at once (default ${DEFAULT_PIDS_LIMIT}: a fork bomb stays inside; 0 or -1 for no limit)` },
  'pids-limit': { type: 'string', valueHint: 'N', description: 'docker\'s name for --pids' },
  publish: { type: 'string', alias: 'p', valueHint: 'HOST:PORT', description: 'make HOST port on the host reach PORT in the container (repeatable; implies --net bridge)' },
  env: { type: 'string', alias: 'e', valueHint: 'K=V', description: 'set an environment variable; a bare K takes the host\'s value (repeatable)' },
  'env-file': { type: 'string', valueHint: 'FILE', description: 'read variables from FILE: KEY=VALUE lines, a bare KEY takes the host\'s value, # comments (repeatable; -e wins)' },
  entrypoint: { type: 'string', valueHint: 'CMD', description: 'run CMD in place of the image\'s Entrypoint (and without its Cmd); \'\' for none' },
  workdir: { type: 'string', alias: 'w', valueHint: 'DIR', description: 'the working directory inside' },
  ulimit: { type: 'string', valueHint: 'NAME=SOFT[:HARD]', description: 'a resource limit, as setrlimit(2): nofile=1024:4096, nproc=64 (repeatable)' },
  sysctl: { type: 'string', valueHint: 'KEY=VALUE', description: 'a namespaced sysctl for the container: net.* (own network), kernel.shm*, msg*, sem*, fs.mqueue.* (repeatable)' },
  'read-only': { type: 'boolean', description: 'mount the container\'s root filesystem read-only (/dev, /dev/shm, --tmpfs and --volume stay writable)' },
  user: { type: 'string', alias: 'u', valueHint: 'USER[:GROUP]', description: 'run as this user (a name or number, looked up in the image\'s /etc/passwd and /etc/group), with its groups and HOME' },
  volume: { type: 'string', valueHint: 'HOST:CONTAINER[:ro]', description: 'bind a host directory or file into the container (repeatable; :ro for read-only)' },
  tmpfs: { type: 'string', valueHint: 'PATH[:OPTS]', description: 'a fresh tmpfs at PATH (repeatable; noexec,nosuid,nodev unless OPTS say exec...)' },
  init: { type: 'boolean', description: 'run diyc-init as PID 1: it passes signals on (Ctrl-C works), reaps zombies, exits as the command' },
  dns: { type: 'string', valueHint: 'IP', description: 'a name server for /etc/resolv.conf (repeatable; default: the host\'s, without loopback ones)' },
  'dns-search': { type: 'string', valueHint: 'DOMAIN', description: 'a search domain for /etc/resolv.conf (repeatable)' },
  'add-host': { type: 'string', valueHint: 'NAME:IP', description: 'a line for /etc/hosts (repeatable)' },
  'cap-add': { type: 'string', valueHint: 'CAP', description: 'add a capability to Docker\'s default set (repeatable; ALL for all)' },
  'cap-drop': { type: 'string', valueHint: 'CAP', description: 'drop a capability (repeatable; ALL for all, then --cap-add what is needed)' },
  'security-opt': { type: 'string', valueHint: 'OPT', description: 'seccomp=unconfined, seccomp=FILE (an OCI profile), or no-new-privileges' },
  'no-new-privileges': { type: 'boolean', description: 'setuid programs and file capabilities grant nothing (prctl PR_SET_NO_NEW_PRIVS)' },
  privileged: { type: 'boolean', description: 'give the container everything the host\'s root has: all capabilities (mount, load kernel modules, change the clock...), no seccomp filter, every device node it makes (the host\'s disks), /proc and /sys unmasked. Only namespaces and the cgroup remain: trust the image as you trust the host\'s root' },
  tty: { type: 'boolean', alias: 't', description: 'docker\'s -t: the command gets your terminal, as it does whenever stdin is one; refused when stdin is not a terminal' },
  verbose: { type: 'boolean', alias: 'v', description: 'trace each step (HOST| and CONTAINER| lines)' },
  rm: { type: 'boolean', description: 'remove the container\'s files when it ends' },
  detach: { type: 'boolean', alias: 'd', description: 'run in the background (output in $DIYC_ROOT/containers/NAME/log)' },
  'dry-run': { type: 'boolean', description: 'print the pipeline of diyc tools that does the same, and run nothing' },
  pipeline: { type: 'boolean', description: 'run the stages as separate processes joined by pipes' },
  spec: { type: 'boolean', description: 'pipeline stage: print the base record for NAME IMAGE CMD' },
  start: { type: 'boolean', description: 'pipeline stage: start NAME from its config.json' },
  name: { type: 'positional', description: 'the container: its hostname, and the name of its files, cgroup and network namespace' },
  image: { type: 'positional', description: 'an image unpacked with diyc-image', required: false },
  command: { type: 'positional', description: 'the command (default: the image\'s)', required: false },
};

/** Refuses a NAME that is running, recovers a stale one, and claims NAME for this process. */
function claim(container: Container, options: RunOptions, ctx: StageContext, record: ContainerRecord): void {
  container.locked(() => {
    const state = recoverIfStaleLocked(container, ctx);
    if (container.isRunning() || state?.status === 'creating' || (state?.status === 'created' && container.supervisorAlive())) {
      throw new DiycError('exists', `container ${options.name} is running: stop it first (diyc-stop ${options.name}), or choose another name`);
    }
    // Its kept files are changes to one image: over another they would make no sense.
    if (state && state.image && state.image !== options.image) {
      throw new DiycError('exists', `container ${options.name} was made from image ${state.image}: remove it first (diyc-rm ${options.name}), or choose another name`);
    }
    container.saveRecord(record);
    container.save(baseState(record, options.name));
  });
}

async function runDetached(container: Container, options: RunOptions, script: string): Promise<number> {
  const log = openSync(join(container.dir, 'log'), 'a');
  const { spawn } = await import('node:child_process');
  const supervisor = spawn(process.execPath, [script, ...(options.remove ? ['--rm'] : []), '--start', '--', options.name], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, DIYC_DETACHED: '1' },
  });
  const exited = new Promise<number>((resolve) => supervisor.on('exit', (code) => resolve(code ?? 1)));
  // claim() wrote a state without startedAt: the supervisor adds it once the command
  // runs. A short command may already have ended (or, with --rm, been removed) by the
  // time we look: that is a start too.
  for (;;) {
    if (container.refresh().state()?.startedAt !== undefined) break;
    const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 20))]);
    if (code === null) continue;
    const final = container.refresh().state();
    if (final === undefined && options.remove) break;
    if (final?.startedAt !== undefined) break;
    // The supervisor said why in the log: pass its last line on, and its exit code.
    const logFile = join(container.dir, 'log');
    const why = readFileSync(logFile, 'utf8').trim().split('\n').pop()?.replace(/^diyc-run: /, '') ?? '';
    throw new DiycError('start', `container ${options.name} did not start${why ? `: ${why}` : ` (exit ${code})`} (log: ${logFile})`, { exitCode: code === 126 || code === 127 ? code : EXIT_RUNTIME });
  }
  supervisor.unref();
  process.stdout.write(`${options.name}\n`);
  return 0;
}

export async function runMain({ flags, operands }: CliContext, script: string): Promise<number> {
  const trace = createTrace(flags.verbose === true);
  const root = stateRoot();
  if (flags.start === true) {
    const name = operands[0];
    if (name === undefined || operands.length > 1) throw new DiycError('usage', 'use diyc-run --start NAME');
    const detached = process.env.DIYC_DETACHED === '1';
    const terminal = !detached && process.stdin.isTTY === true;
    const result = await startContainer(Container.at(name, root), stageContext(name, trace, root), { terminal, remove: flags.rm === true, ...(detached ? { setsid: true } : {}) });
    reportEnd(name, result);
    return result.exitCode;
  }
  const options = runOptions(flags, operands);
  const image = new ImageStore(root).requireImage(options.image);
  if (flags.spec === true) {
    process.stdout.write(formatRecord(baseRecord(options, image, process.stdin.isTTY === true)));
    return 0;
  }
  const terminal = !options.detach && process.stdin.isTTY === true;
  if (flags.tty === true && !terminal) throw new DiycError('usage', `-t: ${options.detach ? 'a detached container has no terminal' : 'the input device is not a terminal'}: leave out -t`);
  const base = baseRecord(options, image, terminal);
  if (flags['dry-run'] === true) {
    process.stdout.write(`${shellLine(options, base, root)}\n`);
    return 0;
  }
  if (process.getuid?.() !== 0) throw new DiycError('missing', 'diyc-run needs root (namespaces, mounts, cgroups, network): run it with sudo');
  if (options.net === 'bridge') ensureBridge(options.netConfig, root);
  const ctx = stageContext(options.name, trace, root);
  const container = Container.at(options.name, root);
  // Ctrl-C or kill while the container is being prepared: finish the step under way,
  // then undo them all, rather than die with half a container in place.
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => { interrupted ??= signal; };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, onSignal);
  claim(container, options, ctx, base);
  try {
    if (flags.pipeline === true) {
      trace(`pipeline: ${shellLine(options, base, root)}`);
      await runPipeline(options, base, root);
    } else {
      container.saveRecord(prepare(base, ctx));
    }
    container.save({ ...(container.state() as NonNullable<ReturnType<Container['state']>>), status: 'created' });
    // Signals that came during the synchronous steps are delivered now.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (interrupted) throw new DiycError('system', `interrupted by ${interrupted}: nothing was left behind`, { exitCode: 128 + constants.signals[interrupted] });
  } catch (err) {
    recoverAfterFailedPrepare(container, ctx);
    throw err;
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
  }
  if (options.detach) return await runDetached(container, options, script);
  const result = await startContainer(container, ctx, { terminal, remove: options.remove });
  reportEnd(options.name, result);
  return result.exitCode;
}

/**
 * The bridge a container joins by default, made on first use as `diyc-net setup` makes it
 * (Docker and podman make theirs the same way), and said once.
 */
function ensureBridge(config: NetConfig, root: string): void {
  try {
    requireBridge(config);
  } catch {
    setupNetwork(config, { root });
    process.stderr.write(`diyc-run: made the bridge ${describeConfig(config)}, with NAT to the outside (\`diyc-net clean\` removes it)\n`);
  }
}

/** Says why the container ended, when its cgroup knows (the OOM killer). */
function reportEnd(name: string, result: RunResult): void {
  if (!result.reason) return;
  if (result.status.signal === 9 || result.exitCode === 137) process.stderr.write(`diyc-run: ${name}: killed: ${result.reason}\n`);
  else process.stderr.write(`diyc-run: ${name}: a process in it was killed: ${result.reason}\n`);
}

/** A failed prepare leaves nothing: every stage is undone, the container marked exited. */
function recoverAfterFailedPrepare(container: Container, ctx: StageContext): void {
  try {
    teardown(container.refresh().record(), ctx);
  } catch { /* the original error is the one to show */ }
  if (container.state()) container.markExited(EXIT_RUNTIME, 'it could not be prepared');
}

export function diycRunCommand(script: string) {
  return defineCli({
    meta: {
      name: 'diyc-run',
      description: 'Run a command in a new container made from IMAGE: its own root filesystem (overlayfs), PID, mount, UTS, IPC and cgroup namespaces, hostname NAME, domain diyc, a cgroup with the limits given, and without --ip the host\'s network (as in diyC). Exit status is the container\'s (128+N for signal N); 125 when diyc-run failed; 126/127 when the command cannot run.',
    },
    stopAtOperand: true,
    failureCode: EXIT_RUNTIME,
    args: runArgs,
    main: (ctx) => runMain(ctx, script),
  });
}
