// `state` and `list`: a container's state as runc prints it (runc's containerState, list.go),
// in its key order, which scripts and runc's own tests match as text:
//
//   ociVersion, id, pid (0 once stopped), status, bundle, rootfs, created, annotations (if
//   any), owner
//
// `state` is indented by two spaces with no newline at the end and no owner filled in;
// `list --format json` is one line; the table is Go's tabwriter(12, 1, 3, ' ').
import { readFileSync, statSync } from 'node:fs';
import { ANNOTATION_PREFIX } from '@diyc/record';
import type { Container } from '@diyc/container/lite';
import { adoptCgroupDriver, existingContainer, listIds, ociContainer } from './containers.js';
import { print } from './shell.js';

export interface RuncState {
  ociVersion: string;
  id: string;
  pid: number;
  status: string;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

/** A container's state in runc's form (owner as `owner`, '' for `state`). */
export function runcState(container: Container, owner = ''): RuncState {
  const status = container.status();
  const state = container.state();
  const record = container.record();
  const out: RuncState = {
    ociVersion: record?.ociVersion ?? '',
    id: container.name,
    pid: status === 'stopped' ? 0 : (state?.pid ?? 0),
    status,
    bundle: state?.bundle ?? '',
    rootfs: record?.root?.path ?? '',
    created: state?.createdAt ?? '0001-01-01T00:00:00Z',
    owner,
  };
  // diyc's own annotations are orders between its stages, not the engine's.
  const annotations = Object.fromEntries(Object.entries(record?.annotations ?? {}).filter(([k]) => !k.startsWith(ANNOTATION_PREFIX)));
  if (Object.keys(annotations).length > 0) {
    const { owner: o, ...rest } = out;
    return { ...rest, annotations, owner: o };
  }
  return out;
}

export function stateCommand(root: string, id: string | undefined): void {
  print(JSON.stringify(runcState(existingContainer(root, id)), null, 2));
}

/** The user name of `uid` from /etc/passwd, or "#uid" (runc's user.LookupUid fallback). */
function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === uid && id !== '') return name;
    }
  } catch {
    /* no passwd */
  }
  return `#${uid}`;
}

/** Every container under `root`, with the owner of its directory. */
export function listStates(root: string): RuncState[] {
  const names = new Map<number, string>();
  const asked = process.env.DIYC_CGROUP_DRIVER;
  const restore = () => {
    if (asked === undefined) delete process.env.DIYC_CGROUP_DRIVER;
    else process.env.DIYC_CGROUP_DRIVER = asked;
  };
  // Each read through the cgroup driver it was created with, then the flag's again.
  const states = listIds(root).map((id) => {
    restore();
    const container = adoptCgroupDriver(ociContainer(root, id));
    let uid = 0;
    try {
      uid = statSync(container.dir).uid;
    } catch {
      /* gone meanwhile */
    }
    if (!names.has(uid)) names.set(uid, userName(uid));
    return runcState(container, names.get(uid));
  });
  restore();
  return states;
}

/** Go's text/tabwriter with (minwidth 12, tabwidth 1, padding 3, ' '): the cells before each tab aligned. */
export function tabwriter(rows: string[][], minwidth = 12, padding = 3): string {
  const widths: number[] = [];
  for (const row of rows)
    row.slice(0, -1).forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length + padding, minwidth);
    });
  return rows
    .map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell)).join(''))
    .map((l) => `${l}\n`)
    .join('');
}

export function listCommand(root: string, format: string, quiet: boolean): void {
  const states = listStates(root);
  if (quiet) {
    print(states.map((s) => `${s.id}\n`).join(''));
    return;
  }
  if (format === 'json') {
    // Go encodes an empty list as null.
    print(`${states.length === 0 ? 'null' : JSON.stringify(states)}\n`);
    return;
  }
  if (format !== 'table') throw new Error('invalid format option');
  const rows = [
    ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
    ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner]),
  ];
  print(tabwriter(rows));
}
