// OCI hooks: programs the runtime runs at points of a container's life, with the
// container's state as JSON on their stdin.
// https://github.com/opencontainers/runtime-spec/blob/main/config.md#posix-platform-hooks
//
//   prestart, createRuntime  during create, in the runtime's namespaces, before pivot_root
//   createContainer          during create, in the container's mount namespace, before pivot_root
//   startContainer           during start, run by the container's process itself (child.cc),
//                            in its namespaces and root, under its seccomp filter, right
//                            before its execve: planFromRecord gives them to it
//   poststart                during start, after the process runs, in the runtime's namespaces
//   poststop                 during delete, after the container is gone
//
// A hook that fails (exit code, or its timeout) fails create and start; after poststart
// and poststop it is only a warning, as the spec asks.
import { createRequire } from 'node:module';
import { DiycError, type Hook, type Hooks } from '@diyc/record';
import { spawn, type Namespace } from '@diyc/syscalls';
import { nsPath } from './ns-path.js';

// node:child_process costs about 3 ms to load: only when a config has hooks.
const require = createRequire(import.meta.url);
const childProcess = (): typeof import('node:child_process') => require('node:child_process') as typeof import('node:child_process');

export type HookPoint = keyof Hooks;

/** Runs one hook in this process's namespaces; throws when it fails. */
function runHere(point: HookPoint, hook: Hook, state: string): void {
  const [argv0, ...args] = hook.args ?? [hook.path];
  const env = Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const r = childProcess().spawnSync(hook.path, args, {
    argv0: argv0 ?? hook.path,
    env,
    input: state,
    encoding: 'utf8',
    ...(hook.timeout !== undefined ? { timeout: hook.timeout * 1000, killSignal: 'SIGKILL' as const } : {}),
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT')
    throw new DiycError('system', `${point} hook ${hook.path} timed out after ${hook.timeout}s`);
  // EPIPE: the hook ended without reading the state on its stdin, which it need not do.
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'EPIPE')
    throw new DiycError('system', `${point} hook ${hook.path} could not run: ${r.error.message}`);
  if (r.status !== 0)
    throw new DiycError(
      'system',
      `${point} hook ${hook.path} failed (${r.status === null ? `signal ${r.signal}` : `exit ${r.status}`}): ${r.stderr.trim().split('\n').pop() ?? ''}`,
    );
}

/** Where a hook runs inside the container: the namespaces of its init, and a working directory. */
export interface Inside {
  pid: number;
  namespaces: Namespace[];
  /**
   * createContainer runs before pivot_root, in the root's directory (as runc's do): a
   * path the hook names relative to it is the container's, never the host's.
   */
  cwd?: string | undefined;
}

/** Runs one hook inside the namespaces of `pid` (the container's init); throws when it fails. */
async function runInside(point: HookPoint, hook: Hook, state: string, inside: Inside): Promise<void> {
  const { pid, namespaces } = inside;
  const { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  // The state goes in through a file opened before the hook joins the container.
  const dir = mkdtempSync(join(tmpdir(), 'diyc-oci-hook-'));
  const input = join(dir, 'state');
  writeFileSync(input, state);
  const fd = openSync(input, 'r');
  const err = openSync(join(dir, 'stderr'), 'w');
  try {
    const child = spawn({
      argv: [hook.path, ...(hook.args ?? [hook.path]).slice(1)],
      env: hook.env ?? [],
      join: namespaces.map((type) => ({ type, path: nsPath(pid, type) })),
      stdio: [fd, null, err],
      cwd: inside.cwd ?? '/',
    });
    const timer = hook.timeout !== undefined ? setTimeout(() => child.kill('SIGKILL'), hook.timeout * 1000) : undefined;
    const status = await child.exited;
    if (timer) clearTimeout(timer);
    if (status.code !== 0) {
      const stderr = readFileSync(join(dir, 'stderr'), 'utf8').trim().split('\n').pop() ?? '';
      throw new DiycError(
        'system',
        `${point} hook ${hook.path} failed (${status.code === null ? `signal ${status.signal}` : `exit ${status.code}`})${stderr ? `: ${stderr}` : ''}`,
      );
    }
  } finally {
    closeSync(fd);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the hooks of `point` in order. `inside` gives the container's init and the
 * namespaces to join (createContainer, startContainer); without it they run here.
 * With `warnOnly` (poststart, poststop) a failure is reported and the rest still run.
 */
export async function runHooks(
  point: HookPoint,
  hooks: Hooks | undefined,
  state: object,
  options: {
    inside?: Inside;
    warnOnly?: (message: string) => void;
  } = {},
): Promise<void> {
  const text = JSON.stringify(state);
  for (const hook of hooks?.[point] ?? []) {
    try {
      if (options.inside) await runInside(point, hook, text, options.inside);
      else runHere(point, hook, text);
    } catch (err) {
      if (!options.warnOnly) throw err;
      options.warnOnly((err as Error).message);
    }
  }
}
