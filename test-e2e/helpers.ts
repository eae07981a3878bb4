// Helpers for the end-to-end suite: run the built bins as a user would, and make the
// default busybox image once per run.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
export const isRoot = process.getuid?.() === 0;
export const rootReason = 'needs root: namespaces, mounts and cgroups are the thing under test';

/** The path of a built bin, by package directory and bin file. */
export function binPath(pkg: string): string {
  return join(repo, 'packages', pkg, 'dist', 'bin.js');
}

const BINS: Record<string, string> = {
  nsexec: 'nsexec',
  'diyc-image': 'image',
  'diyc-overlay': 'overlay',
  'diyc-cgroup': 'cgroup',
  'diyc-net': 'net',
  'diyc-run': 'run',
};

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

/** Runs a diyc bin (`nsexec`, `diyc-run`, ...) with node, to its end. */
export function runBin(bin: string, args: string[], options: RunOptions = {}): Promise<Result> {
  const pkg = BINS[bin] ?? bin;
  return runCommand(process.execPath, [binPath(pkg), ...args], options);
}

export function runCommand(command: string, args: string[], options: RunOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
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

/** A temporary directory removed by the returned function. */
export function tempDir(prefix = 'diyc-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
