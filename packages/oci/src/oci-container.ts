// diyc-oci's containers: the same Container object as diyc-run's (record, state, lock),
// kept under --root (default /run/diyc-oci), with the OCI view of its state.
// https://github.com/opencontainers/runtime-spec/blob/main/runtime.md#state
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createCgroupManager } from '@diyc/cgroup';
import { DiycError } from '@diyc/record';
import { Container, sameProcess } from '@diyc/run';
import { SPEC_VERSION } from './bundle.js';

/** Where podman and containerd look when they give no --root: it must not change. */
export const DEFAULT_ROOT = '/run/diyc-oci';

/** Container IDs as runc takes them: letters, digits, _ . + -, as one path component. */
export function checkId(id: string | undefined): string {
  if (id === undefined || id === '') throw new DiycError('usage', 'missing container ID');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(id) || id.length > 255) throw new DiycError('invalid', `invalid container ID '${id}': use letters, digits, '_', '.', '+' and '-'`);
  return id;
}

export function ociContainer(root: string, id: string): Container {
  return new Container(checkId(id), join(root, id));
}

/** The container, which must exist (the error text engines match: "does not exist"). */
export function existingContainer(root: string, id: string | undefined): Container {
  const container = ociContainer(root, checkId(id));
  if (!container.state()) throw new DiycError('not-found', `container ${id} does not exist`);
  return container;
}

export const fifoPath = (container: Container): string => join(container.dir, 'exec.fifo');

export type OciStatus = 'creating' | 'created' | 'running' | 'stopped' | 'paused';

/** Frozen by pause: read from the container's freezer (v1) or cgroup.events (v2). */
function frozen(container: Container): boolean {
  const path = container.record()?.linux.cgroupsPath;
  if (!path) return false;
  try {
    const cgroups = createCgroupManager();
    const procs = cgroups.procsFiles(path);
    for (const file of procs) {
      const dir = join(file, '..');
      const freezer = join(dir, 'freezer.state');
      if (existsSync(freezer) && readFileSync(freezer, 'utf8').trim() !== 'THAWED') return true;
      const events = join(dir, 'cgroup.events');
      if (existsSync(events) && /^frozen 1$/m.test(readFileSync(events, 'utf8'))) return true;
    }
  } catch { /* no cgroup: not frozen */ }
  return false;
}

/**
 * What the container is now, from the kernel's side: its process alive (and not a reused
 * pid) and still waiting on the start FIFO is created; alive past it, running; gone, stopped.
 */
export function ociStatus(container: Container): OciStatus {
  const state = container.state();
  if (!state || state.status === 'creating') return state && sameProcess(state.supervisorPid, state.supervisorStart) ? 'creating' : 'stopped';
  if (!container.processAlive()) return 'stopped';
  if (existsSync(fifoPath(container))) return 'created';
  return frozen(container) ? 'paused' : 'running';
}

/** RFC 3339 with nanoseconds, as the spec's examples and runc write it. */
export function rfc3339Nano(date = new Date()): string {
  const nanos = (BigInt(date.getTime() % 1000) * 1_000_000n + process.hrtime.bigint() % 1_000_000n).toString().padStart(9, '0');
  return `${date.toISOString().slice(0, 19)}.${nanos}Z`;
}

export interface OciState {
  ociVersion: string;
  id: string;
  status: OciStatus;
  pid?: number;
  bundle: string;
  rootfs?: string;
  created?: string;
  annotations?: Record<string, string>;
  owner: string;
}

/** The state `diyc-oci state` prints, and hooks read on stdin. */
export function ociState(container: Container, status: OciStatus = ociStatus(container)): OciState {
  const state = container.state();
  const record = container.record();
  const out: OciState = { ociVersion: SPEC_VERSION, id: container.name, status, bundle: state?.bundle ?? '', owner: state?.owner ?? '' };
  if (state?.pid !== undefined && status !== 'stopped') out.pid = state.pid;
  if (record?.root?.path) out.rootfs = record.root.path;
  if (state?.createdAt) out.created = state.createdAt;
  const annotations = Object.fromEntries(Object.entries(record?.annotations ?? {}).filter(([k]) => !k.startsWith('org.diyc.')));
  if (Object.keys(annotations).length > 0) out.annotations = annotations;
  return out;
}

/** The IDs of the containers under `root`. */
export function listIds(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory() && existsSync(join(root, e.name, 'state.json'))).map((e) => e.name).sort();
}
