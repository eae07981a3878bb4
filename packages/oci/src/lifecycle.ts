// create, start and delete: runc's lifecycle as calls of @diyc/container (which then loads
// all of the stages), with runc's checks and words around them.
import { existsSync } from 'node:fs';
import { cgroupDriver, createCgroupManager, defaultCgroupsPath } from '@diyc/cgroup';
import * as core from '@diyc/container';
import type { Created, CreateOptions } from '@diyc/container';
import { DiycError, rootTag } from '@diyc/record';
import { loadBundle } from './bundle.js';
import { DEFAULT_ROOT, type OciContext } from './cli.js';
import { writeFrontPlan } from './front-plan.js';
import { adoptCgroupDriver, deleteStateless, existingContainer, ociContainer, ociRuntime } from './containers.js';

export { DEFAULT_ROOT };
export { checkId, existingContainer, listIds, ociContainer, ociRuntime } from './containers.js';

/**
 * The cgroup of a container: its config's, or diyc-oci's default (runc's form for the
 * driver), whose parent carries a tag of --root when it is not the default, so that two
 * roots never share one.
 */
function cgroupsPathOf(asked: string | undefined, root: string, id: string): string {
  const path = defaultCgroupsPath(asked, id);
  // The tag is a hash (node:crypto, ~5 ms to load): made only for the default's path.
  if (asked || cgroupDriver() === 'systemd') return path;
  const tag = rootTag(root, DEFAULT_ROOT);
  if (tag === '') return path;
  return path.replace(/^\/diyc-oci\//, `/diyc-oci-${tag}/`);
}

export interface OciCreateOptions extends Omit<CreateOptions, 'bundle' | 'describe'> {
  bundle: string;
}

/**
 * runc's checkTerminal: a process with a terminal that diyc-oci does not wait for needs a
 * console socket to send the pty to, and a console socket needs both.
 */
export function checkTerminal(terminal: boolean, detach: boolean, consoleSocket: string | undefined): void {
  if (detach && terminal && consoleSocket === undefined)
    throw new DiycError('usage', 'cannot allocate tty if diyc-oci will detach without setting console socket');
  if ((!detach || !terminal) && consoleSocket !== undefined)
    throw new DiycError('usage', 'cannot use console socket if diyc-oci will not detach or allocate tty');
}

/** `create`: the bundle's config.json read and checked, then the core's create. */
export async function createContainer(ctx: OciContext, id: string | undefined, options: OciCreateOptions): Promise<Created> {
  const container = ociContainer(ctx.root, id);
  const { dir, record } = loadBundle(options.bundle, ctx.warn);
  checkTerminal(record.process.terminal === true, options.foreground !== true, options.consoleSocket);
  // runc's ErrV1NoUnified: the unified map is cgroup v2's files, which v1 has not.
  const unified = record.linux.resources?.unified;
  if (unified && Object.keys(unified).length > 0 && !existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    throw new DiycError('invalid', 'invalid configuration: cannot use unified on cgroup v1');
  }
  record.linux.cgroupsPath = cgroupsPathOf(record.linux.cgroupsPath, ctx.root, container.name);
  let created: Created;
  try {
    created = await core.create(ociRuntime(ctx, container.name), container, record, {
      ...options,
      bundle: dir,
      describe: { cgroupDriver: cgroupDriver() },
    });
  } catch (err) {
    // The core undid its stages; the parent made for this --root goes too, if it was the last.
    pruneRootParent(ctx, record.linux.cgroupsPath);
    throw err;
  }
  const made = container.record();
  if (made) writeFrontPlan(container.dir, container.name, made, rootParentOf(ctx, made.linux.cgroupsPath));
  // runc's debug lines at these points (its integration suite greps them): by now the
  // process was cloned into its namespaces, ran its setup, and told us so on its sync pipe.
  if (ctx.log.debugging) {
    const pid = created.child.pid;
    ctx.log.debug(`nsexec container setup: pid ${pid} cloned, in its namespaces`, { pid });
    ctx.log.debug(`child process in init(): mounts, root, user and filters in place, held before execve(2)`, { pid });
    ctx.log.debug('init: closing the pipe to signal completion: ready, waiting on exec.fifo for start', { pid });
  }
  return created;
}

export async function startContainer(ctx: OciContext, id: string | undefined): Promise<void> {
  const container = existingContainer(ctx.root, id);
  const status = container.status();
  // runc's words for a container that cannot start.
  if (status === 'stopped') throw new DiycError('state', 'cannot start a container that has stopped');
  if (status === 'running' || status === 'paused') throw new DiycError('state', 'cannot start an already running container');
  await core.start(ociRuntime(ctx, container.name), container);
}

/**
 * `delete`: a stopped or created container's state, cgroup and mounts removed; a running
 * one only with --force (SIGKILL first). A directory left by a create that died before
 * its state is removed too, as runc does.
 */
export async function deleteContainer(ctx: OciContext, id: string | undefined, force: boolean): Promise<void> {
  if (deleteStateless(ctx.root, id, force)) return;
  const container = adoptCgroupDriver(ociContainer(ctx.root, id));
  const path = container.record()?.linux.cgroupsPath;
  await core.remove(ociRuntime(ctx, container.name), container, { force });
  pruneRootParent(ctx, path);
}

/** The cgroup parent diyc-oci made for this --root (diyc-oci-TAG) when `path` is under it. */
function rootParentOf(ctx: OciContext, path: string | undefined): string | undefined {
  // An engine's own cgroupsPath (containerd's, podman's) needs no tag, nor its hash.
  if (!path?.startsWith('/diyc-oci-') || cgroupDriver() !== 'cgroupfs') return undefined;
  const tag = rootTag(ctx.root, DEFAULT_ROOT);
  return tag !== '' && path.startsWith(`/diyc-oci-${tag}/`) ? `diyc-oci-${tag}` : undefined;
}

/**
 * The parent diyc-oci made for this --root (tagged, not the default's, which engines
 * share) goes with its last container, deleted or failed at create: a test's root leaves
 * no cgroup behind.
 */
function pruneRootParent(ctx: OciContext, path: string | undefined): void {
  const parent = rootParentOf(ctx, path);
  if (parent === undefined) return;
  try {
    createCgroupManager({ parent }).pruneParent();
  } catch {
    /* busy: another container of this root */
  }
}
