// start: a created container's process runs its command. One byte on the start FIFO lets
// the process go on: it runs the startContainer hooks itself (under its seccomp filter,
// right before its execve, as runc's init does), with the state sent behind the byte;
// then it execs. The poststart hooks run after (a failing one is only a warning, as the
// spec asks).
import { closeSync, constants, openSync, unlinkSync, writeSync } from 'node:fs';
import { DiycError } from '@diyc/record';
import type { Container } from './container.js';
import { runHooks } from './hooks.js';
import { ociState } from './oci-state.js';
import type { Runtime } from './policy.js';
import { canStart } from './status.js';

/**
 * What goes down the start FIFO (child.cc): 0; or, for startContainer hooks, 1, the
 * state's length (4 bytes, this machine's order) and the state's JSON.
 */
export function startMessage(state: object | undefined): Buffer {
  if (state === undefined) return Buffer.from([0]);
  const json = Buffer.from(JSON.stringify(state));
  const length = Buffer.alloc(4);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) length.writeUInt32LE(json.length);
  else length.writeUInt32BE(json.length);
  return Buffer.concat([Buffer.from([1]), length, json]);
}

/**
 * Writes all of `data` to a non-blocking FIFO whose reader is reading it: a state larger
 * than the pipe's buffer goes in as the process makes room (EAGAIN: wait a little).
 */
function writeAll(fd: number, data: Buffer): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let off = 0, waits = 0; off < data.length; ) {
    try {
      off += writeSync(fd, data, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || ++waits > 10_000) throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

export async function start(rt: Runtime, container: Container): Promise<void> {
  const status = container.status();
  if (!canStart(status)) throw new DiycError('state', `cannot start container ${container.name}: it is ${status}, not created`);
  const record = container.record();
  const message = startMessage(record?.hooks?.startContainer?.length ? ociState(container, 'created') : undefined);
  container.locked(() => {
    // Opening for writing without blocking finds the waiting process, or says it is gone.
    let fd: number;
    try {
      fd = openSync(container.fifoPath, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw new DiycError(
        'state',
        `cannot start container ${container.name}: its process is not waiting (${(err as NodeJS.ErrnoException).code})`,
      );
    }
    try {
      writeAll(fd, message);
    } finally {
      closeSync(fd);
    }
    unlinkSync(container.fifoPath);
    container.refreshState().transition('running', { startedAt: new Date().toISOString() });
  });
  rt.trace(`started ${container.name}: ${record?.process.args.join(' ') ?? ''}`);
  await runHooks('poststart', record?.hooks, ociState(container, 'running'), { warnOnly: (m) => rt.warn(`poststart: ${m}`) });
}
