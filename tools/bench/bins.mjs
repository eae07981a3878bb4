#!/usr/bin/env node
// What loading a diyc command costs: every bin of every package (found from the packages'
// package.json, so a new package is measured too), each run as installed (`node
// bin/NAME.js`; diyc-oci's shell script itself), against `node -e 0`, round after round (A B A B ...), medians. The cheap
// commands only: --version of each bin, and the calls containerd and a user make most
// (`diyc-oci list` on an empty root, `diyc-oci state` of a missing container, `diyc-ps`).
// With --base DIR, the same commands from another checkout (built) are alternated with
// these, for a before/after in one run.
// NODE_EXTRA_CA_CERTS is unset: reading a CA bundle costs every Node start ~30 ms in this
// sandbox, and users' machines do not load one.
//
//   node tools/bench/bins.mjs [--rounds N] [--base DIR] [--only SUBSTRING]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { median } from './lib.mjs';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '30' }, base: { type: 'string' }, only: { type: 'string' } },
});
const rounds = Number(values.rounds);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'diyc-bench-bins-'));
const { NODE_EXTRA_CA_CERTS: _unset, ...inherited } = process.env;
const env = { ...inherited, DIYC_ROOT: join(work, 'root') };

/** Every bin of the workspace's packages but the umbrella `diyc` (its bins import these). */
function bins(checkout) {
  const found = {};
  for (const dir of readdirSync(join(checkout, 'packages'))) {
    if (dir === 'diyc') continue;
    let manifest;
    try {
      manifest = JSON.parse(readFileSync(join(checkout, 'packages', dir, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    for (const [name, file] of Object.entries(manifest.bin ?? {})) found[name] = join(checkout, 'packages', dir, file);
  }
  return found;
}

/** name -> [bin, args, exit status expected]. */
function commands(checkout) {
  const all = bins(checkout);
  const list = {};
  for (const name of Object.keys(all).sort()) list[`${name} --version`] = [all[name], ['--version'], 0];
  if (all['diyc-oci']) {
    list['diyc-oci list'] = [all['diyc-oci'], ['--root', join(work, 'oci'), 'list'], 0];
    list['diyc-oci state MISSING'] = [all['diyc-oci'], ['--root', join(work, 'oci'), 'state', 'missing'], 1];
  }
  if (all['diyc-ps']) list['diyc-ps'] = [all['diyc-ps'], [], 0];
  return list;
}

/** A bin as its shebang runs it: `node FILE` for a Node script, the file itself for a shell script (diyc-oci's). */
function asInstalled(file, args, status) {
  return file.endsWith('.js') ? [process.execPath, [file, ...args], status] : [file, args, status];
}

const mine = commands(repo);
const base = values.base ? commands(values.base) : {};
const argvs = { 'node -e 0': [process.execPath, ['-e', '0'], 0] };
for (const [name, [file, args, status]] of Object.entries(mine)) {
  if (values.only && !name.includes(values.only)) continue;
  argvs[name] = asInstalled(file, args, status);
  if (base[name]) argvs[`${name} (base)`] = asInstalled(base[name][0], base[name][1], status);
}

// Python times each run: wall clock, and the CPU time the child used (getrusage of the
// waited children), which a busy machine disturbs less than the wall clock.
const timer = `
import json, os, resource, subprocess, sys, time
cmds = json.load(sys.stdin); rounds = int(sys.argv[1]); out = {k: [] for k in cmds}
for i in range(rounds + 2):
  for name, (argv, status) in cmds.items():
    u0 = resource.getrusage(resource.RUSAGE_CHILDREN); t = time.perf_counter()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    w = (time.perf_counter() - t) * 1000; u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != status: sys.exit(f"{name}: exit {r.returncode}, not {status}: {r.stderr.decode()}")
    if i >= 2: out[name].append([w, (u1.ru_utime + u1.ru_stime - u0.ru_utime - u0.ru_stime) * 1000])
json.dump(out, sys.stdout)
`;
let runs;
try {
  const input = JSON.stringify(Object.fromEntries(Object.entries(argvs).map(([k, [cmd, args, status]]) => [k, [[cmd, ...args], status]])));
  const r = spawnSync('python3', ['-c', timer, String(rounds)], { env, input, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  runs = JSON.parse(r.stdout);
} finally {
  rmSync(work, { recursive: true, force: true });
}
const wall = (name) => median(runs[name].map((x) => x[0]));
const cpu = (name) => median(runs[name].map((x) => x[1]));

const f = (x) => x.toFixed(1).padStart(6);
const over = (x, ref) => `+${(x - ref).toFixed(1).padStart(5)}`;
const [nodeWall, nodeCpu] = [wall('node -e 0'), cpu('node -e 0')];
console.log(`\nloading a diyc command, ${rounds} rounds alternated: median wall ms, and CPU ms (user+sys); + is over node -e 0`);
console.log(
  `  ${''.padEnd(30)} ${'wall'.padStart(6)}  ${''.padStart(6)}  ${'cpu'.padStart(6)}  ${''.padStart(6)}${values.base ? `   | base: wall          cpu` : ''}`,
);
console.log(`  ${'node -e 0'.padEnd(30)} ${f(nodeWall)}  ${''.padStart(6)}  ${f(nodeCpu)}`);
for (const name of Object.keys(argvs)) {
  if (name === 'node -e 0' || name.endsWith(' (base)')) continue;
  const b = `${name} (base)`;
  const baseText = runs[b] ? `   | ${f(wall(b))} ${over(wall(b), nodeWall)}  ${f(cpu(b))} ${over(cpu(b), nodeCpu)}` : '';
  console.log(
    `  ${name.padEnd(30)} ${f(wall(name))}  ${over(wall(name), nodeWall)}  ${f(cpu(name))}  ${over(cpu(name), nodeCpu)}${baseText}`,
  );
}
