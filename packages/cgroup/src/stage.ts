// The cgroup stage of the pipeline, and how a container's end is told from its stats.
import { ANNOTATION, DiycError, nameProblem, stageCopy, type ContainerRecord, type Stage, type StageContext } from '@diyc/record';
import type { CgroupManager, Stats } from './manager.js';
import { flagsOfResources } from './resources.js';
import { cgroupDriver, managerForPath } from './select.js';
import { cgroupPath } from './path.js';
import { formatSize } from './size.js';

/** The cgroup a record names, or diyc's own for the container. */
export function cgroupOf(record: ContainerRecord, name: string, manager: CgroupManager): string {
  return record.linux.cgroupsPath ?? manager.pathOf(name);
}

/**
 * Whether a container may be made in cgroup `path`, checked before anything is made
 * (runc's factory does the same, with the same words):
 * - frozen (or under a frozen parent): refused. The first process writes itself into
 *   cgroup.procs and would freeze there at once, before it could report: create hung.
 * - processes in it already: a warning, as runc 1.1 gives for a cgroup an engine chose
 *   ("the containers of a pod share it"); refused with `nonEmpty: 'refuse'`, which diyc's
 *   own cgroups get (/diyc/NAME holds only that container).
 */
export function checkCgroupUsable(
  manager: CgroupManager,
  path: string,
  options: { nonEmpty: 'warn' | 'refuse'; warn: (message: string) => void },
): void {
  if (manager.frozen(path)) {
    throw new DiycError(
      'state',
      `container's cgroup unexpectedly frozen: ${path} is frozen; thaw it (or its parent) first, or choose another cgroupsPath`,
    );
  }
  if (!manager.exists(path)) return;
  const pids = manager.pids(path);
  if (pids.length === 0) return;
  const message = `container's cgroup is not empty: ${pids.length} process(es) found in ${path}`;
  if (options.nonEmpty === 'refuse')
    throw new DiycError('state', `${message}: stop them first (diyc-cgroup rm --force ${path.split('/').pop()})`);
  options.warn(message);
}

/**
 * The cgroups this process refused to make a container in: not the stage's to remove
 * when the failed create unwinds (runc's own test rmdirs the frozen cgroup it made).
 */
const refused = new Set<string>();

/**
 * Makes the container's cgroup with the limits the record asks (linux.resources) and
 * records it: linux.cgroupsPath, and the cgroup.procs files its first process joins.
 */
export function cgroupStageWith(manager: (record: ContainerRecord) => CgroupManager): Stage {
  return {
    name: 'cgroup',
    package: '@diyc/cgroup',
    applies: () => true,
    apply(record: ContainerRecord, ctx: StageContext): ContainerRecord {
      const cgroups = manager(record);
      const path = cgroupOf(record, ctx.name, cgroups);
      // The cgroup.procs files travel ':'-joined (the first process and exec join each): a
      // cgroupfs path holding ':' (a legal name there) would split into other cgroups'
      // files, and the process would join those. (systemd's "slice:prefix:name" is not a
      // path: its cgroup is the scope's.) Refused before anything is made.
      if (!cgroups.placesProcesses && (path.includes(':') || path.includes('\n')))
        throw new DiycError(
          'invalid',
          `cgroup path '${path}' holds ':' or a line break, by which diyc cannot place a process: choose another`,
        );
      try {
        checkCgroupUsable(cgroups, path, {
          nonEmpty: nameProblem(ctx.name) === null && path === cgroups.pathOf(ctx.name) ? 'refuse' : 'warn',
          warn: ctx.warn,
        });
      } catch (err) {
        refused.add(path);
        throw err;
      }
      try {
        cgroups.create(path);
      } catch (err) {
        // Another container's undo removed diyc's parent, empty, between our mkdir of it
        // and of the cgroup: make both again.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        cgroups.create(path);
      }
      const { applied, skipped, ignored = [] } = cgroups.apply(path, record.linux.resources ?? {});
      for (const s of ignored) ctx.warn(`ignored: ${s}`);
      if (skipped.length > 0 && ctx.strict) {
        cgroups.remove(path, { force: true });
        throw new DiycError('unsupported', `linux.resources cannot be applied on this machine: ${skipped.join('; ')}`);
      }
      for (const s of skipped) ctx.warn(`not applied: ${s}`);
      ctx.trace(`cgroup: ${path}${applied.length ? ` (${applied.join(', ')})` : ''}`);
      const next = stageCopy(record);
      next.linux.cgroupsPath = path;
      next.annotations[ANNOTATION.cgroupProcs] = cgroups.procsFiles(path).join(':');
      return next;
    },
    undo(record: ContainerRecord, ctx: StageContext): void {
      const cgroups = manager(record);
      const path = cgroupOf(record, ctx.name, cgroups);
      if (refused.has(path)) return;
      if (cgroups.exists(path)) cgroups.remove(path, { force: true });
      // diyc's own parent goes with its last container: nothing of diyc stays in the
      // machine's cgroup tree. A path an engine chose (and its IDs, which need not be
      // diyc names) is not diyc's to prune.
      if (nameProblem(ctx.name) === null && path === cgroups.pathOf(ctx.name)) {
        try {
          cgroups.pruneParent();
        } catch {
          /* a container was made under it meanwhile */
        }
      }
    },
    why(record: ContainerRecord, ctx: StageContext, signal: number | null): string | undefined {
      const cgroups = manager(record);
      const path = cgroupOf(record, ctx.name, cgroups);
      return cgroups.exists(path) ? deathReason(cgroups.stats(path), signal) : undefined;
    },
    command(record: ContainerRecord, ctx: Pick<StageContext, 'name'>) {
      return { bin: 'diyc-cgroup', args: ['create', ctx.name, ...flagsOfResources(record.linux.resources)] };
    },
  };
}

export const cgroupStage: Stage = cgroupStageWith((record) => managerForPath(record.linux.cgroupsPath));

/**
 * Places the container's first process, `pid`, in its cgroup, where the process cannot
 * enter by itself: with the systemd driver the scope is started with it. Call it after
 * the process exists and before it is let run (diyc-oci create: after spawn, before
 * release). Nothing to do for cgroupfs, where the process writes itself into cgroup.procs.
 */
export function placeProcess(
  record: ContainerRecord,
  pid: number,
  manager: CgroupManager = managerForPath(record.linux.cgroupsPath),
): void {
  if (!manager.placesProcesses || record.linux.cgroupsPath === undefined) return;
  manager.add(record.linux.cgroupsPath, pid);
}

/**
 * diyc-oci's cgroupsPath for container ID under the driver asked: the config's, or
 * runc's default (/diyc-oci/ID for cgroupfs; system.slice:diyc:ID for systemd).
 */
export function defaultCgroupsPath(cgroupsPath: string | undefined, id: string, driver: 'cgroupfs' | 'systemd' = cgroupDriver()): string {
  if (cgroupsPath !== undefined && cgroupsPath !== '') return driver === 'systemd' ? cgroupsPath : cgroupPath(cgroupsPath);
  return driver === 'systemd' ? `system.slice:diyc:${id}` : `/diyc-oci/${id}`;
}

/**
 * Why a container died, when its cgroup knows: "out of memory (limit 10M)" after the
 * OOM killer ended a process of it. Read this before the cgroup is removed.
 */
export function deathReason(stats: Stats, signal: number | null): string | undefined {
  if ((stats.oomKills ?? 0) > 0) {
    const limit = stats.memoryLimitBytes !== undefined ? ` (limit ${formatSize(stats.memoryLimitBytes)})` : '';
    return `out of memory${limit}`;
  }
  return signal === 9 ? 'killed by SIGKILL' : undefined;
}
