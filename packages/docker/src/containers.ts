// diyc's containers are diyc-run's: one state root, $DIYC_ROOT/containers/NAME, the core's
// Container (config.json, state.json, the lock), so `diyc ps` and `diyc-ps` list the same
// ones. What docker knows of a container and the core does not is kept beside them, in
// DIR/docker.json, written by diyc alone:
//
//   the record it is made from at each start (the image's and the flags' base record:
//   config.json holds the one the stages prepared), the image as the user named it, its
//   restart policy and count, its health check and health, its labels, -i and -t, whether
//   `stop` or `kill` ended it (then it is not restarted), whether it has ever started
//   (docker's Created).
//
// A container is named by its name, its ID (64 hex digits) or a unique prefix of its ID.
// One without an ID (made by diyc-oci, or before IDs) answers to a stable one made from
// its name.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noTrace, writeErr } from '@diyc/cli';
import { sha256Hex } from '@diyc/net';
import { Container, listContainers, recoverIfStaleLocked, RUN_POLICY, type ContainerState, type Runtime } from '@diyc/container';
import { containerDir, containersDir, DiycError, runDir, stateRoot, type ContainerRecord, type Trace } from '@diyc/record';
import type { Healthcheck } from './health.js';
import type { RestartPolicy } from './restart.js';

export interface HealthLog {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** docker's State.Health. */
export interface Health {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthLog[];
}

export interface DockerMeta {
  /** The base record: made again, by the stages, at each start. */
  record: ContainerRecord;
  /** The image as the user named it (busybox:1.36), and its ID. */
  image: string;
  imageId: string;
  restart: RestartPolicy;
  restartCount: number;
  /** `stop` or `kill` ended it: the restart policy does not start it again. */
  stoppedByUser?: boolean;
  /** Between an end and the restart the policy asked for: since when, and the wait chosen. */
  restarting?: string;
  restartDelay?: number;
  /** The process waiting to restart it (the exit command of its last supervisor). */
  restarter?: { pid: number; start: string };
  /** --rm. */
  autoRemove: boolean;
  labels: Record<string, string>;
  healthcheck?: Healthcheck;
  health?: Health;
  /** The process that runs its health checks (health-monitor.ts): a newer one takes over. */
  healthMonitor?: { pid: number; start: string };
  tty: boolean;
  openStdin: boolean;
  stopTimeout?: number;
  logSize: number;
  logFiles: number;
  /** The anonymous volumes made for it, removed with it by --rm and rm -v. */
  anonymousVolumes: string[];
  /** It has run at least once (else docker's status is Created). */
  started: boolean;
  /** The -p flags as given, for HostConfig.PortBindings. */
  publish: string[];
}

/** Container NAME under the state root (the name is checked: never `../x`). */
export function containerAt(name: string, root: string = stateRoot()): Container {
  return new Container(name, containerDir(name, root));
}

/** diyc's runtime for container NAME: diyc-run's policy (its containers keep their files and run again). */
export function runtimeFor(name: string, trace: Trace, root: string = stateRoot()): Runtime {
  return {
    name,
    root,
    trace,
    policy: RUN_POLICY,
    strict: RUN_POLICY.strict,
    seccompCache: join(runDir(root), 'seccomp'),
    warn: (m) => writeErr(`WARNING: ${m}\n`),
  };
}

const metaPath = (container: Container): string => join(container.dir, 'docker.json');

export function readMeta(container: Container): DockerMeta | undefined {
  try {
    return JSON.parse(readFileSync(metaPath(container), 'utf8')) as DockerMeta;
  } catch {
    return undefined;
  }
}

/** Writes docker.json atomically (call it holding the container's lock when another process may write it). */
export function writeMeta(container: Container, meta: DockerMeta): void {
  const temp = `${metaPath(container)}.${process.pid}`;
  writeFileSync(temp, `${JSON.stringify(meta, null, 2)}\n`);
  renameSync(temp, metaPath(container));
}

/** Changes docker.json under the container's lock; returns it (undefined: the container has none, or is gone). */
export function updateMeta(container: Container, change: (meta: DockerMeta) => void): DockerMeta | undefined {
  if (!existsSync(container.dir)) return undefined;
  return container.locked(() => {
    const meta = readMeta(container);
    if (!meta) return undefined;
    change(meta);
    writeMeta(container, meta);
    return meta;
  });
}

/** The ID a container answers to: its own, or one made from its name when it has none. */
export function idOf(state: Pick<ContainerState, 'name' | 'id'>): string {
  return state.id ?? sha256Hex(`diyc-container:${state.name}`);
}

/** The containers of the state root, stale ones (their supervisor killed) cleaned up first. */
export function allContainers(root: string = stateRoot(), trace: Trace = noTrace): { container: Container; state: ContainerState }[] {
  return listContainers(containersDir(root)).flatMap((name) => {
    const container = containerAt(name, root);
    let state: ContainerState | undefined;
    try {
      state = container.locked(() => recoverIfStaleLocked(runtimeFor(name, trace, root), container));
    } catch {
      state = container.refresh().state();
    }
    return state ? [{ container, state }] : [];
  });
}

/**
 * The container `text` names: its ID, its name (a leading / as docker prints it is
 * allowed), or a unique prefix of its ID. Docker's "No such container" otherwise.
 */
export function findContainer(text: string, root: string = stateRoot()): { container: Container; state: ContainerState } {
  const all = allContainers(root);
  const key = text.replace(/^\//, '');
  const exact = all.find((c) => idOf(c.state) === key) ?? all.find((c) => c.state.name === key || c.container.name === key);
  if (exact) return exact;
  if (/^[0-9a-f]+$/.test(key)) {
    const matches = all.filter((c) => idOf(c.state).startsWith(key));
    if (matches.length > 1) throw new DiycError('usage', `multiple containers found with provided prefix: ${key}`);
    if (matches[0]) return matches[0];
  }
  throw new DiycError('not-found', `No such container: ${text}`);
}
