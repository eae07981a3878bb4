// A container as one object (as youki's Container, runc's libcontainer.Container): its
// directory, its record (config.json), its state (state.json) and its lock. diyc-run,
// its lifecycle tools and diyc-oci all go through it: a state is read once per step,
// written atomically, and its status changes only by transition(), under the lock.
//
//   DIR/config.json   the record it was created from, as the stages prepared it
//   DIR/state.json    its status, pids, times and exit (ContainerState)
//   DIR.lock          the lock (a symlink to its holder's pid: symlink(2) is atomic)
//   DIR/exec.fifo     while it is created: its process waits for a byte here (start)
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { managerForPath } from '@diyc/cgroup';
import { DiycError, isProcessAlive, parseRecord, privateDir, withLock, type ContainerRecord } from '@diyc/record';
import { checkTransition, type Status } from './status.js';

export interface ContainerState {
  /** diyc-run's NAME, diyc-oci's ID. */
  name: string;
  /**
   * 64 hex digits that name it as well as its name does (docker's container ID; `diyc`
   * shows 12): given once, kept when a stopped container is made again.
   */
  id?: string;
  /** What was last written; status() reads it against the kernel. */
  status: Status;
  /** The container's first process, in the host's PID namespace, and when it started. */
  pid?: number;
  pidStart?: string;
  /** The process that waits for it and cleans up after it (diyc-run, or its diyc-shim). */
  supervisorPid?: number;
  supervisorStart?: string;
  image?: string;
  command: string[];
  ip?: string;
  /** Published ports, HOSTPORT:PORT/PROTOCOL. */
  ports?: string[];
  /** bridge, none or host. */
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
  /**
   * OCI: the cgroup driver it was created with (runc's --systemd-cgroup, or not), which
   * every later command uses whatever its flags say, as runc keeps it in its own state.
   */
  cgroupDriver?: 'cgroupfs' | 'systemd';
}

/**
 * A new container ID: 32 random bytes as 64 hex digits, as docker's. Read from
 * /dev/urandom (random(4)): node:crypto would cost a few milliseconds to load.
 */
export function newContainerId(): string {
  const bytes = Buffer.alloc(32);
  const fd = openSync('/dev/urandom', 'r');
  try {
    for (let off = 0; off < bytes.length; ) off += readSync(fd, bytes, off, bytes.length - off, null);
  } finally {
    closeSync(fd);
  }
  return bytes.toString('hex');
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

/** A state written before the one vocabulary: diyc-run said "exited" for stopped. */
function readState(file: string): ContainerState | null {
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as Omit<ContainerState, 'status'> & { status: Status | 'exited' };
    return { ...state, status: state.status === 'exited' ? 'stopped' : state.status };
  } catch {
    return null;
  }
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

  get statePath(): string {
    return join(this.dir, 'state.json');
  }
  get configPath(): string {
    return join(this.dir, 'config.json');
  }
  get lockPath(): string {
    return `${this.dir}.lock`;
  }
  /** Where a created container's process waits for `start`. */
  get fifoPath(): string {
    return join(this.dir, 'exec.fifo');
  }

  exists(): boolean {
    return existsSync(this.statePath) || existsSync(this.configPath);
  }

  /** The state, read once (refresh() reads it again); undefined when there is none. */
  state(): ContainerState | undefined {
    if (this.#state === undefined) this.#state = readState(this.statePath);
    return this.#state ?? undefined;
  }

  /** The state, which must be there: a missing one is 'not-found'. */
  requireState(): ContainerState {
    const state = this.state();
    if (!state) throw new DiycError('not-found', `container ${this.name} does not exist`);
    return state;
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

  /**
   * Reads the state again at its next use, and keeps the record: for a step that changes
   * only the state (start), whose process goes on to teardown with the record it has.
   * The record is written at create and rewritten only by `update`, whose limits no
   * teardown reads; a foreground run reading its 18 kB again after its command ended
   * was ~0.5 ms of it (issue 22).
   */
  refreshState(): this {
    this.#state = undefined;
    return this;
  }

  /** The first state of a container being created (status creating), written atomically. */
  begin(state: Omit<ContainerState, 'status'>): ContainerState {
    const previous = this.state();
    if (previous) checkTransition(this.name, previous.status, 'creating');
    // Its ID stays with it: a stopped container made again is the same container.
    const id = previous?.id ?? state.id;
    return this.#write({ ...state, ...(id !== undefined ? { id } : {}), status: 'creating' });
  }

  /**
   * Moves the status to `to`, which must be a step the state machine allows from the one
   * written, with `changes` to the other fields (undefined deletes one). Call it holding
   * the lock when another process may change the state too.
   */
  transition(to: Status, changes: Partial<Omit<ContainerState, 'status'>> = {}): ContainerState {
    const state = this.requireState();
    checkTransition(this.name, state.status, to);
    return this.#write(merge({ ...state, status: to }, changes));
  }

  /** Changes fields other than the status (the pid once known). */
  update(changes: Partial<Omit<ContainerState, 'status'>>): ContainerState {
    return this.#write(merge({ ...this.requireState() }, changes));
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

  #write(state: ContainerState): ContainerState {
    this.#makeDir();
    writeJson(this.statePath, state);
    this.#state = state;
    return state;
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

  /**
   * What the container is now, from the kernel's side: the status written, unless its
   * process is gone (stopped), or its cgroup is frozen (paused). One being created whose
   * creator died is stopped too.
   */
  status(): Status {
    const s = this.state();
    if (!s) return 'stopped';
    switch (s.status) {
      case 'stopped':
        return 'stopped';
      case 'creating':
        return this.supervisorAlive() || sameProcess(s.pid, s.pidStart) ? 'creating' : 'stopped';
      case 'created':
        return this.processAlive() ? 'created' : 'stopped';
      case 'running':
      case 'paused':
        if (!this.processAlive()) return 'stopped';
        if (s.supervisorPid !== undefined && !this.supervisorAlive()) return 'stopped';
        return this.frozen() ? 'paused' : 'running';
    }
  }

  /** Running or paused: a process of it lives. */
  isRunning(): boolean {
    const status = this.status();
    return status === 'running' || status === 'paused';
  }

  /** Its cgroup is frozen (pause): the freezer (v1) or cgroup.events (v2) says so. */
  frozen(): boolean {
    const path = this.record()?.linux.cgroupsPath;
    if (!path) return false;
    try {
      const cgroups = managerForPath(path);
      for (const file of cgroups.procsFiles(path)) {
        const dir = join(file, '..');
        const freezer = join(dir, 'freezer.state');
        if (existsSync(freezer) && readFileSync(freezer, 'utf8').trim() !== 'THAWED') return true;
        const events = join(dir, 'cgroup.events');
        if (existsSync(events) && /^frozen 1$/m.test(readFileSync(events, 'utf8'))) return true;
      }
    } catch {
      /* no cgroup: not frozen */
    }
    return false;
  }

  /** Every process of the container: its cgroup's, else its first process. */
  pids(): number[] {
    const path = this.record()?.linux.cgroupsPath;
    const cgroups = managerForPath(path);
    if (path && cgroups.exists(path)) return cgroups.pids(path).sort((a, b) => a - b);
    const s = this.state();
    return s?.pid !== undefined && this.processAlive() ? [s.pid] : [];
  }
}

/** `base` with `changes` applied; a change to undefined deletes the field. */
function merge(base: ContainerState, changes: Partial<Omit<ContainerState, 'status'>>): ContainerState {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return out as unknown as ContainerState;
}

/** The names of the containers in `dir` (a directory holding one directory per container). */
export function listContainers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter(
      (e) =>
        e.isDirectory() &&
        !e.name.endsWith('.lock') &&
        (existsSync(join(dir, e.name, 'state.json')) || existsSync(join(dir, e.name, 'config.json'))),
    )
    .map((e) => e.name)
    .sort();
}
