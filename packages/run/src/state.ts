// A container's state: containers/NAME/state.json, written atomically. The record it
// ran is containers/NAME/config.json.
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerDir, containersDir, parseRecord, stateRoot, type ContainerRecord } from '@diyc/record';

export type Status = 'created' | 'running' | 'exited';

export interface ContainerState {
  name: string;
  image: string;
  status: Status;
  /** The container's first process, in the host's PID namespace. */
  pid?: number;
  /** The diyc process that supervises it, and that process's start time (against pid reuse). */
  supervisorPid?: number;
  supervisorStart?: string;
  command: string[];
  ip?: string;
  net: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** Why it ended, when known: "out of memory (limit 10M)". */
  reason?: string;
}

export const statePath = (name: string, root = stateRoot()): string => join(containerDir(name, root), 'state.json');
export const configPath = (name: string, root = stateRoot()): string => join(containerDir(name, root), 'config.json');

export function readState(name: string, root = stateRoot()): ContainerState | undefined {
  const file = statePath(name, root);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ContainerState;
  } catch {
    return undefined;
  }
}

export function writeState(state: ContainerState, root = stateRoot()): void {
  const file = statePath(state.name, root);
  const temp = `${file}.${process.pid}`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temp, file);
}

/** Records that a container ended: no supervisor any more, its exit code and, when known, why. */
export function writeExited(state: ContainerState, exitCode: number, reason: string | undefined, root = stateRoot()): ContainerState {
  const done: ContainerState = { ...state, status: 'exited', exitCode, finishedAt: new Date().toISOString() };
  delete done.supervisorPid;
  delete done.supervisorStart;
  if (reason !== undefined) done.reason = reason;
  writeState(done, root);
  return done;
}

export function readConfig(name: string, root = stateRoot()): ContainerRecord | undefined {
  const file = configPath(name, root);
  return existsSync(file) ? parseRecord(readFileSync(file, 'utf8')) : undefined;
}

export function writeConfig(name: string, record: ContainerRecord, root = stateRoot()): void {
  const file = configPath(name, root);
  writeFileSync(`${file}.${process.pid}`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${file}.${process.pid}`, file);
}

export function listContainers(root = stateRoot()): string[] {
  const dir = containersDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => existsSync(join(dir, n, 'state.json')) || existsSync(join(dir, n, 'config.json'))).sort();
}

/** Field 22 of /proc/PID/stat: when the process started, to tell it from a reused pid. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True when the supervisor recorded in `state` is still the same living process. */
export function supervisorAlive(state: ContainerState): boolean {
  if (state.supervisorPid === undefined) return false;
  const start = processStart(state.supervisorPid);
  return start !== undefined && start === state.supervisorStart;
}
