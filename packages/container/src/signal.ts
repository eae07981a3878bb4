// kill and stop: signals to a container's processes. kill is the OCI operation (one
// signal, to its first process or with `all` to every process of its cgroup); stop is
// docker's and diyc-stop's (a signal that asks, then SIGKILL to all after a timeout).
import { managerForPath, killPids } from '@diyc/cgroup';
import { DiycError } from '@diyc/record';
import { signalIf } from '@diyc/syscalls';
import { type Container, type ContainerState, sameProcess } from './container.js';
import { canKill } from './status.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** kill(2), where a process already gone is no error. */
function signal(pid: number, sig: number): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * `sig` to the container's first process, only while it is the process the container
 * started (its start time, pidStart): once it has ended, its pid may be another's.
 */
function signalFirst(state: ContainerState | undefined, sig: number): void {
  const pid = state?.pid;
  if (pid === undefined) return;
  signalIf(pid, sig, () => sameProcess(pid, state?.pidStart));
}

/**
 * `kill`: `sig` to the container's first process; with `all`, to every process of its
 * cgroup, as runc's `kill --all`: that is also what empties a stopped container whose
 * first process has gone (a pod's shared PID namespace leaves its children running), so it
 * is no error on one. A frozen cgroup is thawed after a SIGKILL, so the processes can die.
 */
export function kill(container: Container, sig: number, options: { all?: boolean } = {}): void {
  if (options.all) {
    const path = container.record()?.linux.cgroupsPath;
    if (!path) return;
    const cgroups = managerForPath(path);
    if (!cgroups.exists(path)) return;
    // Frozen while signalled (runc's signalAllProcesses), so no process can fork one that
    // is not signalled; thawed after, unless it was paused and the signal is not SIGKILL.
    const paused = container.frozen();
    if (!paused) tryFreeze(cgroups, path, true);
    for (const pid of cgroups.pids(path)) signal(pid, sig);
    if (!paused || sig === 9) tryFreeze(cgroups, path, false);
    return;
  }
  // Read here, not for --all: the status asks the freezer too (the record, the cgroup
  // managers), which --all does once itself (issue 22).
  const status = container.status();
  if (!canKill(status)) throw new DiycError('state', `container ${container.name} is ${status}: container not running`);
  signalFirst(container.state(), sig);
  // A v1 frozen process dies of SIGKILL only once thawed (runc thaws for SIGKILL alone).
  if (status === 'paused' && sig === 9) {
    const path = container.record()?.linux.cgroupsPath;
    if (path) tryFreeze(managerForPath(path), path, false);
  }
}

/** Freezes or thaws, where a cgroup without a freezer simply is not. */
function tryFreeze(cgroups: ReturnType<typeof managerForPath>, path: string, frozen: boolean): void {
  try {
    cgroups.freeze(path, frozen);
  } catch {
    /* no freezer (or the cgroup went): signalled as it is */
  }
}

/** SIGKILL to every process of the container; returns once its first process is gone (or after 5 s). */
export async function killAll(container: Container): Promise<void> {
  const path = container.record()?.linux.cgroupsPath;
  if (path && container.frozen()) managerForPath(path).freeze(path, false);
  killPids(container.pids());
  for (let i = 0; i < 250 && container.processAlive(); i++) await sleep(20);
}

/**
 * `stop`: `sig` to the first process, then SIGKILL to every process after `timeoutSeconds`;
 * then waits for the container's supervisor, if it has one, to finish it. Returns its
 * state after.
 */
export async function stop(container: Container, sig: number, timeoutSeconds: number): Promise<ContainerState | undefined> {
  const state = container.state();
  if (!container.isRunning() || state?.pid === undefined) return state;
  signalFirst(state, sig);
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline && container.processAlive()) await sleep(20);
  if (container.processAlive()) await killAll(container);
  await supervisorDone(container);
  return container.refresh().state();
}

/** Waits (at most 10 s) for the container's supervisor, if it has one, to finish it once its process is gone. */
export async function supervisorDone(container: Container): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const now = container.refresh().state();
    if (!now || now.status === 'stopped' || !container.supervisorAlive()) return;
    await sleep(20);
  }
}
