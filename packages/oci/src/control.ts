// kill, pause and resume: signals and the freezer, as runc words them.
import { kill, pause } from '@diyc/container/lite';
import { DiycError } from '@diyc/record';
import type { OciContext } from './cli.js';
import { existingContainer } from './containers.js';
import { parseSignal } from './signal.js';

/** `kill ID [SIGNAL]`: runc's signal names and numbers (0 checks), --all to every process. */
export function killContainer(ctx: OciContext, id: string | undefined, signal: string | undefined, all: boolean): void {
  const container = existingContainer(ctx.root, id);
  kill(container, parseSignal(signal), { all });
}

/** `pause` and `resume`: the freezer, in runc's words. */
export function pauseContainer(ctx: OciContext, id: string | undefined, paused: boolean): void {
  const container = existingContainer(ctx.root, id);
  const status = container.status();
  if (paused && status !== 'running') throw new DiycError('state', 'container not running');
  if (!paused && status !== 'paused') throw new DiycError('state', 'container not paused');
  pause(container, paused);
}
