// A detached container (diyc-run -d, diyc run -d): it runs on after the command that made it
// has returned, watched by diyc-shim, a small static program
// (packages/syscalls/src/native/shim.c), not by a Node process. The shim is the parent of
// the container's first process: it copies the container's output to DIR/log (rotated at
// logSize, keeping logFiles old files: a flood stays bounded), writes DIR/exit.json when
// the process ends, and then execs the front end's exit command (`diyc-run --reap NAME`),
// which calls reap(): the exit recorded and the stages undone, as in the foreground.
import { closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiycError, isDiycError, type ContainerRecord } from '@diyc/record';
import { parseShimExit, pipe, supervisorArgv } from '@diyc/syscalls';
import type { Container } from './container.js';
import { create, type CreateOptions } from './create.js';
import { finish, type RunResult } from './finish.js';
import type { Runtime } from './policy.js';
import { start } from './start.js';

export const LOG_FILE = 'log';
export const EXIT_FILE = 'exit.json';

export interface DetachOptions {
  /** Rotate the log before it passes this many bytes; 0: never. */
  logSize: number;
  /** Rotated files kept beside the log. */
  logFiles: number;
  /**
   * What the shim execs once the process has ended and the exit file is written: the front
   * end's own command that calls reap() ([PATH, ARG...]; `--` may not be one of them).
   */
  exitCommand: string[];
  describe?: CreateOptions['describe'];
  /** The record is prepared already (the --pipeline stages made it). */
  prepared?: boolean;
  /**
   * Keep its stdin open (docker's -d -i): a pipe whose other end the shim holds, so a
   * shell reading it waits instead of reading end of file from /dev/null.
   */
  openStdin?: boolean;
}

/** Creates and starts `container` under diyc-shim; returns once its command runs. */
export async function runDetached(rt: Runtime, container: Container, record: ContainerRecord, options: DetachOptions): Promise<void> {
  // One pipe for stdout and stderr: the log keeps them in the order they were written.
  const [read, write] = pipe();
  // stdin: a pipe never written to, whose write end only the shim keeps (docker's -d -i),
  // or that is closed here (end of file at once). Not /dev/null: that is the host's own
  // inode, and root inside could chmod it for the whole host through /proc/1/fd/0.
  const [input, writeEnd] = pipe();
  let held: number | undefined = writeEnd;
  if (!options.openStdin) {
    closeSync(writeEnd);
    held = undefined;
  }
  try {
    const argv = supervisorArgv({
      stdoutFd: read,
      log: join(container.dir, LOG_FILE),
      logSize: options.logSize,
      logFiles: options.logFiles,
      exitFile: join(container.dir, EXIT_FILE),
      exitCommand: options.exitCommand,
    });
    await create(rt, container, record, {
      stdio: [input, write, write],
      supervisor: { argv, keepFds: held === undefined ? [read] : [read, held] },
      ...(options.describe ? { describe: options.describe } : {}),
      ...(options.prepared ? { prepared: true } : {}),
    });
  } catch (err) {
    // The user is back at the prompt: say which container it was.
    if (isDiycError(err, 'start'))
      throw new DiycError('start', `container ${container.name} did not start: ${err.message}`, {
        cause: err,
        ...(err.exitCode !== undefined ? { exitCode: err.exitCode } : {}),
      });
    throw err;
  } finally {
    for (const fd of [read, write, input, held]) if (fd !== undefined) closeSync(fd);
  }
  await start(rt, container);
}

/**
 * What the shim's exit command calls: the container's process has ended and the shim
 * wrote how. Records it and undoes the container's stages (or removes it: `remove`).
 */
export function reap(rt: Runtime, container: Container, remove: boolean): RunResult {
  const file = join(container.dir, EXIT_FILE);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    /* the shim died before it could write: a status unknown */
  }
  const exit = parseShimExit(text);
  if (!exit && text !== '') throw new DiycError('invalid', `${file} is not an exit file of diyc-shim`);
  return finish(rt, container, exit ?? { code: 255, signal: null }, { remove });
}
