// `diyc-oci run`: create, start, wait and delete in one command, as `runc run` (what a
// person types after `diyc-oci spec`). In the foreground the process stays this process's
// child and its stdio is proxied here (a pty of its own with process.terminal): its exit
// status is ours, and signals are passed on. --keep leaves the stopped container to a
// later `delete` (its state and cgroup stay); --detach leaves it running, as create + start.
import { wait } from '@diyc/container';
import type { OciContext } from './cli.js';
import { createContainer, deleteContainer, ociRuntime, startContainer, type OciCreateOptions } from './lifecycle.js';

export interface RunOptions extends OciCreateOptions {
  detach: boolean;
  keep?: boolean;
}

export async function runContainer(ctx: OciContext, id: string | undefined, options: RunOptions): Promise<number> {
  const { detach, keep, ...create } = options;
  const created = await createContainer(ctx, id, { ...create, foreground: !detach });
  const { container } = created;
  // Signals are forwarded from before the start: none can end this process and orphan it.
  const exited = detach ? undefined : wait(ociRuntime(ctx, container.name), created);
  try {
    await startContainer(ctx, container.name);
  } catch (err) {
    // No half-made container is left: a failed start (a startContainer hook) removes it.
    created.child.kill('SIGKILL');
    await exited;
    await deleteContainer(ctx, container.name, true);
    throw err;
  }
  if (!exited) return 0;
  const { exitCode } = await exited;
  ctx.log.debug('process exited', { pid: created.child.pid, status: exitCode });
  if (!keep) await deleteContainer(ctx, container.name, true);
  return exitCode;
}
