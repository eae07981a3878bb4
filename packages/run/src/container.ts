// A container as one object (as youki's Container, runc's libcontainer.Container): its
// directory, its record (config.json), its state (state.json) and its lock. diyc-run,
// the lifecycle tools and diyc-oci all go through it, so a state is read once per step,
// written atomically, and changed only under the container's lock.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerDir, containersDir, isProcessAlive, parseRecord, privateDir, stateRoot, withLock, type ContainerRecord } from '@diyc/record';

/** creating: stages under way; created: prepared, not started; exited: OCI's stopped. */
export type Status = 'creating' | 'created' | 'running' | 'exited';

export interface ContainerState {
  name: string;
  image?: string;
  status: Status;
  /** The container's first process, in the host's PID namespace, and when it started. */
  pid?: number;
  pidStart?: string;
  /** The diyc process that supervises it (diyc-run), and when that started. */
  supervisorPid?: number;
  supervisorStart?: string;
  command: string[];
  ip?: string;
  /** Published ports, HOSTPORT:PORT/PROTOCOL. */
  ports?: string[];
  net?: string;
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** Why it ended, when known: "out of memory (limit 10M)". */
  reason?: string;
  /** OCI: the bundle it was created from, and who created it. */
  bundle?: string;
  owner?: string;
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

/** True when `pid` lives and is the process that started at `start` (not a zombie). */
export function sameProcess(pid: number | undefined, start: string | undefined): boolean {
  if (pid === undefined || !isProcessAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return false;
    return start === undefined || fields[19] === start;
  } catch {
    return false;
  }
}

function writeJson(file: string, value: unknown): void {
  const temp = `${file}.${process.pid}`;
  writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(temp, file);
}

export class Container {
  readonly name: string;
  readonly dir: string;
  #state: ContainerState | null | undefined;
  #record: ContainerRecord | null | undefined;

  constructor(name: string, dir: string) {
    this.name = name;
    this.dir = dir;
  }

  /** diyc-run's container NAME under the state root (the name is checked). */
  static at(name: string, root: string = stateRoot()): Container {
    return new Container(name, containerDir(name, root));
  }

  get statePath(): string { return join(this.dir, 'state.json'); }
  get configPath(): string { return join(this.dir, 'config.json'); }
  get lockPath(): string { return `${this.dir}.lock`; }

  exists(): boolean {
    return existsSync(this.statePath) || existsSync(this.configPath);
  }

  /** The state, read once (refresh() reads it again); undefined when there is none. */
  state(): ContainerState | undefined {
    if (this.#state === undefined) {
      try {
        this.#state = JSON.parse(readFileSync(this.statePath, 'utf8')) as ContainerState;
      } catch {
        this.#state = null;
      }
    }
    return this.#state ?? undefined;
  }

  /** The record, read once (refresh() reads it again); undefined when there is none. */
  record(): ContainerRecord | undefined {
    if (this.#record === undefined) this.#record = existsSync(this.configPath) ? parseRecord(readFileSync(this.configPath, 'utf8')) : null;
    return this.#record ?? undefined;
  }

  refresh(): this {
    this.#state = undefined;
    this.#record = undefined;
    return this;
  }

  /** Writes the state atomically: a reader sees the old one or the new, never half. */
  save(state: ContainerState): ContainerState {
    this.#makeDir();
    writeJson(this.statePath, state);
    this.#state = state;
    return state;
  }

  saveRecord(record: ContainerRecord): void {
    this.#makeDir();
    writeJson(this.configPath, record);
    this.#record = record;
  }

  /** Runs `fn` holding the container's lock (engines call a runtime concurrently). */
  locked<T>(fn: () => T): T {
    privateDir(join(this.dir, '..'));
    return withLock(this.lockPath, fn);
  }

  /** The container's directory, in a containers directory only root can enter. */
  #makeDir(): void {
    privateDir(join(this.dir, '..'));
    mkdirSync(this.dir, { recursive: true });
  }

  /** The supervisor recorded in the state is still the same living process. */
  supervisorAlive(): boolean {
    const s = this.state();
    return s?.supervisorPid !== undefined && sameProcess(s.supervisorPid, s.supervisorStart);
  }

  /** The first process is alive (and not a reused pid). */
  processAlive(): boolean {
    const s = this.state();
    return sameProcess(s?.pid, s?.pidStart);
  }

  /** Running: the state says so, its process lives, and so does its supervisor if it has one. */
  isRunning(): boolean {
    const s = this.state();
    return s?.status === 'running' && this.processAlive() && (s.supervisorPid === undefined || this.supervisorAlive());
  }

  /** Records that it ended: its exit code, when and, when known, why; no supervisor any more. */
  markExited(exitCode: number, reason?: string): ContainerState {
    const state = this.state();
    if (!state) throw new Error(`container ${this.name} has no state`);
    const done: ContainerState = { ...state, status: 'exited', exitCode, finishedAt: new Date().toISOString() };
    delete done.supervisorPid;
    delete done.supervisorStart;
    if (reason !== undefined) done.reason = reason;
    return this.save(done);
  }
}

/** The names of diyc-run's containers under the state root. */
export function listContainers(root: string = stateRoot()): string[] {
  const dir = containersDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => !n.endsWith('.lock') && (existsSync(join(dir, n, 'state.json')) || existsSync(join(dir, n, 'config.json')))).sort();
}
