// Where diyc keeps its state (DESIGN.md: "State").
import { chmodSync, mkdirSync, statSync } from 'node:fs';
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

/**
 * Makes `dir` (and its parents) and keeps it to its owner, root (0700). It holds image
 * layers or containers' files: an image's setuid-root program or device node (or one a
 * container made) there would be open to every user of the host, as Docker keeps
 * /var/lib/docker to root. One that exists is narrowed: it is diyc's own.
 */
export function privateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}
