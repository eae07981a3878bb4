import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ExitStatus, type SpawnPlan } from '../src/index.js';

export const isRoot = process.getuid?.() === 0;
export const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Spawns `plan` with stdout and stderr in a temporary file, waits, and returns both. */
export async function capture(plan: Omit<SpawnPlan, 'env'> & { env?: string[] }): Promise<ExitStatus & { output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'diyc-syscalls-'));
  const file = join(dir, 'out');
  const fd = openSync(file, 'w');
  try {
    const child = spawn({ env: [PATH], ...plan, stdio: [null, fd, fd] });
    const status = await child.exited;
    return { ...status, output: readFileSync(file, 'utf8') };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}
