// The stages of a container, in order: the one table that diyc-run in process, its
// --pipeline, its --dry-run line and diyc-oci's create and delete all walk. Each stage
// is {apply, undo} over the record (@diyc/record's Stage), in the package that owns its
// kernel feature: a new stage is one file there and one row here. Nothing below names
// a stage.
import { cgroupStage } from '@diyc/cgroup';
import { netStage } from '@diyc/net';
import { overlayStage } from '@diyc/overlay';
import { DiycError, emptyRecord, timed, type ContainerRecord, type Stage, type StageContext } from '@diyc/record';

export const STAGES: readonly Stage[] = [overlayStage, cgroupStage, netStage];

/** Runs every stage the record asks for, in order; a failure half-way undoes what was done. */
export function prepare(record: ContainerRecord, ctx: StageContext, stages: readonly Stage[] = STAGES): ContainerRecord {
  const done: Stage[] = [];
  let current = record;
  try {
    for (const stage of stages) {
      if (!stage.applies(current)) continue;
      done.push(stage);
      const before = current;
      current = timed(ctx.trace, `stage ${stage.name}`, () => stage.apply(before, ctx));
    }
    return current;
  } catch (err) {
    for (const stage of done.reverse()) {
      try {
        stage.undo(current, ctx);
      } catch {
        /* keep unwinding: the first error is the one to report */
      }
    }
    throw err;
  }
}

export interface TeardownOptions {
  /** Also remove what the stages keep between runs (the container's own layer). */
  remove?: boolean;
  /** The signal that ended the container's process, if one did: part of why it ended. */
  signal?: number | null;
  /** false: the stages are not asked why it ended (delete, which records nothing after). */
  why?: boolean;
}

export interface TeardownResult {
  /** Why it ended, when a stage could tell (read before any was undone). */
  reason?: string;
}

/**
 * Runs every stage's inverse, last first, after asking each why the container ended.
 * Each undo is idempotent and safe on a stage that never ran; a record that is missing
 * (its creator was killed before writing it) undoes them all. A failing step does not
 * stop the others: they are reported together.
 */
export function teardown(
  record: ContainerRecord | undefined,
  ctx: StageContext,
  options: TeardownOptions = {},
  stages: readonly Stage[] = STAGES,
): TeardownResult {
  const result: TeardownResult = {};
  const errors: string[] = [];
  const step = (what: string, fn: () => void): void => {
    try {
      timed(ctx.trace, `teardown: ${what}`, fn);
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
    }
  };
  const base = record ?? emptyRecord();
  // A stage with nothing to undo for this record (no bridge, no image) is skipped.
  const asked = stages.filter((stage) => record === undefined || stage.applies(record));
  for (const stage of asked) {
    if (options.why === false || !stage.why || result.reason !== undefined) continue;
    step(`read why it ended (${stage.name})`, () => {
      const reason = stage.why?.(base, ctx, options.signal ?? null);
      if (reason !== undefined) result.reason = reason;
    });
  }
  for (const stage of [...asked].reverse()) step(`undo ${stage.name}`, () => stage.undo(base, ctx));
  if (options.remove) {
    for (const stage of [...asked].reverse()) if (stage.remove) step(`remove ${stage.name}`, () => stage.remove?.(base, ctx));
  }
  if (errors.length > 0) throw new DiycError('system', `cleaning up ${ctx.name} failed: ${errors.join('; ')}`);
  return result;
}
