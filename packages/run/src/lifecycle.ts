// The lifecycle of containers after diyc-run started them: recover stale ones, stop,
// remove, exec into, list.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { killPids } from '@diyc/cgroup';
import { processPlan, seccompPlan, startError, superviseChild } from '@diyc/nsexec';
import { ANNOTATION, containerDir, isProcessAlive, runDir, type ContainerRecord } from '@diyc/record';
import { isSyscallError, spawn, type ExitStatus, type SpawnPlan } from '@diyc/syscalls';
import { teardown, type StageContext } from './stages.js';
import { readConfig, readState, supervisorAlive, writeExited, type ContainerState } from './state.js';

export class LifecycleError extends Error {
  override name = 'LifecycleError';
}

const alive = (pid: number | undefined): boolean => pid !== undefined && isProcessAlive(pid);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A container whose supervisor is gone (diyc-run was killed, even with SIGKILL, half-way
 * or while it ran) is stale: its processes are killed, its stages undone, and it is
 * marked exited. Returns the state after recovery.
 */
export function recoverIfStale(name: string, ctx: StageContext): ContainerState | undefined {
  const state = readState(name, ctx.root);
  if (!state || state.status === 'exited' || supervisorAlive(state)) return state;
  const record = readConfig(name, ctx.root);
  teardown(name, record, ctx);
  return writeExited(state, state.exitCode ?? 137, 'its diyc-run was killed; cleaned up', ctx.root);
}

export function isRunning(state: ContainerState | undefined): state is ContainerState & { pid: number } {
  return state?.status === 'running' && alive(state.pid) && supervisorAlive(state);
}

/** SIGTERM, then SIGKILL to every process of the container after `timeoutSeconds`. */
export async function stopContainer(name: string, ctx: StageContext, timeoutSeconds = 10): Promise<ContainerState | undefined> {
  let state = recoverIfStale(name, ctx);
  if (!state) throw new LifecycleError(`no container named ${name}`);
  if (!isRunning(state)) return state;
  try { process.kill(state.pid, 'SIGTERM'); } catch { /* already gone */ }
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline && alive(state.pid)) await sleep(20);
  if (alive(state.pid)) {
    ctx.trace(`stop: ${name} did not end in ${timeoutSeconds}s: SIGKILL`);
    killPids(ctx.cgroups.exists(name) ? ctx.cgroups.pids(name) : [state.pid]);
  }
  // The supervisor notices the exit and cleans up; wait for it to say so.
  for (let i = 0; i < 500; i++) {
    state = readState(name, ctx.root);
    if (!state || state.status === 'exited' || !supervisorAlive(state)) break;
    await sleep(20);
  }
  return recoverIfStale(name, ctx);
}

/** Removes a container: refused while it runs, unless `force` (which stops it first). */
export async function removeContainer(name: string, ctx: StageContext, force = false): Promise<void> {
  const dir = containerDir(name, ctx.root);
  if (!existsSync(dir)) throw new LifecycleError(`no container named ${name}`);
  const state = recoverIfStale(name, ctx);
  if (isRunning(state)) {
    if (!force) throw new LifecycleError(`container ${name} is running: stop it first (diyc-stop ${name}), or use -f`);
    await stopContainer(name, ctx, 0);
  }
  teardown(name, readConfig(name, ctx.root), ctx, { remove: true });
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The plan for a command run inside a running container: its namespaces and cgroup, and
 * the container's process policy (user, capabilities, no_new_privs, rlimits, seccomp),
 * so that an exec'd command can do no more than the container's first process.
 */
export function execPlan(record: ContainerRecord, pid: number, command: string[], foreground: boolean, root?: string): SpawnPlan {
  const ns = (kind: string): string => `/proc/${pid}/ns/${kind}`;
  const namespaces: NonNullable<SpawnPlan['join']> = [
    { type: 'ipc', path: ns('ipc') },
    { type: 'uts', path: ns('uts') },
    { type: 'network', path: ns('net') },
    { type: 'cgroup', path: ns('cgroup') },
    { type: 'pid', path: ns('pid') },
    { type: 'mount', path: ns('mnt') },
  ];
  const plan: SpawnPlan = { ...processPlan({ ...record.process, args: command }), join: namespaces, foreground, newKeyring: true };
  const seccomp = seccompPlan(record.linux.seccomp, root !== undefined ? { cacheDir: join(runDir(root), 'seccomp') } : {});
  if (seccomp) plan.seccomp = seccomp;
  const procs = record.annotations[ANNOTATION.cgroupProcs];
  if (procs) plan.cgroupProcs = procs.split(':').filter(Boolean);
  return plan;
}

/** Runs `command` in the running container NAME; resolves with its exit status. */
export async function execInContainer(name: string, command: string[], ctx: StageContext, foreground: boolean): Promise<ExitStatus> {
  const state = recoverIfStale(name, ctx);
  if (!state) throw new LifecycleError(`no container named ${name}`);
  if (!isRunning(state)) throw new LifecycleError(`container ${name} is not running (${state.status}): start it with diyc-run`);
  const record = readConfig(name, ctx.root);
  if (!record) throw new LifecycleError(`container ${name} has no config.json`);
  try {
    const child = spawn(execPlan(record, state.pid, command, foreground, ctx.root));
    return await superviseChild(child, { foreground });
  } catch (err) {
    if (isSyscallError(err)) throw startError(err, command[0] ?? '');
    throw err;
  }
}
