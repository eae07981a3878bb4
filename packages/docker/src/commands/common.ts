// What the commands of diyc share: the -v trace, root, several containers in one command
// (docker goes on after one fails, and exits 1), and the views of the containers.
import { createTrace, writeErr, writeOut } from '@diyc/cli';
import { DiycError, stateRoot, type Trace } from '@diyc/record';
import { allContainers, findContainer } from '../containers.js';
import { viewOf, type ContainerView } from '../view.js';

export const debug = { type: 'boolean', alias: 'D', description: 'trace each step (HOST| and CONTAINER| lines)' } as const;

export function traceOf(flags: Record<string, unknown>): Trace {
  return createTrace(flags.debug === true);
}

/** Containers, namespaces and mounts need root. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new DiycError('missing', 'diyc needs root (namespaces, mounts, cgroups, network): run it with sudo');
}

/**
 * Runs `fn` on each container named, as docker does: what it returns is printed (the name
 * as given), an error is said on stderr and the others still run; exit 1 if one failed.
 */
export async function eachContainer(
  targets: string[],
  fn: (view: ContainerView, text: string) => Promise<string | undefined> | string | undefined,
): Promise<number> {
  let failed = false;
  for (const text of targets) {
    try {
      const { container, state } = findContainer(text, stateRoot());
      const line = await fn(viewOf(container, state), text);
      if (line !== undefined) writeOut(`${line}\n`);
    } catch (err) {
      failed = true;
      writeErr(`diyc: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  return failed ? 1 : 0;
}

/** Every container of the state root, as docker shows them. */
export function allViews(root: string = stateRoot()): ContainerView[] {
  return allContainers(root).map(({ container, state }) => viewOf(container, state));
}

export function need(operands: string[], what: string, command: string): string[] {
  if (operands.length === 0) throw new DiycError('usage', `"diyc ${command}" requires at least 1 argument: ${what}`);
  return operands;
}
