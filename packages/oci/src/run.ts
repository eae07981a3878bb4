// `diyc-oci run`: create, start, wait and delete in one command, as `runc run` (what a
// person types after `diyc-oci spec`). The container's process stays this process's child
// (it is not handed to a subreaper), so its exit status is ours; signals are passed on.
// With --detach it is left running, as after create + start.
import { superviseChild } from '@diyc/nsexec';
import { exitCodeOf } from '@diyc/syscalls';
import { createContainer, type CreateOptions } from './create.js';
import { deleteContainer, startContainer } from './lifecycle.js';

export async function runContainer(options: CreateOptions & { detach: boolean }): Promise<number> {
  // In the foreground this process holds the container's stdio: its own pty, proxied to
  // this terminal (process.terminal), or pipes in place of the terminal, as runc run does.
  const { child, stdio } = await createContainer({ ...options, foreground: !options.detach });
  // Signals are forwarded from before the start: none can end this process and orphan it.
  const exited = options.detach ? child.exited : superviseChild(child, stdio ? { stdio } : {});
  const remove = () => deleteContainer(options.root, options.id, true, { trace: options.trace, warn: options.warn });
  try {
    await startContainer(options.root, options.id, options.warn);
  } catch (err) {
    // No half-made container is left: a failed start (a startContainer hook) removes it.
    child.kill('SIGKILL');
    await exited;
    await remove();
    throw err;
  }
  if (options.detach) return 0;
  const status = await exited;
  await remove();
  return exitCodeOf(status);
}
