// A container as docker shows it: its status in docker's words (created, running, paused,
// restarting, exited), "Up 2 minutes (healthy)", its ports as 0.0.0.0:8080->80/tcp, its
// command as ps quotes it. ps, inspect, the filters and stats all read it.
import { sameProcess, type Container, type ContainerState } from '@diyc/container';
import { parsePublish, type Publish } from '@diyc/net';
import type { ContainerRecord } from '@diyc/record';
import { idOf, readMeta, type DockerMeta } from './containers.js';
import { ago, humanDuration } from './human.js';

export type DockerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'exited';

export interface ContainerView {
  container: Container;
  state: ContainerState;
  meta?: DockerMeta;
  record?: ContainerRecord;
  id: string;
  name: string;
  status: DockerStatus;
  /** The image as its user named it (busybox:1.36), or the store's name (diyc-run's containers). */
  image: string;
  ports: Publish[];
  labels: Record<string, string>;
}

/** A restart is under way: the process waiting to start the container again lives. */
export function restarterAlive(meta: DockerMeta | undefined): boolean {
  const r = meta?.restarter;
  return meta?.restarting !== undefined && r !== undefined && sameProcess(r.pid, r.start);
}

function statusOf(container: Container, meta: DockerMeta | undefined): DockerStatus {
  const status = container.status();
  if (status === 'running') return 'running';
  if (status === 'paused') return 'paused';
  if (status === 'creating' || status === 'created') return meta?.started === false ? 'created' : 'running';
  if (restarterAlive(meta)) return 'restarting';
  return meta && !meta.started ? 'created' : 'exited';
}

export function viewOf(container: Container, state: ContainerState): ContainerView {
  const meta = readMeta(container);
  const record = container.record();
  const ports = (state.ports ?? []).flatMap((p) => {
    try {
      return [parsePublish(p)];
    } catch {
      return [];
    }
  });
  return {
    container,
    state,
    ...(meta ? { meta } : {}),
    ...(record ? { record } : {}),
    id: idOf(state),
    name: state.name,
    status: statusOf(container, meta),
    image: meta?.image ?? state.image ?? '',
    ports,
    labels: meta?.labels ?? {},
  };
}

/** 0.0.0.0:8080->80/tcp, 127.0.0.1:8080-8090->80-90/tcp, joined by ", " as docker does. */
export function portsText(ports: Publish[]): string {
  const range = (first: number, count = 1): string => (count > 1 ? `${first}-${first + count - 1}` : String(first));
  return ports
    .map((p) => `${p.hostIp ?? '0.0.0.0'}:${range(p.hostPort, p.count)}->${range(p.containerPort, p.count)}/${p.protocol}`)
    .join(', ');
}

/** docker's Ellipsis: at most `max` characters, the last of them … when cut. */
export function ellipsis(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** The COMMAND column: the command line, cut at 20 characters (unless noTrunc), in double quotes. */
export function commandText(args: string[], noTrunc = false): string {
  const line = args.join(' ');
  return JSON.stringify(noTrunc ? line : ellipsis(line, 20));
}

const time = (iso: string | undefined): number | undefined => (iso ? Date.parse(iso) : undefined);

/** The STATUS column: Up 2 minutes (healthy), Exited (1) 3 seconds ago, Created, Restarting (1) 1 second ago. */
export function statusText(view: ContainerView, now: number = Date.now()): string {
  const { state, meta } = view;
  switch (view.status) {
    case 'created':
      return 'Created';
    case 'restarting':
      return `Restarting (${state.exitCode ?? 0}) ${ago(now - (time(state.finishedAt) ?? now))}`;
    case 'exited':
      return state.finishedAt
        ? `Exited (${state.exitCode ?? 0}) ${ago(now - (time(state.finishedAt) ?? now))}`
        : `Exited (${state.exitCode ?? 0})`;
    case 'running':
    case 'paused': {
      let text = `Up ${humanDuration(now - (time(state.startedAt) ?? time(state.createdAt) ?? now))}`;
      if (view.status === 'paused') text += ' (Paused)';
      else if (meta?.health) text += meta.health.Status === 'starting' ? ' (health: starting)' : ` (${meta.health.Status})`;
      return text;
    }
  }
}

/** "2024-05-01 10:00:00 +0000 UTC", Go's time.String() of a UTC time, as ps's CreatedAt. */
export function goTime(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}
