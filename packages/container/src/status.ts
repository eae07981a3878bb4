// A container's status, one vocabulary for diyc-run and diyc-oci (the OCI runtime spec's,
// https://github.com/opencontainers/runtime-spec/blob/main/runtime.md#state), and the only
// ways it may change: a guarded state machine, as youki's ContainerStatus::can_* and
// runc's containerState.transition().
//
//   creating ──► created ──► running ◄──► paused
//      │            │           │           │
//      └────────────┴───────────┴───────────┴──► stopped ──► creating (diyc-run runs it again)
import { DiycError } from '@diyc/record';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

const NEXT: Readonly<Record<Status, readonly Status[]>> = {
  creating: ['created', 'stopped'],
  created: ['running', 'stopped'],
  running: ['paused', 'stopped'],
  paused: ['running', 'stopped'],
  // A stopped container keeps its files: diyc-run makes it again over them.
  stopped: ['creating'],
};

/** `start`: only a created container, whose process waits before its command. */
export const canStart = (status: Status): boolean => status === 'created';
/** `kill`: a container with a process to signal. */
export const canKill = (status: Status): boolean => status === 'created' || status === 'running' || status === 'paused';
/** `delete` without --force: nothing of it runs (a created one's held process is ended). */
export const canDelete = (status: Status): boolean => status === 'stopped' || status === 'created';
export const canPause = (status: Status): boolean => status === 'running';
export const canResume = (status: Status): boolean => status === 'paused';
/** `exec`: its namespaces exist (runc lets a created container be joined too). */
export const canExec = (status: Status): boolean => status === 'running' || status === 'created';

/** Whether `from` may become `to`. */
export function canTransition(from: Status, to: Status): boolean {
  return NEXT[from].includes(to);
}

/** Throws the 'state' error a user sees when `from` cannot become `to`. */
export function checkTransition(name: string, from: Status, to: Status): void {
  if (!canTransition(from, to)) throw new DiycError('state', `container ${name} is ${from}: it cannot become ${to}`);
}
