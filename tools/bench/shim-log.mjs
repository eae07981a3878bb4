#!/usr/bin/env node
// Log throughput of diyc-shim under a flood (issue 17, row 10: 300 MB in 8 s), side by side
// with the same bytes written straight to a file, alternating A B A B:
//   A  diyc-shim --log F --log-size 10M --log-files 2 -- sh -c 'yes | head -c 300M'
//   B  sh -c 'yes | head -c 300M > F'
// Each run writes into a fresh directory, removed after it is timed (a file replaced or
// truncated costs ext4 a flush, which would be timed otherwise). Checks that the shim left
// at most 3 x 10 MiB on disk. Besides the wall time, the CPU time of every process of the
// run (user + system, from the shell's `times`): on a loaded machine the wall time mostly
// measures the wait for a CPU, which hits the run with three processes harder.
//
//   node tools/bench/shim-log.mjs [ROUNDS]      (needs the addon's build: pnpm build; no root)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './lib.mjs';
import { shimPath } from '../../packages/syscalls/dist/index.js'; // built by pnpm build

const rounds = Number(process.argv[2] ?? 7);
const shim = shimPath();
const flood = 'yes | head -c 300M';
const limit = 10 * 1024 * 1024;
const work = mkdtempSync(join(tmpdir(), 'diyc-shim-log-'));

const q = (s) => `'${s.replaceAll("'", "'\\''")}'`;
const commands = {
  'diyc-shim, --log-size 10M --log-files 2': (dir) =>
    `${q(shim)} --log ${q(join(dir, 'log'))} --log-size 10M --log-files 2 -- sh -c ${q(flood)}`,
  '> file': (dir) => `${flood} > ${q(join(dir, 'log'))}`,
};

/** The children's user + system seconds, from the second line of `times` ("0m0.01s 0m0.23s"). */
const childCpu = (out) => {
  const line = out.trim().split('\n').at(-1) ?? '';
  return [...line.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0) * 1000;
};

const times = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
const cpu = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
let failed = false;
try {
  for (let i = 0; i < rounds + 1; i++) {
    // the first round warms up
    for (const [name, argv] of Object.entries(commands)) {
      const dir = mkdtempSync(join(work, 'run-'));
      const start = process.hrtime.bigint();
      const r = spawnSync('sh', ['-c', `${argv(dir)}; status=$?; times; exit $status`], {
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
      });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (r.status !== 0) throw new Error(`${name} failed (${r.status}): ${r.stderr}`);
      const files = readdirSync(dir).map((f) => statSync(join(dir, f)).size);
      const total = files.reduce((a, b) => a + b, 0);
      if (name.startsWith('diyc-shim') && (files.length > 3 || files.some((s) => s > limit))) {
        throw new Error(`the shim left ${files.length} files, ${total} bytes: more than 3 x ${limit}`);
      }
      rmSync(dir, { recursive: true, force: true });
      if (i > 0) {
        times[name].push(ms);
        cpu[name].push(childCpu(r.stdout));
      }
    }
  }
  const ref = median(times['> file']);
  const refCpu = median(cpu['> file']);
  console.log(`yes | head -c 300M, ${rounds} rounds, medians:`);
  for (const [name, list] of Object.entries(times)) {
    const m = median(list);
    const c = median(cpu[name]);
    console.log(
      `  ${name.padEnd(42)} wall ${m.toFixed(0).padStart(5)} ms x${(m / ref).toFixed(2)} (${(300 / (m / 1000)).toFixed(0)} MB/s)   cpu ${c.toFixed(0).padStart(4)} ms x${(c / refCpu).toFixed(2)}`,
    );
  }
} catch (err) {
  failed = true;
  console.error(`shim-log: ${err.message}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
