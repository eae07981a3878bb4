// Where diyc keeps its state (DESIGN.md: "State").
import { join } from 'node:path';
import { checkName } from './names.js';

/** The state root: $DIYC_ROOT, or /var/lib/diyc. */
export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.DIYC_ROOT && env.DIYC_ROOT.length > 0 ? env.DIYC_ROOT : '/var/lib/diyc';
}

export function imagesDir(root = stateRoot()): string {
  return join(root, 'images');
}

export function layersDir(root = stateRoot()): string {
  return join(root, 'layers');
}

export function containersDir(root = stateRoot()): string {
  return join(root, 'containers');
}

/** A container's directory. The name is checked here too: it can never be `../x`. */
export function containerDir(name: string, root = stateRoot()): string {
  return join(containersDir(root), checkName(name, 'container name'));
}

/** Runtime facts (leases, locks): under the state root, so one DIYC_ROOT is one world. */
export function runDir(root = stateRoot()): string {
  return join(root, 'run');
}
