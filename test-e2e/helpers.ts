// Helpers for the end-to-end suite: run the built bins as a user would, and make the
// default busybox image once per run.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
export const isRoot = process.getuid?.() === 0;
export const rootReason = 'needs root: namespaces, mounts and cgroups are the thing under test';

/**
 * Where the workspace's commands are, as a user finds them after the README's quick start
 * (`export PATH=$PWD/node_modules/.bin:$PATH`). The tests run the commands from there, by
 * name, so that a bin pnpm did not link fails here as it would for a user.
 */
export const binDir = join(repo, 'node_modules', '.bin');

/** `env` (default: this process's) with the workspace's commands first on PATH. */
export function userEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, PATH: `${binDir}:${env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
}

/** Runs a diyc command (`nsexec`, `diyc-run`, ...) by name from PATH, to its end. */
export function runBin(bin: string, args: string[], options: RunOptions = {}): Promise<Result> {
  return runCommand(bin, args, { ...options, env: userEnv(options.env) });
}

export function runCommand(command: string, args: string[], options: RunOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // A command that exits without reading its input is not an error of the test's.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** The default image tarball, built by tools/make-busybox-image.mjs when missing. */
export function busyboxTarball(): string {
  const tarball = join(repo, 'tools', 'out', 'busybox.tar');
  if (!existsSync(tarball)) {
    const r = spawnSync(process.execPath, [join(repo, 'tools', 'make-busybox-image.mjs'), tarball], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building the busybox image failed: ${r.stderr}`);
  }
  return tarball;
}

/** A config.json as a test changes it: any shape (a test may write what a schema refuses). */
export type OciConfig = Record<string, any>;

/**
 * An OCI bundle at `dir`: the busybox rootfs (writable) and `diyc-oci spec`'s config running
 * `sh -c SCRIPT` in cgroup `cgroupsPath`, then changed by `change`. Returns `dir`.
 */
export async function ociBundle(
  dir: string,
  script: string,
  cgroupsPath: string,
  change: (config: OciConfig) => void = () => {},
): Promise<string> {
  mkdirSync(join(dir, 'rootfs'), { recursive: true });
  const untar = await runCommand('tar', ['-xpf', busyboxTarball(), '-C', join(dir, 'rootfs')]);
  if (untar.code !== 0) throw new Error(`unpacking busybox into ${dir} failed: ${untar.stderr}`);
  const spec = await runBin('diyc-oci', ['spec', '--no-terminal', '--bundle', dir]);
  if (spec.code !== 0) throw new Error(`diyc-oci spec failed: ${spec.stderr}`);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as OciConfig;
  config.process.args = ['sh', '-c', script];
  config.root.readonly = false;
  config.linux.cgroupsPath = cgroupsPath;
  change(config);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/**
 * A temporary directory removed by the returned function. Its name holds this run's tag
 * (global-setup.ts), so that the run's end removes the empty ones a `vitest -t` run leaves:
 * a suite that the filter skips still makes its describe-time directories, but never runs
 * its afterAll.
 */
export function tempDir(prefix = 'diyc-test-'): { path: string; remove: () => void } {
  const run = process.env.DIYC_TEST_RUN;
  const path = mkdtempSync(join(tmpdir(), run ? `${prefix}${run}-` : prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Removes this run's temporary directories that are empty (tempDir); a full one is a test's leftover, and stays to be seen. */
export function removeEmptyTempDirs(run: string): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('diyc-') || !name.includes(`-${run}-`)) continue;
    try {
      rmdirSync(join(tmpdir(), name));
    } catch {
      // not empty, or not a directory: not this function's to remove
    }
  }
}

/**
 * A bridge name and a /24 subnet of this test run's own, not routed on this machine,
 * so tests never collide with a user's diyc0 or with each other.
 */
export function testNetwork(tag: string): { bridge: string; subnet: string; prefix: string } {
  const routes = spawnSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout;
  const seed = process.pid * 7 + tag.length * 131 + tag.charCodeAt(0);
  for (let i = 0; i < 200; i++) {
    const b = 200 + ((seed + i) % 50);
    const c = (seed * 13 + i * 17) % 250;
    const prefix = `10.${b}.${c}`;
    if (!routes.includes(`${prefix}.`)) return { bridge: `d${tag}${process.pid % 100000}`.slice(0, 15), subnet: `${prefix}.0/24`, prefix };
  }
  throw new Error('no free test subnet');
}

/** A command running on a terminal of its own (a tmux session), driven as a person would. */
export interface Terminal {
  /** Waits until the screen shows `want`, and returns the screen; throws after 10 s. */
  screen(want: RegExp): Promise<string>;
  /** Types keys: text, 'Enter', 'C-c'. */
  keys(...keys: string[]): void;
  /** The command's exit status, once it has ended. */
  exitStatus(): Promise<string>;
  /** The screen now, with its colour escapes. */
  escapes(): string;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `argv` (with `env` added) on a terminal for `fn`, and ends the session whatever happens. */
export async function onTerminal(argv: string[], env: Record<string, string>, fn: (t: Terminal) => Promise<void>): Promise<void> {
  const session = `diyc-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const dir = tempDir('diyc-tty-');
  const status = join(dir.path, 'status');
  const vars = Object.entries({ PATH: userEnv().PATH, ...env })
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const run = (args: string[]) => spawnSync('tmux', args, { encoding: 'utf8' });
  // A person's shell, not the test runner's: vitest sets TEST and CI machines set CI, which
  // turn colour off in citty; the caller passes NO_COLOR itself when it wants it.
  const unset = ['CI', 'TEST', 'NO_COLOR', 'FORCE_COLOR'].map((k) => `-u ${k}`).join(' ');
  run(['new-session', '-d', '-s', session, '-x', '120', '-y', '30', `env ${unset} ${vars} ${argv.join(' ')}; echo $? > ${status}`]);
  const terminal: Terminal = {
    async screen(want) {
      let text = '';
      for (let i = 0; i < 200; i++) {
        text = run(['capture-pane', '-p', '-t', session]).stdout;
        if (want.test(text)) return text;
        await pause(50);
      }
      throw new Error(`the screen never showed ${want}:\n${text}`);
    },
    keys(...keys) {
      run(['send-keys', '-t', session, ...keys]);
    },
    escapes() {
      return run(['capture-pane', '-e', '-p', '-t', session]).stdout;
    },
    async exitStatus() {
      for (let i = 0; i < 200 && !existsSync(status); i++) await pause(50);
      return readFileSync(status, 'utf8').trim();
    },
  };
  try {
    await fn(terminal);
  } finally {
    run(['kill-session', '-t', session]);
    dir.remove();
  }
}
