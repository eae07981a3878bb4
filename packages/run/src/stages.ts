// The stages of a container, in order: the one table that diyc-run in process, its
// --pipeline, its --dry-run line and diyc-oci's create and delete all walk. Each stage
// is {apply, undo} over the record, in the package that owns its kernel feature: a new
// stage is one file there and one row here.
import { cgroupOf, cgroupStage, createCgroupManager, deathReason } from '@diyc/cgroup';
import type { Trace } from '@diyc/cli';
import { netStage } from '@diyc/net';
import { overlayStage, removeRootfs } from '@diyc/overlay';
import { DiycError, stateRoot, type ContainerRecord, type Stage, type StageContext } from '@diyc/record';

export const STAGES: readonly Stage[] = [overlayStage, cgroupStage, netStage];

export type { StageContext } from '@diyc/record';

/** The context of container NAME's stages, with warnings to stderr as `tool: ...`. */
export function stageContext(name: string, trace: Trace, root: string = stateRoot(), tool = 'diyc-run'): StageContext {
  return { name, root, trace, warn: (m) => process.stderr.write(`${tool}: ${m}\n`) };
}

/** Runs every stage the record asks for, in order; a failure half-way undoes what was done. */
export function prepare(record: ContainerRecord, ctx: StageContext, stages: readonly Stage[] = STAGES): ContainerRecord {
  const done: Stage[] = [];
  let current = record;
  try {
    for (const stage of stages) {
      if (!stage.applies(current)) continue;
      done.push(stage);
      current = stage.apply(current, ctx);
    }
    return current;
  } catch (err) {
    for (const stage of done.reverse()) {
      try { stage.undo(current, ctx); } catch { /* keep unwinding: the first error is the one to report */ }
    }
    throw err;
  }
}

export interface TeardownResult {
  /** Why it died, read from the cgroup before it was removed. */
  reason?: string;
}

/**
 * Runs every stage's inverse, last first (each is idempotent and safe on a stage that
 * never ran), after reading from the cgroup why the container ended. With `remove`, the
 * container's own layer goes too. A failing undo does not stop the others.
 */
export function teardown(record: ContainerRecord | undefined, ctx: StageContext, options: { remove?: boolean; signal?: number | null } = {}): TeardownResult {
  const result: TeardownResult = {};
  const errors: string[] = [];
  const step = (what: string, fn: () => void): void => {
    try {
      fn();
      ctx.trace(`teardown: ${what}`);
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
    }
  };
  const base = record ?? { linux: { namespaces: [] }, annotations: {} } as unknown as ContainerRecord;
  step('read why it ended', () => {
    const cgroups = createCgroupManager();
    const path = cgroupOf(base, ctx.name, cgroups);
    if (!cgroups.exists(path)) return;
    const reason = deathReason(cgroups.stats(path), options.signal ?? null);
    if (reason) result.reason = reason;
  });
  for (const stage of [...STAGES].reverse()) {
    // A stage with nothing to undo for this record (no bridge, no image) is skipped; a
    // record that is missing (killed before config.json was written) undoes them all.
    if (record && !stage.applies(record)) continue;
    step(`undo ${stage.name}`, () => stage.undo(base, ctx));
  }
  if (options.remove) step('remove rootfs', () => removeRootfs(ctx.name, { root: ctx.root }));
  if (errors.length > 0) throw new DiycError('system', `cleaning up ${ctx.name} failed: ${errors.join('; ')}`);
  return result;
}
