// A controller, a file (as youki's libcgroups): each reads the part of the OCI resources
// it owns and writes it into a cgroup directory, saying what it applied and, when the
// machine cannot do it, what it left and why. The manager decides where the directory is.
import type { Resources } from '@diyc/record';

export interface Applied {
  /** What was set, for people: "memory 10M", "no swap". */
  applied: string[];
  /** What could not be, and why: the caller warns (diyc-run) or refuses (diyc-oci). */
  skipped: string[];
  /**
   * What the kernel has no place for and runc ignores too (kernel memory limits, and on v2
   * swappiness and disableOOMKiller): always a warning, never a refusal, so a config that
   * runs under runc runs under diyc.
   */
  ignored?: string[];
}

export interface Controller {
  /** The cgroup v1 hierarchy it writes to, or v2's controller name ('' when always there). */
  readonly name: string;
  /** Whether `resources` ask anything of it. */
  wants(resources: Resources): boolean;
  apply(dir: string, resources: Resources, out: Applied): void;
}

/** OCI's -1 (and v2's absence) means no limit. */
export const unlimited = (n: number | undefined): boolean => n === undefined || n < 0;
