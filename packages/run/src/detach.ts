// diyc-run -d: the container runs on after diyc-run has returned, watched by diyc-shim, a
// small static program (packages/syscalls/src/native/shim.c), not by a Node process. The
// shim is the parent of the container's first process: it copies the container's output
// to DIR/log (rotated at --log-size, keeping --log-files old files: a flood stays bounded),
// writes DIR/exit.json when the process ends, and then execs `diyc-run --reap NAME`, which
// records the exit and undoes the container's stages, as a foreground diyc-run does.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, finish, start, type Container, type CreateOptions, type Runtime, type RunResult } from '@diyc/container';
import { DiycError, isDiycError, type ContainerRecord } from '@diyc/record';
import { parseShimExit, pipe, supervisorArgv } from '@diyc/syscalls';

export const LOG_FILE = 'log';
export const EXIT_FILE = 'exit.json';

export interface DetachOptions {
  /** --rm: its files go when it ends. */
  remove: boolean;
  /** Rotate the log before it passes this many bytes; 0: never. */
  logSize: number;
  /** Rotated files kept beside the log. */
  logFiles: number;
  /** This bin's own script, which the shim runs to reap the container (`--reap`). */
  script: string;
  describe: CreateOptions['describe'];
  /** The record is prepared already (the --pipeline stages made it). */
  prepared?: boolean;
}

/** Creates and starts `container` under diyc-shim; returns once its command runs. */
export async function runDetached(rt: Runtime, container: Container, record: ContainerRecord, options: DetachOptions): Promise<void> {
  // One pipe for stdout and stderr: the log keeps them in the order they were written.
  const [read, write] = pipe();
  const devnull = openSync('/dev/null', 'r');
  try {
    const reap = [process.execPath, options.script, '--reap', ...(options.remove ? ['--rm'] : []), container.name];
    const argv = supervisorArgv({
      stdoutFd: read, log: join(container.dir, LOG_FILE), logSize: options.logSize, logFiles: options.logFiles,
      exitFile: join(container.dir, EXIT_FILE), exitCommand: reap,
    });
    await create(rt, container, record, {
      stdio: [devnull, write, write], supervisor: { argv, keepFds: [read] }, describe: options.describe,
      ...(options.prepared ? { prepared: true } : {}),
    });
  } catch (err) {
    // The user is back at the prompt: say which container it was.
    if (isDiycError(err, 'start')) throw new DiycError('start', `container ${container.name} did not start: ${err.message}`, { cause: err, ...(err.exitCode !== undefined ? { exitCode: err.exitCode } : {}) });
    throw err;
  } finally {
    for (const fd of [read, write, devnull]) closeSync(fd);
  }
  await start(rt, container);
}

/**
 * `diyc-run --reap NAME`, the shim's exit command: the container's process has ended and
 * the shim wrote how. Records it and undoes the container's stages (or removes it: --rm).
 */
export function reap(rt: Runtime, container: Container, remove: boolean): RunResult {
  const file = join(container.dir, EXIT_FILE);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch { /* the shim died before it could write: a status unknown */ }
  const exit = parseShimExit(text);
  if (!exit && text !== '') throw new DiycError('invalid', `${file} is not an exit file of diyc-shim`);
  return finish(rt, container, exit ?? { code: 255, signal: null }, { remove });
}
