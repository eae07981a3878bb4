// diyc-oci's containers in the core's terms: IDs as runc takes them, one directory each
// under --root (default /run/diyc-oci), the OCI policy, and each command of runc's
// lifecycle as one call of @diyc/container.
import { join } from 'node:path';
import { cgroupDriver, defaultCgroupsPath } from '@diyc/cgroup';
import { Container, create, listContainers, OCI_POLICY, remove, start, type Created, type CreateOptions, type Runtime } from '@diyc/container';
import { DiycError, rootTag, type Trace } from '@diyc/record';
import { loadBundle } from './bundle.js';

/** Where podman and containerd look when they give no --root: it must not change. */
export const DEFAULT_ROOT = '/run/diyc-oci';

/** Container IDs as runc takes them: letters, digits, _ . + -, as one path component. */
export function checkId(id: string | undefined): string {
  if (id === undefined || id === '') throw new DiycError('usage', 'missing container ID');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(id) || id.length > 255) throw new DiycError('invalid', `invalid container ID '${id}': use letters, digits, '_', '.', '+' and '-'`);
  return id;
}

export function ociContainer(root: string, id: string | undefined): Container {
  const checked = checkId(id);
  return new Container(checked, join(root, checked));
}

/** The container, which must exist (the error text engines match: "does not exist"). */
export function existingContainer(root: string, id: string | undefined): Container {
  const container = ociContainer(root, id);
  if (!container.state()) throw new DiycError('not-found', `container ${id} does not exist`);
  return container;
}

/** The IDs of the containers under `root`. */
export function listIds(root: string): string[] {
  return listContainers(root);
}

/** What every command of diyc-oci gets from its global flags. */
export interface OciContext {
  root: string;
  trace: Trace;
  warn: (message: string) => void;
}

/** The runtime of container `id` under the OCI policy. */
export function ociRuntime(ctx: OciContext, id: string): Runtime {
  return { name: id, root: ctx.root, trace: ctx.trace, warn: ctx.warn, policy: OCI_POLICY, strict: true, seccompCache: join(ctx.root, 'seccomp') };
}

/**
 * The cgroup of a container: its config's, or diyc-oci's default (runc's form for the
 * driver), whose parent carries a tag of --root when it is not the default, so that two
 * roots never share one.
 */
function cgroupsPathOf(asked: string | undefined, root: string, id: string): string {
  const path = defaultCgroupsPath(asked, id);
  const tag = rootTag(root, DEFAULT_ROOT);
  if (asked || tag === '' || cgroupDriver() === 'systemd') return path;
  return path.replace(/^\/diyc-oci\//, `/diyc-oci-${tag}/`);
}

export interface OciCreateOptions extends Omit<CreateOptions, 'bundle' | 'describe'> {
  bundle: string;
}

/** `create`: the bundle's config.json read and checked, then the core's create. */
export async function createContainer(ctx: OciContext, id: string | undefined, options: OciCreateOptions): Promise<Created> {
  const container = ociContainer(ctx.root, id);
  const { dir, record } = loadBundle(options.bundle, ctx.warn);
  record.linux.cgroupsPath = cgroupsPathOf(record.linux.cgroupsPath, ctx.root, container.name);
  return create(ociRuntime(ctx, container.name), container, record, { ...options, bundle: dir });
}

export async function startContainer(ctx: OciContext, id: string | undefined): Promise<void> {
  const container = existingContainer(ctx.root, id);
  await start(ociRuntime(ctx, container.name), container);
}

export async function deleteContainer(ctx: OciContext, id: string | undefined, force: boolean): Promise<void> {
  const container = ociContainer(ctx.root, id);
  if (!container.state() && !force) throw new DiycError('not-found', `container ${id} does not exist`);
  await remove(ociRuntime(ctx, container.name), container, { force });
}
