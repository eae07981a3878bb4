// What happens once a container's first process has ended, and `delete`.
//
//   wait     in the foreground (diyc-run, `diyc-oci run`): forward signals, proxy stdio,
//            wait for the process, then finish
//   finish   its status and why it ended, recorded (stopped); with the teardownOnExit
//            policy (diyc-run) its stages undone, its files kept, or removed with --rm.
//            diyc-shim's exit command calls this too, for a detached container
//   remove   `delete`: a stopped (or, forced, any) container's stages undone and its
//            directory removed, then the poststop hooks
import { superviseChild } from '@diyc/nsexec';
import { removeTree } from '@diyc/overlay';
import { DiycError } from '@diyc/record';
import { exitCodeOf, type ExitStatus } from '@diyc/syscalls';
import type { Container } from './container.js';
import { unmountHostMounts, type Created } from './create.js';
import { runHooks } from './hooks.js';
import { ociState } from './oci-state.js';
import type { Runtime } from './policy.js';
import { killAll, supervisorDone } from './signal.js';
import { teardown } from './stages.js';
import { canDelete } from './status.js';

export interface RunResult {
  status: ExitStatus;
  exitCode: number;
  /** Why it ended, when a stage could tell: "out of memory (limit 10M)". */
  reason?: string;
}

/** Waits for a created (and started) container's process in the foreground, then finishes it. */
export async function wait(rt: Runtime, created: Created, options: { remove?: boolean } = {}): Promise<RunResult> {
  const status = await superviseChild(created.child, created.stdio ? { stdio: created.stdio } : {});
  return finish(rt, created.container, status, options);
}

/**
 * Records that the container's process ended, and why when a stage can tell; with the
 * teardownOnExit policy its stages are undone, and with `remove` its files go too.
 */
export function finish(rt: Runtime, container: Container, status: ExitStatus, options: { remove?: boolean } = {}): RunResult {
  const exitCode = exitCodeOf(status);
  let reason: string | undefined;
  try {
    if (rt.policy.teardownOnExit)
      reason = teardown(container.record(), rt, { remove: options.remove === true, signal: status.signal }).reason;
  } finally {
    container.locked(() => {
      if (options.remove && rt.policy.teardownOnExit) {
        removeTree(container.dir);
        return;
      }
      // Removed meanwhile (diyc-rm -f), or finished by another: nothing to record.
      const now = container.refresh().state();
      if (!now || now.status === 'stopped') return;
      container.transition('stopped', {
        exitCode,
        finishedAt: new Date().toISOString(),
        reason,
        supervisorPid: undefined,
        supervisorStart: undefined,
      });
    });
  }
  return reason ? { status, exitCode, reason } : { status, exitCode };
}

/**
 * `delete`: removes a container: its stages undone, its directory, then the poststop
 * hooks. One that is still running is refused (and left as it is), unless `force`, which
 * kills every process of it first. A missing one with `force` is no error.
 */
export async function remove(rt: Runtime, container: Container, options: { force?: boolean } = {}): Promise<void> {
  if (!container.state()) {
    if (options.force) return;
    throw new DiycError('not-found', `container ${container.name} does not exist`);
  }
  const status = container.status();
  if (status !== 'stopped') {
    if (!options.force && !canDelete(status))
      throw new DiycError('state', `cannot delete container ${container.name} that is not stopped: ${status}`);
    await killAll(container);
    await supervisorDone(container);
  }
  const record = container.record();
  container.locked(() => {
    // Why it ended would be read from its cgroup (~2 ms) for nothing: the state goes too.
    teardown(record, rt, { remove: true, why: false });
    unmountHostMounts(record);
    removeTree(container.dir);
  });
  await runHooks('poststop', record?.hooks, ociState(container, 'stopped'), { warnOnly: (m) => rt.warn(`poststop: ${m}`) });
}
