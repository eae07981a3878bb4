// diyc-run [OPTIONS] NAME IMAGE [CMD [ARG...]]
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { CliError, createTrace, defineCli, type ArgsDef, type CliContext } from '@diyc/cli';
import { ImageStore } from '@diyc/image';
import { StartError } from '@diyc/nsexec';
import { containerDir, formatRecord, stateRoot, withLock } from '@diyc/record';
import { isRunning, LifecycleError, recoverIfStale } from './lifecycle.js';
import { OptionsError, runOptions, type RunOptions } from './options.js';
import { runPipeline, shellLine } from './pipeline.js';
import { baseRecord } from './spec.js';
import { prepareContainer, stageContext, teardown, type StageContext } from './stages.js';
import { baseState, startContainer, type RunResult } from './start.js';
import { readConfig, readState, writeConfig, writeExited, writeState } from './state.js';

/** Exit code when diyc-run itself failed before the container ran (as docker's 125). */
export const EXIT_RUNTIME = 125;

/**
 * The exit code of a failure, as docker's: the command's 126/127 when it could not
 * start, 2 for bad options, 125 for anything else that failed before or around it.
 */
export function asCliError(err: unknown): never {
  if (err instanceof CliError) throw err;
  if (err instanceof StartError) throw new CliError(err.message, { exitCode: err.exitCode });
  throw new CliError(err instanceof Error ? err.message : String(err), { exitCode: err instanceof OptionsError ? 2 : EXIT_RUNTIME, cause: err });
}

export const runArgs: ArgsDef = {
  ip: { type: 'string', alias: 'i', valueHint: 'IP', description: 'the container\'s address on the bridge (implies --net bridge)' },
  net: { type: 'enum', options: ['bridge', 'none', 'host'], description: 'bridge: own namespace on diyc0; none: only lo; host: the host\'s network (the default without --ip or -p, as in diyC)' },
  mem: { type: 'string', alias: 'm', valueHint: 'SIZE', description: 'memory limit, no swap: 10M, 1G, or a bare number of MB (diyC\'s -m)' },
  cpus: { type: 'string', valueHint: 'N', description: 'CPU limit as a number of CPUs (0.5 is half of one)' },
  pids: { type: 'string', valueHint: 'N', description: 'most processes at once' },
  publish: { type: 'string', alias: 'p', valueHint: 'HOST:PORT', description: 'make HOST port on the host reach PORT in the container (repeatable; implies --net bridge)' },
  env: { type: 'string', alias: 'e', valueHint: 'K=V', description: 'set an environment variable (repeatable)' },
  workdir: { type: 'string', alias: 'w', valueHint: 'DIR', description: 'the working directory inside' },
  'cap-add': { type: 'string', valueHint: 'CAP', description: 'add a capability to Docker\'s default set (repeatable; ALL for all)' },
  'cap-drop': { type: 'string', valueHint: 'CAP', description: 'drop a capability (repeatable; ALL for all, then --cap-add what is needed)' },
  'security-opt': { type: 'string', valueHint: 'OPT', description: 'seccomp=unconfined, seccomp=FILE (an OCI profile), or no-new-privileges' },
  'no-new-privileges': { type: 'boolean', description: 'setuid programs and file capabilities grant nothing (prctl PR_SET_NO_NEW_PRIVS)' },
  privileged: { type: 'boolean', description: 'give the container everything the host\'s root has: all capabilities (mount, load kernel modules, change the clock...), no seccomp filter, every device node it makes (the host\'s disks), /proc and /sys unmasked. Only namespaces and the cgroup remain: trust the image as you trust the host\'s root' },
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
function claim(options: RunOptions, ctx: StageContext, terminal: boolean): ReturnType<typeof baseRecord> {
  const image = new ImageStore(ctx.root).requireImage(options.image);
  const record = baseRecord(options, image, terminal);
  mkdirSync(containerDir(options.name, ctx.root), { recursive: true });
  withLock(`${containerDir(options.name, ctx.root)}.lock`, () => {
    const state = recoverIfStale(options.name, ctx);
    if (isRunning(state)) throw new LifecycleError(`container ${options.name} is running: stop it first (diyc-stop ${options.name}), or choose another name`);
    // Its kept files are changes to one image: over another they would make no sense.
    if (state && state.image && state.image !== options.image) {
      throw new LifecycleError(`container ${options.name} was made from image ${state.image}: remove it first (diyc-rm ${options.name}), or choose another name`);
    }
    writeConfig(options.name, record, ctx.root);
    writeState(baseState(record, options.name), ctx.root);
  });
  return record;
}

async function runDetached(options: RunOptions, ctx: StageContext, script: string): Promise<number> {
  const log = openSync(join(containerDir(options.name, ctx.root), 'log'), 'a');
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
    const state = readState(options.name, ctx.root);
    if (state?.startedAt !== undefined) break;
    const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 20))]);
    if (code === null) continue;
    const final = readState(options.name, ctx.root);
    if (final === undefined && options.remove) break;
    if (final?.startedAt !== undefined) break;
    // The supervisor said why in the log: pass its last line on, and its exit code.
    const logFile = join(containerDir(options.name, ctx.root), 'log');
    const why = readFileSync(logFile, 'utf8').trim().split('\n').pop()?.replace(/^diyc-run: /, '') ?? '';
    throw new CliError(`container ${options.name} did not start${why ? `: ${why}` : ` (exit ${code})`} (log: ${logFile})`, { exitCode: code === 126 || code === 127 ? code : EXIT_RUNTIME });
  }
  supervisor.unref();
  process.stdout.write(`${options.name}\n`);
  return 0;
}

export async function runMain(ctx: CliContext, script: string): Promise<number> {
  const { flags, operands } = ctx;
  const trace = createTrace(flags.verbose === true);
  const root = stateRoot();
  try {
    if (flags.start === true) {
      const name = operands[0];
      if (name === undefined || operands.length > 1) throw new OptionsError('usage: diyc-run --start NAME');
      const stage = stageContext(trace, root);
      const detached = process.env.DIYC_DETACHED === '1';
      const foreground = !detached && process.stdin.isTTY === true;
      const result = await startContainer(name, stage, { foreground, remove: flags.rm === true, ...(detached ? { setsid: true } : {}) });
      reportEnd(name, result);
      return result.exitCode;
    }
    const options = runOptions(flags, operands);
    if (flags.spec === true) {
      const image = new ImageStore(root).requireImage(options.image);
      process.stdout.write(formatRecord(baseRecord(options, image, process.stdin.isTTY === true)));
      return 0;
    }
    if (flags['dry-run'] === true) {
      process.stdout.write(`${shellLine(options, root)}\n`);
      return 0;
    }
    if (process.getuid?.() !== 0) throw new CliError('diyc-run needs root (namespaces, mounts, cgroups, network): run it with sudo', { exitCode: EXIT_RUNTIME });
    const stage = stageContext(trace, root);
    const terminal = !options.detach && process.stdin.isTTY === true;
    // Ctrl-C or kill while the container is being prepared: finish the step under way,
    // then undo them all, rather than die with half a container in place.
    let interrupted: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals): void => { interrupted ??= signal; };
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    for (const sig of signals) process.on(sig, onSignal);
    const base = claim(options, stage, terminal);
    try {
      if (flags.pipeline === true) {
        trace(`pipeline: ${shellLine(options, root)}`);
        await runPipeline(options, root);
      } else {
        writeConfig(options.name, prepareContainer(options, base, stage), root);
      }
      // Signals that came during the synchronous steps are delivered now.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (interrupted) throw new CliError(`interrupted by ${interrupted}: nothing was left behind`, { exitCode: 128 + constants.signals[interrupted] });
    } catch (err) {
      recoverAfterFailedPrepare(options, stage);
      throw err;
    } finally {
      for (const sig of signals) process.off(sig, onSignal);
    }
    if (options.detach) return await runDetached(options, stage, script);
    const result = await startContainer(options.name, stage, { foreground: terminal, remove: options.remove });
    reportEnd(options.name, result);
    return result.exitCode;
  } catch (err) {
    asCliError(err);
  }
}

/** Says why the container ended, when its cgroup knows (the OOM killer). */
function reportEnd(name: string, result: RunResult): void {
  if (!result.reason) return;
  if (result.status.signal === 9 || result.exitCode === 137) process.stderr.write(`diyc-run: ${name}: killed: ${result.reason}\n`);
  else process.stderr.write(`diyc-run: ${name}: a process in it was killed: ${result.reason}\n`);
}

/** A failed prepare leaves nothing: every stage is undone, the container marked exited. */
function recoverAfterFailedPrepare(options: RunOptions, ctx: StageContext): void {
  try {
    teardown(options.name, readConfig(options.name, ctx.root), ctx);
  } catch { /* the original error is the one to show */ }
  const state = readState(options.name, ctx.root);
  if (state) writeExited(state, EXIT_RUNTIME, 'it could not be prepared', ctx.root);
}

export function diycRunCommand(script: string) {
  return defineCli({
    meta: {
      name: 'diyc-run',
      version: '0.1.0',
      description: 'Run a command in a new container made from IMAGE: its own root filesystem (overlayfs), PID, mount, UTS, IPC and cgroup namespaces, hostname NAME, domain diyc, a cgroup with the limits given, and without --ip the host\'s network (as in diyC). Exit status is the container\'s (128+N for signal N); 125 when diyc-run failed; 126/127 when the command cannot run.',
    },
    stopAtOperand: true,
    args: runArgs,
    main: (ctx) => runMain(ctx, script),
  });
}
