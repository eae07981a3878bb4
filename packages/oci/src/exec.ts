// `diyc-oci exec`: another process in a running container, with its namespaces, cgroup,
// and the policy the process asks (as containerd passes it in --process: capabilities,
// user, rlimits...), and the container's seccomp filter. In the foreground it waits and
// exits as the process does; with --detach it leaves it to the caller's subreaper.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processPlan, seccompPlan, startError, StdioProxy, superviseChild } from '@diyc/nsexec';
import { ANNOTATION, DiycError, parseRecord, type RecordProcess, type Trace } from '@diyc/record';
import { exitCodeOf, isSyscallError, spawn, type SpawnPlan } from '@diyc/syscalls';
import { unsupportedFields } from './bundle.js';
import { containerNamespaces, writePidFile } from './create.js';
import { existingContainer, ociStatus } from './oci-container.js';

/** An OCI process object (exec --process FILE), checked as a record's process is. */
export function parseProcess(text: string, warn: (m: string) => void = () => {}): RecordProcess {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DiycError('invalid', `the process is not JSON: ${(err as Error).message}`);
  }
  const refused = unsupportedFields({ process: raw }, warn);
  if (refused.length > 0) throw new DiycError('unsupported', `diyc-oci cannot honour ${refused.join(', ')}`);
  return parseRecord(JSON.stringify({ process: raw, mounts: [], linux: { namespaces: [] } })).process;
}

export interface ExecOptions {
  root: string;
  id: string | undefined;
  process: RecordProcess;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: number;
  trace: Trace;
}

/** Runs the process; returns its exit code (foreground), or 0 once it runs (detached). */
export async function execInContainer(options: ExecOptions): Promise<number> {
  const container = existingContainer(options.root, options.id);
  const status = ociStatus(container);
  if (status !== 'running' && status !== 'created') throw new DiycError('state', `cannot exec in container ${container.name}: it is ${status}: container not running`);
  const record = container.record();
  const pid = container.state()?.pid;
  if (!record || pid === undefined) throw new DiycError('state', `container ${container.name} has no record`);
  const terminal = options.process.terminal === true;
  if (terminal && options.consoleSocket === undefined && options.detach) throw new DiycError('usage', 'cannot allocate a terminal for a detached process without --console-socket');
  const names: Record<string, string> = { mount: 'mnt', uts: 'uts', ipc: 'ipc', pid: 'pid', network: 'net', cgroup: 'cgroup', user: 'user' };
  // The mount namespace last: the others are opened by path before it changes them.
  const namespaces = containerNamespaces(record).sort((a, b) => Number(a === 'mount') - Number(b === 'mount'));
  const plan: SpawnPlan = {
    ...processPlan(options.process),
    join: namespaces.map((type) => ({ type, path: `/proc/${pid}/ns/${names[type]}` })),
    newKeyring: true,
    hold: true,
  };
  const seccomp = seccompPlan(record.linux.seccomp, { trace: options.trace, cacheDir: join(options.root, 'seccomp') });
  if (seccomp) plan.seccomp = seccomp;
  const procs = record.annotations[ANNOTATION.cgroupProcs];
  if (procs) plan.cgroupProcs = procs.split(':').filter(Boolean);
  if (options.consoleSocket !== undefined) {
    plan.consoleSocket = options.consoleSocket;
    const size = options.process.consoleSize;
    if (size) plan.consoleSize = { rows: size.height, cols: size.width };
  }
  // In the foreground without a console socket, the process never gets the caller's
  // terminal: a pty of its own proxied to it (process.terminal), else pipes and a session.
  const proxy = !options.detach && options.consoleSocket === undefined ? new StdioProxy({ terminal }) : undefined;
  if (proxy) Object.assign(plan, proxy.plan());
  if (options.detach) {
    plan.detachAfterFork = true;
    if (!terminal) plan.setsid = true;
  }
  if (options.preserveFds) plan.keepFds = Array.from({ length: options.preserveFds }, (_, i) => 3 + i);
  try {
    const child = spawn(plan);
    proxy?.spawned();
    if (options.detach) {
      child.release();
      if (options.pidFile !== undefined) writePidFile(options.pidFile, child.pid);
      return 0;
    }
    if (options.pidFile !== undefined) writePidFile(options.pidFile, child.pid);
    return exitCodeOf(await superviseChild(child, { ...(proxy ? { stdio: proxy } : {}), release: () => child.release() }));
  } catch (err) {
    if (isSyscallError(err)) throw startError(err, options.process.args[0] ?? '');
    throw err;
  }
}

/** The process `exec ID CMD...` runs: the container's own, with the command, env, cwd and user asked. */
export function processFromArgs(base: RecordProcess, args: string[], flags: { env: string[]; cwd?: string; user?: string; tty: boolean }): RecordProcess {
  const process: RecordProcess = { ...base, args, terminal: flags.tty };
  for (const e of flags.env) {
    if (e.indexOf('=') <= 0) throw new DiycError('usage', `--env ${e}: use KEY=VALUE`);
    const key = e.slice(0, e.indexOf('='));
    process.env = [...process.env.filter((v) => !v.startsWith(`${key}=`)), e];
  }
  if (flags.cwd !== undefined) process.cwd = flags.cwd;
  if (flags.user !== undefined) {
    const m = /^(\d+)(?::(\d+))?$/.exec(flags.user);
    if (!m) throw new DiycError('usage', `--user ${flags.user}: use UID[:GID] (numbers)`);
    process.user = { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
  }
  return process;
}

/** The process JSON of --process FILE. */
export function readProcessFile(file: string, warn: (m: string) => void): RecordProcess {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DiycError('not-found', `--process ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return parseProcess(text, warn);
}
