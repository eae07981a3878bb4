// start: a created container's process runs its command. The startContainer hooks run in
// its namespaces first; one byte on the start FIFO lets the process execve; the poststart
// hooks run after (a failing one is only a warning, as the spec asks).
import { closeSync, constants, openSync, unlinkSync, writeSync } from 'node:fs';
import { DiycError } from '@diyc/record';
import type { Container } from './container.js';
import { recordNamespaces } from './create.js';
import { runHooks } from './hooks.js';
import { ociState } from './oci-state.js';
import type { Runtime } from './policy.js';
import { canStart } from './status.js';

export async function start(rt: Runtime, container: Container): Promise<void> {
  const status = container.status();
  if (!canStart(status)) throw new DiycError('state', `cannot start container ${container.name}: it is ${status}, not created`);
  const record = container.record();
  const pid = container.state()?.pid as number;
  await runHooks('startContainer', record?.hooks, ociState(container, 'created'), { inside: { pid, namespaces: record ? recordNamespaces(record) : [] } });
  container.locked(() => {
    // Opening for writing without blocking finds the waiting process, or says it is gone.
    let fd: number;
    try {
      fd = openSync(container.fifoPath, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw new DiycError('state', `cannot start container ${container.name}: its process is not waiting (${(err as NodeJS.ErrnoException).code})`);
    }
    try {
      writeSync(fd, Buffer.from([0]));
    } finally {
      closeSync(fd);
    }
    unlinkSync(container.fifoPath);
    container.refresh().transition('running', { startedAt: new Date().toISOString() });
  });
  rt.trace(`started ${container.name}: ${record?.process.args.join(' ') ?? ''}`);
  await runHooks('poststart', record?.hooks, ociState(container, 'running'), { warnOnly: (m) => rt.warn(`poststart: ${m}`) });
}
