// `diyc-oci run`: create, start, wait and delete in one command, as `runc run` (what a
// person types after `diyc-oci spec`). In the foreground the process stays this process's
// child and its stdio is proxied here (a pty of its own with process.terminal): its exit
// status is ours, and signals are passed on. With --detach it is left running, as after
// create + start.
import { wait } from '@diyc/container';
import { createContainer, deleteContainer, ociRuntime, startContainer, type OciContext, type OciCreateOptions } from './lifecycle.js';

export async function runContainer(ctx: OciContext, id: string | undefined, options: OciCreateOptions & { detach: boolean }): Promise<number> {
  const { detach, ...create } = options;
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
  await deleteContainer(ctx, container.name, true);
  return exitCode;
}
