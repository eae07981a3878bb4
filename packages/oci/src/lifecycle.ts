// start, kill, delete, pause, resume, update: each loads the container, checks its state
// from the kernel's side, and acts under the container's lock (engines call a runtime
// concurrently: kill while delete, state while start).
import { closeSync, constants, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { createCgroupManager, killPids } from '@diyc/cgroup';
import { DiycError, type Resources, type StageContext } from '@diyc/record';
import { teardown, type Container } from '@diyc/run';
import { runHooks } from './hooks.js';
import { containerNamespaces, unmountHostMounts } from './create.js';
import { existingContainer, fifoPath, ociState, ociStatus } from './oci-container.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `start`: runs startContainer hooks, lets the process exec, then the poststart hooks. */
export async function startContainer(root: string, id: string | undefined, warn: (m: string) => void): Promise<void> {
  const container = existingContainer(root, id);
  const status = ociStatus(container);
  if (status !== 'created') throw new DiycError('state', `cannot start container ${container.name}: it is ${status}, not created`);
  const record = container.record();
  const pid = container.state()?.pid as number;
  await runHooks('startContainer', record?.hooks, ociState(container, 'created'), { inside: { pid, namespaces: record ? containerNamespaces(record) : [] } });
  container.locked(() => {
    // Opening for writing without blocking finds the waiting process, or says it is gone.
    let fd: number;
    try {
      fd = openSync(fifoPath(container), constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw new DiycError('state', `cannot start container ${container.name}: its process is not waiting (${(err as NodeJS.ErrnoException).code})`);
    }
    try {
      writeSync(fd, Buffer.from([0]));
    } finally {
      closeSync(fd);
    }
    unlinkSync(fifoPath(container));
    const state = container.refresh().state();
    if (state) container.save({ ...state, status: 'running', startedAt: new Date().toISOString() });
  });
  await runHooks('poststart', record?.hooks, ociState(container, 'running'), { warnOnly: (m) => warn(`poststart: ${m}`) });
}

/** The pids of the container's cgroup: every process of it. */
function cgroupPids(container: Container): number[] {
  const path = container.record()?.linux.cgroupsPath;
  if (!path) return [];
  const cgroups = createCgroupManager();
  return cgroups.exists(path) ? cgroups.pids(path) : [];
}

/** `kill`: a signal to the container's process (or, with --all, every process of it). */
export function killContainer(root: string, id: string | undefined, signal: number, all: boolean): void {
  const container = existingContainer(root, id);
  const status = ociStatus(container);
  if (status === 'stopped' || status === 'creating') throw new DiycError('state', `container ${container.name} is ${status}: container not running`);
  const pids = all ? cgroupPids(container) : [container.state()?.pid as number];
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

/**
 * `delete`: removes a stopped container: its cgroup and state, then the poststop hooks.
 * One that is not stopped is refused (and left as it is), unless `force` kills it first.
 */
export async function deleteContainer(root: string, id: string | undefined, force: boolean, ctx: Omit<StageContext, 'name' | 'root'>): Promise<void> {
  let container: Container;
  try {
    container = existingContainer(root, id);
  } catch (err) {
    if (force && err instanceof DiycError && err.kind === 'not-found') return;
    throw err;
  }
  const status = ociStatus(container);
  if (status !== 'stopped') {
    if (!force) throw new DiycError('state', `cannot delete container ${container.name} that is not stopped: ${status}`);
    if (status === 'paused') createCgroupManager().freeze(container.record()?.linux.cgroupsPath as string, false);
    killPids([...new Set([container.state()?.pid as number, ...cgroupPids(container)])]);
    for (let i = 0; i < 250 && container.processAlive(); i++) await sleep(20);
  }
  const record = container.record();
  container.locked(() => {
    teardown(record, { ...ctx, name: container.name, root, strict: true });
    unmountHostMounts(record);
    rmSync(container.dir, { recursive: true, force: true });
  });
  await runHooks('poststop', record?.hooks, { ...ociState(container, 'stopped') }, { warnOnly: (m) => ctx.warn(`poststop: ${m}`) });
}

/** `pause` and `resume`: the freezer stops and starts every process of the container. */
export function pauseContainer(root: string, id: string | undefined, paused: boolean): void {
  const container = existingContainer(root, id);
  const status = ociStatus(container);
  if (paused && status !== 'running') throw new DiycError('state', `container ${container.name} is ${status}: only a running container can be paused`);
  if (!paused && status !== 'paused') throw new DiycError('state', `container ${container.name} is ${status}, not paused`);
  createCgroupManager().freeze(container.record()?.linux.cgroupsPath as string, paused);
}

/** `update`: new resources for a container's cgroup; what the machine cannot apply is an error, named. */
export function updateContainer(root: string, id: string | undefined, resources: Resources): void {
  const container = existingContainer(root, id);
  if (ociStatus(container) === 'stopped') throw new DiycError('state', `container ${container.name} is stopped: container not running`);
  container.locked(() => {
    const record = container.refresh().record();
    if (!record?.linux.cgroupsPath) throw new DiycError('state', `container ${container.name} has no cgroup`);
    const { skipped } = createCgroupManager().apply(record.linux.cgroupsPath, resources);
    if (skipped.length > 0) throw new DiycError('unsupported', `cannot apply: ${skipped.join('; ')}`);
    record.linux.resources = { ...record.linux.resources, ...resources };
    container.saveRecord(record);
  });
}
