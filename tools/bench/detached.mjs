#!/usr/bin/env node
// Detached containers at scale: N `diyc-run -d --net none NAME busybox sleep` (default
// 1000) start, `diyc-ps` lists them, and they are removed, with nothing left behind. It
// prints how long each phase took and the memory each container costs the host: the
// proportional set size (PSS, /proc/PID/smaps_rollup) of its diyc-shim, the process that
// stands where a Node supervisor (17 MB) stood before, and conmon (1-2 MB) stands for
// podman. The containers' own `sleep` is not counted: it is the workload.
// NODE_EXTRA_CA_CERTS is unset (it costs every Node start ~30 ms in this sandbox).
//
//   node tools/bench/detached.mjs [N] [PARALLEL]      (root)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const count = Number(process.argv[2] ?? 1000);
const parallel = Number(process.argv[3] ?? 8);
const work = mkdtempSync(join(tmpdir(), 'diyc-bench-detached-'));
const root = join(work, 'root');
const parent = `diyc-bench-detached-${process.pid}`;
const { NODE_EXTRA_CA_CERTS: _unset, ...inherited } = process.env;
const env = { ...inherited, DIYC_ROOT: root, DIYC_CGROUP_PARENT: parent };
const bin = (name, pkg = 'run') => join(repo, 'packages', pkg, 'bin', `${name}.js`);
const names = Array.from({ length: count }, (_, i) => `d${i}`);

/** Runs `node BIN ARGS` to its end; rejects with its stderr when it fails. */
function run(script, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')}: ${err.trim()}`))));
  });
}

// Ctrl-C or a kill: stop starting containers and remove those made (finally, below).
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    stopping = true;
  });

/** Runs `fn` on every name, `parallel` at a time; returns the seconds it took. */
async function each(fn) {
  const start = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < names.length && !stopping) await fn(names[next++]);
    }),
  );
  if (stopping) throw new Error('interrupted: removing what was made');
  return (Date.now() - start) / 1000;
}

const shims = () =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv[0]?.endsWith('diyc-shim') && argv.some((a) => a.startsWith(root));
      } catch {
        return false;
      }
    });
const kib = (pid, field) =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);

try {
  execFileSync(process.execPath, [bin('diyc-image', 'image'), 'unpack', join(repo, 'tools/out/busybox.tar'), '--name', 'busybox'], {
    env,
    stdio: 'ignore',
  });
  const started = await each((n) => run(bin('diyc-run'), ['-d', '--net', 'none', n, 'busybox', 'sleep', '3600']));
  const pids = shims();
  const pss = pids.reduce((sum, p) => sum + kib(p, 'Pss'), 0);
  const rss = pids.reduce((sum, p) => sum + kib(p, 'Rss'), 0);
  const listStart = Date.now();
  const listed = execFileSync(process.execPath, [bin('diyc-ps'), '--json'], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const listSeconds = (Date.now() - listStart) / 1000;
  const running = JSON.parse(listed).filter((c) => c.status === 'running').length;
  const removed = await each((n) => run(bin('diyc-rm'), ['-f', n]));
  const left = shims().length;
  console.log(`\n${count} detached containers (diyc-run -d --net none busybox sleep), ${parallel} at a time`);
  console.log(
    `  started in ${started.toFixed(1)} s (${((started * 1000) / count).toFixed(0)} ms each); diyc-ps listed ${running} running in ${listSeconds.toFixed(2)} s; removed in ${removed.toFixed(1)} s`,
  );
  console.log(
    `  diyc-shim per container: PSS ${(pss / pids.length).toFixed(0)} KiB, RSS ${(rss / pids.length).toFixed(0)} KiB (${pids.length} shims, ${(pss / 1024).toFixed(1)} MiB PSS in all); a Node supervisor was 17 MB`,
  );
  console.log(`  left behind: ${left} shims`);
  if (running !== count || left !== 0) process.exitCode = 1;
} finally {
  // Whatever a failure left: removed by diyc-rm, which prunes the cgroup parent with the last one.
  let left = [];
  try {
    left = readdirSync(join(root, 'containers')).filter((n) => !n.endsWith('.lock'));
  } catch {
    /* none made */
  }
  for (const n of left) {
    try {
      execFileSync(process.execPath, [bin('diyc-rm'), '-f', n], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      console.error(`diyc-rm -f ${n}: ${err.stderr?.toString().trim() || err.message}`);
    }
  }
  // A failure above must stay the error this run reports: one here is only said.
  try {
    rmSync(work, { recursive: true, force: true });
  } catch (err) {
    console.error(`left behind: ${work} (${err.message})`);
    process.exitCode = 1;
  }
}
