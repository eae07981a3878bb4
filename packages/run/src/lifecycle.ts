// The lifecycle of containers after diyc-run started them: recover stale ones, stop,
// remove, exec into. Each works on a Container and changes its state under its lock.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseSignal } from '@diyc/cli';
import { cgroupOf, createCgroupManager, killPids } from '@diyc/cgroup';
import { processPlan, seccompPlan, startError, StdioProxy, superviseChild } from '@diyc/nsexec';
import { ANNOTATION, DiycError, runDir, setEnv, type ContainerRecord, type StageContext } from '@diyc/record';
import { isSyscallError, spawn, type ExitStatus, type SpawnPlan } from '@diyc/syscalls';
import type { Container, ContainerState } from './container.js';
import { teardown } from './stages.js';
import { lookUpUser } from './start.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A container whose supervisor is gone (diyc-run was killed, even with SIGKILL, half-way
 * or while it ran) is stale: its processes are killed, its stages undone, and it is
 * marked exited. The caller holds the container's lock.
 */
export function recoverIfStaleLocked(container: Container, ctx: StageContext): ContainerState | undefined {
  const state = container.refresh().state();
  if (!state || state.status === 'exited' || state.supervisorPid === undefined || container.supervisorAlive()) return state;
  teardown(container.record(), ctx);
  return container.markExited(state.exitCode ?? 137, 'its diyc-run was killed; cleaned up');
}

/** recoverIfStaleLocked, under the container's lock. Returns the state after recovery. */
export function recoverIfStale(container: Container, ctx: StageContext): ContainerState | undefined {
  return container.locked(() => recoverIfStaleLocked(container, ctx));
}

function existing(container: Container, ctx: StageContext): ContainerState {
  const state = recoverIfStale(container, ctx);
  if (!state) throw new DiycError('not-found', `no container named ${container.name}`);
  return state;
}

/** The pids of the container's cgroup (every process of it), or its first process. */
function allPids(container: Container, ctx: StageContext): number[] {
  const cgroups = createCgroupManager();
  const path = cgroupOf(container.record() ?? ({ linux: {} } as ContainerRecord), ctx.name, cgroups);
  const pid = container.state()?.pid;
  return cgroups.exists(path) ? cgroups.pids(path) : pid !== undefined ? [pid] : [];
}

/** Its stop signal (`signal`, else the image's StopSignal, else SIGTERM), then SIGKILL to every process of the container after `timeoutSeconds`. */
export async function stopContainer(container: Container, ctx: StageContext, timeoutSeconds = 10, signal?: number): Promise<ContainerState> {
  const state = existing(container, ctx);
  if (!container.isRunning() || state.pid === undefined) return state;
  try { process.kill(state.pid, signal ?? stopSignal(container, ctx)); } catch { /* already gone */ }
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline && container.processAlive()) await sleep(20);
  if (container.processAlive()) {
    ctx.trace(`stop: ${container.name} did not end in ${timeoutSeconds}s: SIGKILL`);
    killPids(allPids(container, ctx));
  }
  // The supervisor notices the exit and cleans up; wait for it to say so.
  for (let i = 0; i < 500; i++) {
    const now = container.refresh().state();
    if (!now || now.status === 'exited' || !container.supervisorAlive()) break;
    await sleep(20);
  }
  return existing(container, ctx);
}

/**
 * The signal that asks a container to stop: its image's StopSignal (nginx wants SIGQUIT
 * for a graceful stop), else SIGTERM. An image's signal diyc cannot read is traced and
 * SIGTERM sent: the image should not keep the container from stopping.
 */
function stopSignal(container: Container, ctx: StageContext): number {
  const asked = container.record()?.annotations[ANNOTATION.stopSignal];
  try {
    return parseSignal(asked);
  } catch {
    ctx.trace(`stop: the image's StopSignal ${asked} is not a signal: SIGTERM`);
    return parseSignal(undefined);
  }
}

/** Removes a container: refused while it runs, unless `force` (which stops it first). */
export async function removeContainer(container: Container, ctx: StageContext, force = false): Promise<void> {
  if (!existsSync(container.dir)) throw new DiycError('not-found', `no container named ${container.name}`);
  existing(container, ctx);
  if (container.isRunning()) {
    if (!force) throw new DiycError('state', `container ${container.name} is running: stop it first (diyc-stop ${container.name}), or use -f`);
    await stopContainer(container, ctx, 0);
  }
  container.locked(() => {
    teardown(container.record(), ctx, { remove: true });
    rmSync(container.dir, { recursive: true, force: true });
  });
}

/**
 * The plan for a command run inside a running container: its namespaces and cgroup, and
 * the container's process policy (user, capabilities, no_new_privs, rlimits, seccomp),
 * so that an exec'd command can do no more than the container's first process.
 */
export function execPlan(record: ContainerRecord, pid: number, command: string[], root?: string): SpawnPlan {
  const ns = (kind: string): string => `/proc/${pid}/ns/${kind}`;
  const namespaces: NonNullable<SpawnPlan['join']> = [
    { type: 'ipc', path: ns('ipc') },
    { type: 'uts', path: ns('uts') },
    { type: 'network', path: ns('net') },
    { type: 'cgroup', path: ns('cgroup') },
    { type: 'pid', path: ns('pid') },
    { type: 'mount', path: ns('mnt') },
  ];
  const plan: SpawnPlan = { ...processPlan({ ...record.process, args: command }), join: namespaces, newKeyring: true };
  const seccomp = seccompPlan(record.linux.seccomp, root !== undefined ? { cacheDir: join(runDir(root), 'seccomp') } : {});
  if (seccomp) plan.seccomp = seccomp;
  const procs = record.annotations[ANNOTATION.cgroupProcs];
  if (procs) plan.cgroupProcs = procs.split(':').filter(Boolean);
  return plan;
}

/** What diyc-exec's -e, -w and -u change in the container's own process. */
export interface ExecOverrides {
  env?: string[];
  cwd?: string;
  user?: string;
}

/**
 * The record diyc-exec runs from: the container's, whose process (environment, working
 * directory, user and HOME, policy) the overrides change, as docker exec's flags do.
 */
export function execRecord(record: ContainerRecord, overrides: ExecOverrides): ContainerRecord {
  const process = { ...record.process };
  if (overrides.user !== undefined) {
    const found = lookUpUser(record, overrides.user);
    process.user = found.user;
    process.env = setEnv(process.env, 'HOME', found.home);
  }
  for (const e of overrides.env ?? []) process.env = setEnv(process.env, e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1));
  if (overrides.cwd !== undefined) process.cwd = overrides.cwd;
  return { ...record, process };
}

/**
 * Runs `command` in the running container; resolves with its exit status. On a terminal
 * (`terminal`) it gets a pty of its own in the container, proxied to this one.
 */
export async function execInContainer(container: Container, command: string[], ctx: StageContext, terminal: boolean, overrides: ExecOverrides = {}): Promise<ExitStatus> {
  const state = existing(container, ctx);
  if (!container.isRunning() || state.pid === undefined) throw new DiycError('state', `container ${container.name} is not running (${state.status}): start it with diyc-run`);
  const saved = container.record();
  if (!saved) throw new DiycError('not-found', `container ${container.name} has no config.json`);
  const record = execRecord(saved, overrides);
  try {
    const proxy = new StdioProxy({ terminal });
    const child = spawn({ ...execPlan(record, state.pid, command, ctx.root), ...proxy.plan(), hold: true });
    proxy.spawned();
    return await superviseChild(child, { stdio: proxy, release: () => child.release() });
  } catch (err) {
    if (isSyscallError(err)) throw startError(err, command[0] ?? '');
    throw err;
  }
}
