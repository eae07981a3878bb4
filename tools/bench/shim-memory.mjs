#!/usr/bin/env node
// Memory of diyc-shim, the supervisor of a detached container: N shims, each supervising
// its own `sleep 1000`, all running at once; the Pss of the shims (/proc/PID/smaps_rollup:
// each shared page divided among the processes that map it) summed and divided by N.
// Every process it started is ended by its pid before it exits, even on failure or Ctrl-C.
//
//   node tools/bench/shim-memory.mjs [N] [--write BYTES]
//
// --write BYTES: each command first writes BYTES to its stdout (then execs sleep), so the
// shim's copy buffer and its log rotation have been used (the log: 256 KiB, one old file).
// Needs the addon's build (pnpm build); no root.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shimPath } from '../../packages/syscalls/dist/index.js'; // built by pnpm build

const args = process.argv.slice(2);
const writeAt = args.indexOf('--write');
const write = writeAt >= 0 ? Number(args.splice(writeAt, 2)[1]) : 0;
const count = Number(args[0] ?? 200);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(write) || write < 0) {
  console.error('usage: node tools/bench/shim-memory.mjs [N] [--write BYTES]');
  process.exit(2);
}

const shim = shimPath();
const work = mkdtempSync(join(tmpdir(), 'diyc-shim-memory-'));
const shims = []; // { proc, pid, child }

const childrenOf = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

const rollup = (pid) => {
  const fields = {};
  for (const line of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m) fields[m[1]] = Number(m[2]);
  }
  return fields;
};

/** Starts one shim and resolves once it has written its ready byte (and closed the pipe). */
function startOne(i) {
  const command = write > 0 ? ['sh', '-c', `head -c ${write} /dev/zero; exec sleep 1000`] : ['sleep', '1000'];
  const log = ['--log', join(work, `log.${i}`), '--log-size', String(256 * 1024)];
  const proc = spawn(shim, [...log, '--exit-file', join(work, `exit.${i}`), '--ready-fd', '3', '--', ...command], {
    stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
  });
  const entry = { proc, pid: proc.pid, child: undefined };
  shims.push(entry);
  return new Promise((resolve, reject) => {
    let byte = '';
    proc.stdio[3].on('data', (b) => {
      byte += b;
    });
    proc.stdio[3].on('end', () => (byte === '1' ? resolve() : reject(new Error(`shim ${i} did not start`))));
    proc.on('error', reject);
  });
}

async function stopAll() {
  const alive = shims.filter((s) => s.proc.exitCode === null && s.proc.signalCode === null);
  for (const s of alive) s.child ??= childrenOf(s.pid)[0];
  // SIGTERM to a shim reaches its sleep; the shim then ends too.
  const exits = alive.map(
    (s) =>
      new Promise((resolve) => {
        s.proc.once('exit', resolve);
        try {
          s.proc.kill('SIGTERM');
        } catch {
          resolve();
        }
      }),
  );
  await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 10_000))]);
  for (const s of shims) {
    for (const pid of [s.child, s.proc.exitCode === null && s.proc.signalCode === null ? s.pid : undefined]) {
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

let failed = false;
process.on('SIGINT', () => {
  failed = true;
});
try {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count && !failed; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => startOne(i + k)));
  }
  const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
  for (const s of shims) s.child = childrenOf(s.pid)[0];
  if (write > 0) {
    // Until every command has written its bytes and is sleeping.
    const until = Date.now() + 60_000;
    const sleeping = (s) => {
      try {
        return readFileSync(`/proc/${s.child}/comm`, 'utf8').trim() === 'sleep';
      } catch {
        return false;
      }
    };
    while (!shims.every(sleeping) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
  }
  let pss = 0,
    rss = 0,
    privateDirty = 0;
  for (const s of shims) {
    const f = rollup(s.pid);
    pss += f.Pss ?? 0;
    rss += f.Rss ?? 0;
    privateDirty += (f.Private_Dirty ?? 0) + (f.Private_Clean ?? 0);
  }
  const per = (kb) => (kb / shims.length).toFixed(0).padStart(5);
  console.log(
    `diyc-shim x ${shims.length}${write ? `, each command first writing ${write} bytes` : ''} (started in ${startMs.toFixed(0)} ms)`,
  );
  console.log(`  Pss per shim     ${per(pss)} KiB   (all shims: ${(pss / 1024).toFixed(1)} MiB)`);
  console.log(`  Rss per shim     ${per(rss)} KiB`);
  console.log(`  Private per shim ${per(privateDirty)} KiB`);
} catch (err) {
  failed = true;
  console.error(`shim-memory: ${err.message}`);
} finally {
  await stopAll();
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
