// Who runs health checks when there is no daemon: a monitor process per container that has
// one (`diyc --health NAME`, started with the container in a session of its own). It runs
// the check every interval through the core's exec (the container's namespaces, cgroup,
// capabilities and seccomp filter, as `diyc exec`), and writes State.Health into
// docker.json, where `ps` and `inspect` read it. It ends when the container stops, or
// when a newer monitor (a restart's) has taken its place. Containers without a health
// check cost nothing: no monitor.
import { closeSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { exec, execProcess, processStart, sameProcess, type Container } from '@diyc/container';
import { noTrace, writeErr } from '@diyc/cli';
import { stateRoot } from '@diyc/record';
import { pipe, signalIf } from '@diyc/syscalls';
import { containerAt, readMeta, runtimeFor, updateMeta, type DockerMeta, type HealthLog } from './containers.js';
import { HEALTH_OUTPUT_MAX, healthArgv, nextDelay, nextHealth, type Healthcheck } from './health.js';
import { childProcess, net } from './lazy-builtins.js';

const { SIGTERM } = constants.signals;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long a monitor waits for a container started in the foreground to be running. */
const START_WAIT_MS = 30_000;
/** How long a check's output is still read once it has ended. */
const DRAIN_MS = 250;

/** Starts the monitor of a container with a health check; its own session, no stdio, not waited for. */
export function spawnHealthMonitor(container: Container, script: string, root: string = stateRoot()): void {
  if (!readMeta(container)?.healthcheck) return;
  const child = childProcess().spawn(process.execPath, [script, '--health', container.name], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, DIYC_ROOT: root },
  });
  // A spawn that fails (no process left under a pids limit) is said, and the container
  // keeps running unchecked: an 'error' event nobody listens to would end this process.
  child.on('error', (err) => writeErr(`diyc: ${container.name}: its health checks cannot run: ${err.message}\n`));
  child.unref();
}

/** Ends the monitor of a container that `stop`, `kill` or `rm` ends, rather than at its next check. */
export function endHealthMonitor(meta: DockerMeta | undefined): void {
  const monitor = meta?.healthMonitor;
  if (!monitor || monitor.pid === process.pid) return;
  // Through a pidfd: the monitor's pid is signalled only while it is the monitor.
  signalIf(monitor.pid, SIGTERM, () => sameProcess(monitor.pid, monitor.start));
}

/** Runs the checks of container `name` until it stops; the monitor's whole life. */
export async function monitorHealth(name: string, root: string = stateRoot()): Promise<void> {
  const container = containerAt(name, root);
  const me = { pid: process.pid, start: processStart(process.pid) ?? '' };
  const meta = updateMeta(container, (m) => {
    m.healthMonitor = me;
  });
  const check = meta?.healthcheck;
  if (!check) return;
  const mine = (): boolean => readMeta(container)?.healthMonitor?.pid === me.pid;
  const begun = Date.now();
  let startedAt: number | undefined;
  for (;;) {
    const status = container.refresh().status();
    if (startedAt === undefined) {
      if (status === 'running') startedAt = Date.now();
      else if (Date.now() - begun > START_WAIT_MS) return;
      else {
        await sleep(100);
        continue;
      }
    }
    await sleep(nextDelay(check, startedAt, Date.now()));
    if (!mine()) return;
    const now = container.refresh().status();
    if (now === 'paused') continue;
    if (now !== 'running') return;
    const result = await runCheck(container, check, root);
    if (!container.refresh().isRunning()) return;
    const inStartPeriod = Date.now() - startedAt < check.StartPeriod;
    updateMeta(container, (m) => {
      if (m.healthMonitor?.pid !== me.pid) return;
      m.health = nextHealth(m.health ?? { Status: 'starting', FailingStreak: 0, Log: [] }, check, result, inStartPeriod);
    });
  }
}

/**
 * One check: the command exec'd in the container, killed at the timeout; its code and the
 * last 4 KiB of its stdout and stderr. Its stdio are pipes: never a host file the container
 * could reopen through /proc/PID/fd (host's /dev/null, chmod), nor one it could fill.
 */
async function runCheck(container: Container, check: Healthcheck, root: string): Promise<HealthLog> {
  const Start = new Date().toISOString();
  const record = container.record();
  if (!record) return { Start, End: Start, ExitCode: -1, Output: 'the container has no record' };
  const [stdin, stdinEnd] = pipe();
  closeSync(stdinEnd);
  const [read, write] = pipe();
  const output = keepTail(read, HEALTH_OUTPUT_MAX);
  let writeOpen = true;
  const closeWrite = (): void => {
    if (writeOpen) closeSync(write);
    writeOpen = false;
  };
  let pid: number | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (pid !== undefined) killCheck(pid);
  }, check.Timeout);
  let ExitCode: number;
  let Output = '';
  try {
    const proc = execProcess(record, healthArgv(check), {}, false);
    ExitCode = await exec(runtimeFor(container.name, noTrace, root), container, proc, {
      stdio: [stdin, write, write],
      onSpawn: (p) => {
        pid = p;
        closeWrite();
      },
    });
    Output = await output.text();
  } catch (err) {
    ExitCode = -1;
    Output = err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
    closeWrite();
    closeSync(stdin);
    output.close();
  }
  if (timedOut) {
    ExitCode = -1;
    Output = `Health check exceeded timeout (${check.Timeout / 1000}s)`;
  }
  return { Start, End: new Date().toISOString(), ExitCode, Output };
}

/**
 * Ends a check that outlived its timeout. The pid exec reports is a relay left in our PID
 * namespace (the command, forked after it joined the container's, is its child): SIGKILL
 * cannot be passed on, and the relay killed alone would leave the command running in the
 * container, one more at every interval. So the command first, found as the relay's child
 * (the relay waits for it, so its pid is not reused meanwhile), then the relay.
 * https://man7.org/linux/man-pages/man5/proc_pid_task.5.html (children)
 */
function killCheck(relay: number): void {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${relay}/task/${relay}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    /* gone already */
  }
  for (const pid of [...children, relay]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

/** Reads `fd` to its end (or DRAIN_MS after text() is asked), keeping only its last `max` bytes. */
function keepTail(fd: number, max: number): { text: () => Promise<string>; close: () => void } {
  let kept = Buffer.alloc(0);
  const stream = new (net().Socket)({ fd, readable: true, writable: false });
  const ended = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  stream.on('error', () => stream.destroy());
  stream.on('data', (chunk: Buffer) => {
    kept = Buffer.concat([kept, chunk]);
    if (kept.length > max) kept = kept.subarray(kept.length - max);
  });
  return {
    // A process the check left behind may hold the pipe: what came within DRAIN_MS is its output.
    text: async () => {
      await Promise.race([ended, sleep(DRAIN_MS)]);
      return kept.toString();
    },
    close: () => stream.destroy(),
  };
}
