// A container's state as the OCI runtime spec defines it: what `diyc-oci state` prints and
// what every hook reads on its stdin.
// https://github.com/opencontainers/runtime-spec/blob/main/runtime.md#state
import { ANNOTATION_PREFIX, OCI_VERSION } from '@diyc/record';
import type { Container } from './container.js';
import type { Status } from './status.js';

export interface OciState {
  ociVersion: string;
  id: string;
  status: Status;
  pid?: number;
  bundle: string;
  rootfs?: string;
  created?: string;
  annotations?: Record<string, string>;
  owner: string;
}

/** The OCI state of `container`, as it is now (or as `status` says, for a hook). */
export function ociState(container: Container, status: Status = container.status()): OciState {
  const state = container.state();
  const record = container.record();
  const out: OciState = { ociVersion: OCI_VERSION, id: container.name, status, bundle: state?.bundle ?? '', owner: state?.owner ?? '' };
  if (state?.pid !== undefined && status !== 'stopped') out.pid = state.pid;
  if (record?.root?.path) out.rootfs = record.root.path;
  if (state?.createdAt) out.created = state.createdAt;
  // diyc's own annotations are orders between its stages, not the engine's.
  const annotations = Object.fromEntries(Object.entries(record?.annotations ?? {}).filter(([k]) => !k.startsWith(ANNOTATION_PREFIX)));
  if (Object.keys(annotations).length > 0) out.annotations = annotations;
  return out;
}

/** RFC 3339 with nanoseconds, as the spec's examples and runc write it. */
export function rfc3339Nano(date = new Date()): string {
  const nanos = (BigInt(date.getTime() % 1000) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n)).toString().padStart(9, '0');
  return `${date.toISOString().slice(0, 19)}.${nanos}Z`;
}
