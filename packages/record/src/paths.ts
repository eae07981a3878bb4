// Where diyc keeps its state (ARCHITECTURE.md: "State on disk").
import { chmodSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { checkName } from './names.js';

// node:crypto costs about 3 ms to load: only when a root other than the default is named.
const require = createRequire(import.meta.url);
const sha256 = (text: string): string =>
  (require('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(text).digest('hex');

export const DEFAULT_ROOT = '/var/lib/diyc';

/** The state root: $DIYC_ROOT, or /var/lib/diyc. */
export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.DIYC_ROOT && env.DIYC_ROOT.length > 0 ? env.DIYC_ROOT : DEFAULT_ROOT;
}

/** The root as the kernel sees it: symlinks resolved where the root exists. */
function canonicalRoot(root: string): string {
  try {
    return realpathSync(root);
  } catch {
    return resolve(root);
  }
}

/**
 * What the kernel objects of a state root carry in their names, so that two roots on one
 * machine never share one: network namespaces, veths, the cgroup parent, iptables
 * comments. Empty for the default root (whose names stay diyC's: `diyc-NAME`), else 8 hex
 * digits of a hash of the root's real path. diyc-oci's roots have a default of their own.
 */
export function rootTag(root: string = stateRoot(), defaultRoot: string = DEFAULT_ROOT): string {
  const real = canonicalRoot(root);
  if (real === canonicalRoot(defaultRoot)) return '';
  return sha256(real).slice(0, 8);
}

/** `diyc-NAME` for the default root, `diyc-TAG-NAME` for any other: a kernel object's name. */
export function kernelName(name: string, root: string = stateRoot()): string {
  const tag = rootTag(root);
  return tag === '' ? `diyc-${name}` : `diyc-${tag}-${name}`;
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
