// The stage contract (ARCHITECTURE.md, "The stage table"): each stage of a container is
// an {apply, undo} pair over the record, in the package that owns its kernel feature, and
// one ordered table lists them (@diyc/container). diyc-run in process, its --pipeline,
// its --dry-run line and diyc-oci's create and delete all walk that table, and none of
// them names a stage.
import type { ContainerRecord } from './record.js';

/** The -v trace: one line a step, tagged with where it runs (HOST or CONTAINER). */
export interface Trace {
  (message: string, tag?: string): void;
  /** False for a trace that writes nothing: skip work done only to describe a step. */
  readonly enabled: boolean;
  /**
   * Starts a timed step and returns what ends it: -v prints the step with its duration,
   * --trace FILE keeps it as a slice. Absent on a trace that keeps no time.
   */
  readonly begin?: (name: string, tag?: string) => () => void;
  /**
   * Steps timed by another process on the same clock (the native child's, CLOCK_MONOTONIC
   * nanoseconds, which is process.hrtime's): a track of their own in --trace FILE.
   */
  readonly slices?: (track: string, pid: number, slices: readonly TimedSlice[]) => void;
}

export interface TimedSlice {
  readonly name: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
}

/**
 * The record a stage's apply returns, before its changes: a copy of `record` in which the
 * stage may set any field of the record, its process, linux, root and annotations. What
 * lies deeper (mounts, namespaces, resources, the seccomp profile) is shared with
 * `record`: a stage replaces it, never changes it in place. structuredClone of a whole
 * record (its seccomp profile: ~18 KB as JSON) was ~0.3 ms of each stage (issue 22).
 */
export function stageCopy(record: ContainerRecord): ContainerRecord {
  return {
    ...record,
    process: { ...record.process },
    linux: { ...record.linux },
    annotations: { ...record.annotations },
    ...(record.root ? { root: { ...record.root } } : {}),
  };
}

/** Runs `fn` as a timed step of `trace` (sync or async): its duration goes where the trace keeps time. */
export function timed<T>(trace: Trace, name: string, fn: () => T, tag?: string): T {
  const end = trace.begin?.(name, tag);
  if (!end) return fn();
  let result: T;
  try {
    result = fn();
  } catch (err) {
    end();
    throw err;
  }
  if (result instanceof Promise) return result.finally(end) as T;
  end();
  return result;
}

export interface StageContext {
  /** The container: diyc-run's NAME, diyc-oci's ID. */
  name: string;
  /** The state root ($DIYC_ROOT): images, layers, leases. */
  root: string;
  trace: Trace;
  /** What could not be done but does not stop the container (a limit not delegated). */
  warn: (message: string) => void;
  /** OCI: what cannot be done as the record asks is an error, never a warning. */
  strict?: boolean;
}

export interface Stage {
  readonly name: string;
  /** The npm package that holds the stage and its bin (where --pipeline finds the bin). */
  readonly package: string;
  /** Whether the record asks anything of this stage. */
  applies(record: ContainerRecord): boolean;
  /** Does the stage's part and returns the record with it: root.path, cgroupsPath, a netns. */
  apply(record: ContainerRecord, ctx: StageContext): ContainerRecord;
  /** Undoes it. Idempotent: safe on a stage that never ran, or ran half-way. */
  undo(record: ContainerRecord, ctx: StageContext): void;
  /**
   * Why the container ended, when this stage can tell (the cgroup counts OOM kills): read
   * before any stage is undone. `signal` is the one that ended its process, if any.
   */
  why?(record: ContainerRecord, ctx: StageContext, signal: number | null): string | undefined;
  /** Removes what the stage keeps between runs (the container's own layer), after undo. */
  remove?(record: ContainerRecord, ctx: StageContext): void;
  /** The command that does the same from a shell, reading the record on stdin (--dry-run). */
  command(record: ContainerRecord, ctx: Pick<StageContext, 'name'>): { bin: string; args: string[] };
}
