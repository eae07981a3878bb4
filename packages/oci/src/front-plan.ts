// What diyc-oci's native front (@diyc/syscalls' oci-front.c) may do for a container without
// starting Node: written by `create` into the container's directory as `front.plan`, read
// by the front at `start`, `kill`, `delete`, `state` and `list` (issue 22: an engine's stop
// of one container was four Node starts). TypeScript decides here, once, with the whole record in hand; the
// front only carries out what the plan says, and hands every other case to this program.
//
//   start          start needs no hook (no startContainer, no poststart)
//   cgroup DIR     one directory of the container's cgroup (each v1 hierarchy's, or v2's)
//   delete         delete of the stopped container is: rmdir each cgroup DIR, remove the
//                  container's directory, then try to rmdir each prune DIR
//   prune DIR      a parent diyc-oci made for this --root, removed once empty
//
// A plan line is a path: a line break in one (a hostile cgroupsPath) means no plan.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cgroupDriver, managerForPath } from '@diyc/cgroup';
import { STAGES } from '@diyc/container';
import { ANNOTATION, nameProblem, type ContainerRecord } from '@diyc/record';
import { ociFrontPath } from '@diyc/syscalls';

export const FRONT_PLAN = 'front.plan';

/**
 * The plan's lines for container `id`, created from `record`. `rootParent` is the cgroup
 * parent diyc-oci made for this --root (diyc-oci-TAG), which delete prunes, if any.
 */
export function frontPlan(id: string, record: ContainerRecord, rootParent: string | undefined): string[] {
  const hooks = record.hooks ?? {};
  const lines: string[] = [];
  if (!hooks.startContainer?.length && !hooks.poststart?.length) lines.push('start');
  const procs = record.annotations[ANNOTATION.cgroupProcs];
  const path = record.linux.cgroupsPath;
  // The cgroup.procs files are joined by ':': a cgroupfs path with one in it (a hostile
  // cgroupsPath, "/x/cgroup.procs:/elsewhere") splits into other directories than its own,
  // which delete would rmdir and status would read. No plan: diyc-oci.js does it all.
  if (path?.includes(':') && cgroupDriver() === 'cgroupfs') return [];
  const dirs = procs ? procs.split(':').map((file) => dirname(file)) : [];
  for (const dir of dirs) lines.push(`cgroup ${dir}`);
  const plainDelete =
    dirs.length > 0 &&
    path !== undefined &&
    !hooks.poststop?.length &&
    cgroupDriver() === 'cgroupfs' &&
    // Only the cgroup stage to undo: no layer of an image, no bridge.
    STAGES.every((stage) => stage.name === 'cgroup' || !stage.applies(record)) &&
    // Mounts on the host side exist only for a container that shares the host's mount namespace.
    (record.root?.path === undefined || record.linux.namespaces.some((ns) => ns.type === 'mount' && ns.path === undefined)) &&
    // diyc's own parent under DIYC_CGROUP_PARENT is pruned by the cgroup stage: left to it
    // (as there, only an ID that is also a diyc name can have its path there).
    !(nameProblem(id) === null && managerForPath(path).pathOf(id) === path) &&
    // The root's parent is pruned where create put the cgroup: right under it.
    (rootParent === undefined || dirname(path) === `/${rootParent}`);
  if (plainDelete) {
    lines.push('delete');
    if (rootParent !== undefined) for (const dir of dirs) lines.push(`prune ${dirname(dir)}`);
  }
  return lines.some((line) => line.includes('\n')) ? [] : lines;
}

/**
 * Writes the plan for container `id` beside its state. It is only a shortcut: a plan that
 * cannot be made or written (a full disk) leaves the front handing every call of this
 * container to Node, and never fails the create.
 */
export function writeFrontPlan(dir: string, id: string, record: ContainerRecord, rootParent: string | undefined): void {
  const file = join(dir, FRONT_PLAN);
  try {
    const lines = frontPlan(id, record, rootParent);
    if (lines.length === 0) return;
    // A prebuilt front packed without its x bits gets them back here, once.
    ociFrontPath();
    // Whole or not at all: the front never reads half a plan.
    writeFileSync(`${file}.tmp`, `${lines.join('\n')}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  } catch {
    rmSync(`${file}.tmp`, { force: true });
  }
}
