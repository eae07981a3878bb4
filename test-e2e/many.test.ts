// Many detached containers at once: each is watched by a diyc-shim, not a Node process, so
// fifty sleeping containers cost fifty small static programs. They start, are listed by
// diyc-ps, and are removed, with nothing left behind: no shim, mount, cgroup or state.
// (tools/bench/detached.mjs does the same with a thousand, and measures the memory.)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { busyboxTarball, isRoot, rootReason, runBin, tempDir } from './helpers.js';

const COUNT = 50;

/** The pids of the diyc-shim processes whose command line names this state root. */
function shimsOf(root: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv[0]?.endsWith('diyc-shim') === true && argv.some((a) => a.startsWith(root));
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(!isRoot)(`${COUNT} detached containers (${rootReason})`, () => {
  const work = tempDir('diyc-many-');
  const root = join(work.path, 'state');
  const parent = `diyc-e2e-many-${process.pid}`;
  const env = { ...process.env, DIYC_ROOT: root, DIYC_CGROUP_PARENT: parent };
  const names = Array.from({ length: COUNT }, (_, i) => `m${i}`);

  beforeAll(async () => {
    expect((await runBin('diyc-image', ['unpack', busyboxTarball(), '--name', 'busybox'], { env })).code).toBe(0);
  });

  afterAll(async () => {
    for (const n of names) await runBin('diyc-rm', ['-f', n], { env });
    createCgroupManager({ parent }).pruneParent();
    work.remove();
  });

  it('start, each under its own diyc-shim; diyc-ps lists them all running; diyc-rm -f removes them and their shims', async () => {
    // Ten at a time: a machine of two cores is not made slower than it need be.
    for (let i = 0; i < COUNT; i += 10) {
      const batch = await Promise.all(
        names
          .slice(i, i + 10)
          .map((n) => runBin('diyc-run', ['-d', '--net', 'none', n, 'busybox', 'sleep', '600'], { env, timeoutMs: 120_000 })),
      );
      for (const r of batch) expect(r.code, r.stderr).toBe(0);
    }
    expect(shimsOf(root)).toHaveLength(COUNT);
    const listed = JSON.parse((await runBin('diyc-ps', ['--json'], { env })).stdout) as { name: string; status: string }[];
    expect(
      listed
        .filter((c) => c.status === 'running')
        .map((c) => c.name)
        .sort(),
    ).toEqual([...names].sort());
    // The table through a pipe: a line a container, and the header.
    const table = await runBin('sh', ['-c', 'diyc-ps | wc -l'], { env });
    expect(Number(table.stdout.trim())).toBe(COUNT + 1);
    for (let i = 0; i < COUNT; i += 10) {
      const batch = await Promise.all(names.slice(i, i + 10).map((n) => runBin('diyc-rm', ['-f', n], { env, timeoutMs: 120_000 })));
      for (const r of batch) expect(r.code, r.stderr).toBe(0);
    }
    expect(shimsOf(root)).toEqual([]);
    expect(readdirSync(join(root, 'containers')).filter((n) => !n.endsWith('.lock'))).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(root);
    expect(createCgroupManager({ parent }).list()).toEqual([]);
  }, 600_000);
});
