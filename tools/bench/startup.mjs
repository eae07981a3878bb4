#!/usr/bin/env node
// Start-up cost, side by side in one go with hyperfine:
//   node -e 0 | unshare -pfmu --mount-proc true | nsexec -pu h true
//   runc run (OCI bundle on the busybox rootfs) | diyc-run --rm --net none | diyc-run --rm --net bridge
//   diyc-run --rm --net none --privileged: the same without the isolation defaults
//   (capabilities, seccomp, masked paths, device rules), to read what they cost
// and the resident memory of the diyc-run process that stays alive while a container runs.
// The commands are the bins as installed (bin/NAME.js), run by node directly.
// NODE_EXTRA_CA_CERTS is unset: reading a CA bundle costs every Node start ~30 ms in
// this sandbox, and users' machines do not load one.
//
//   node tools/bench/startup.mjs [RUNS]      (root; runc and hyperfine from Debian)
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alternate } from './lib.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const runs = Number(process.argv[2] ?? 30);
const bin = (p) => join(repo, p);
const nsexec = `node ${bin('packages/nsexec/bin/nsexec.js')}`;
const diycRun = `node ${bin('packages/run/bin/diyc-run.js')}`;
const diycImage = `node ${bin('packages/image/bin/diyc-image.js')}`;
const diycNet = `node ${bin('packages/net/bin/diyc-net.js')}`;

const work = mkdtempSync(join(tmpdir(), 'diyc-bench-'));
const { NODE_EXTRA_CA_CERTS: _unset, ...inherited } = process.env;
const env = {
  ...inherited,
  DIYC_ROOT: join(work, 'root'),
  DIYC_BRIDGE: 'dbench0',
  DIYC_SUBNET: '10.254.77.0/24',
  DIYC_CGROUP_PARENT: 'diyc-bench',
};
const sh = (cmd) => execFileSync('sh', ['-c', cmd], { env, encoding: 'utf8' });

try {
  const tarball = join(repo, 'tools/out/busybox.tar');
  sh(`test -f ${tarball} || node ${bin('tools/make-busybox-image.mjs')}`);
  sh(`${diycImage} unpack ${tarball} --name busybox > /dev/null`);
  sh(`${diycNet} setup > /dev/null`);
  // runc's bundle: the same busybox rootfs, its default spec running `true`.
  const bundle = join(work, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  sh(`tar -xpf ${tarball} -C ${bundle}/rootfs && cd ${bundle} && runc spec`);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['true'];
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const runcRoot = join(work, 'runc');

  const commands = {
    'node -e 0': 'node -e 0',
    'unshare -pfmu --mount-proc true': 'unshare -pfmu --mount-proc true',
    'nsexec -pu h true': `${nsexec} -pu h true`,
    'runc run': `runc --root ${runcRoot} run -b ${bundle} diyc-bench`,
    'diyc-run --rm --net none': `${diycRun} --rm --net none bench busybox true`,
    'diyc-run --rm --net bridge': `${diycRun} --rm --net bridge bench busybox true`,
  };
  const json = join(work, 'hyperfine.json');
  execFileSync(
    'hyperfine',
    [
      ...(process.env.BENCH_DEBUG ? ['--show-output'] : []),
      '-N',
      '--warmup',
      '3',
      '--runs',
      String(runs),
      '--export-json',
      json,
      ...Object.entries(commands).flatMap(([name, cmd]) => ['-n', name, cmd]),
    ],
    { env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const results = JSON.parse(readFileSync(json, 'utf8')).results;
  const median = Object.fromEntries(results.map((r) => [r.command, r.median * 1000]));
  console.log(`\nstart-up, ${runs} runs each (median ms; ratio to the reference on the right)`);
  const row = (name, ref) =>
    console.log(
      `  ${name.padEnd(34)} ${median[name].toFixed(1).padStart(7)} ms${ref ? `   x${(median[name] / median[ref]).toFixed(2)} of ${ref}` : ''}`,
    );
  row('node -e 0');
  row('unshare -pfmu --mount-proc true');
  row('nsexec -pu h true', 'node -e 0');
  console.log(`  nsexec - node start-up: ${(median['nsexec -pu h true'] - median['node -e 0']).toFixed(1)} ms (target: at most 25 ms)`);
  row('runc run');
  row('diyc-run --rm --net none', 'runc run');
  row('diyc-run --rm --net bridge', 'runc run');

  // What the isolation defaults cost: the same container with them (the default) and
  // without (--privileged), alternated round by round.
  const run = (...flags) => ['node', bin('packages/run/bin/diyc-run.js'), '--rm', '--net', 'none', ...flags, 'bench', 'busybox', 'true'];
  const pair = alternate({ defaults: run(), privileged: run('--privileged') }, runs * 2, env);
  console.log(
    `  isolation defaults (caps, seccomp, masked paths, devices): ${pair.defaults.toFixed(1)} ms against ${pair.privileged.toFixed(1)} ms without: +${(pair.defaults - pair.privileged).toFixed(1)} ms (target: at most 5 ms)`,
  );

  // The diyc-run process that stays alive while its container runs.
  const child = spawn(process.execPath, [bin('packages/run/bin/diyc-run.js'), '--rm', '--net', 'bridge', 'rss', 'busybox', 'sleep', '2'], {
    env,
    stdio: 'ignore',
  });
  await new Promise((r) => setTimeout(r, 1200));
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  await new Promise((r) => child.on('close', r));
  console.log(`  resident memory of diyc-run while its container runs: ${rss.toFixed(1)} MB`);
} finally {
  try {
    sh(`${diycNet} clean > /dev/null`);
  } catch {
    /* report the first error */
  }
  try {
    sh('rmdir /sys/fs/cgroup/*/diyc-bench 2>/dev/null || true');
  } catch {
    /* none */
  }
  rmSync(work, { recursive: true, force: true });
}
