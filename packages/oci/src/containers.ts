// diyc-oci's containers in the core's terms: IDs as runc takes them, one directory each
// under --root (default /run/diyc-oci), and the OCI policy. What state, list, kill, ps,
// update and events need, and no more: they load none of the stages (issue 22).
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Container, listContainers, OCI_POLICY, type Runtime } from '@diyc/container/lite';
import { DiycError } from '@diyc/record';
import type { OciContext } from './cli.js';

/** Container IDs as runc takes them: letters, digits, _ . + -, as one path component. */
export function checkId(id: string | undefined): string {
  if (id === undefined || id === '') throw new DiycError('usage', 'container id cannot be empty');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(id) || id.length > 255)
    throw new DiycError('invalid', `invalid container ID '${id}': use letters, digits, '_', '.', '+' and '-'`);
  return id;
}

export function ociContainer(root: string, id: string | undefined): Container {
  const checked = checkId(id);
  return new Container(checked, join(root, checked));
}

/**
 * Makes this process use the cgroup driver `container` was created with. podman gives
 * --systemd-cgroup only to what conmon runs (create, exec), not to its own calls of
 * state, pause, resume, update, kill and delete: without this, those took a systemd
 * scope's "slice:prefix:name" for a cgroupfs path, found no cgroup, and left it frozen
 * or alive. A container from before the driver was recorded keeps the flag's.
 */
export function adoptCgroupDriver(container: Container): Container {
  const driver = container.state()?.cgroupDriver;
  if (driver === 'systemd') process.env.DIYC_CGROUP_DRIVER = 'systemd';
  else if (driver === 'cgroupfs') delete process.env.DIYC_CGROUP_DRIVER;
  return container;
}

/** The container, which must exist (the words engines match: "does not exist"), with its cgroup driver adopted. */
export function existingContainer(root: string, id: string | undefined): Container {
  const container = ociContainer(root, id);
  if (!container.state()) throw new DiycError('not-found', `container ${id} does not exist`);
  return adoptCgroupDriver(container);
}

/** The IDs of the containers under `root`. */
export function listIds(root: string): string[] {
  return listContainers(root);
}

/** The runtime of container `id` under the OCI policy. */
export function ociRuntime(ctx: OciContext, id: string): Runtime {
  return {
    name: id,
    root: ctx.root,
    trace: ctx.trace,
    warn: ctx.warn,
    policy: OCI_POLICY,
    strict: true,
    seccompCache: join(ctx.root, 'seccomp'),
  };
}

/**
 * `delete` of a container that has no state: a directory left by a create that died before
 * writing it is removed, as runc does; without --force it does not exist. Returns false
 * when the container exists, for lifecycle.ts's delete, which loads the stages: containerd's
 * `delete --force` after its `delete` loads none of them (issue 22).
 */
export function deleteStateless(root: string, id: string | undefined, force: boolean): boolean {
  const container = ociContainer(root, id);
  if (container.state()) return false;
  if (existsSync(container.dir)) rmSync(container.dir, { recursive: true, force: true });
  if (force) return true;
  throw new DiycError('not-found', `container ${id} does not exist`);
}
