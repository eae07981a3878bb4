#!/usr/bin/env node
// Every benchmark in turn, each side by side with its reference (see README "Benchmarks"):
//   pnpm bench        (root; runc, hyperfine, containerd from Debian: tools/setup.sh)
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
let failed = 0;
// detached.mjs with 100 containers here (1000: node tools/bench/detached.mjs 1000); cri.mjs needs crictl.
for (const [bench, ...args] of [
  ['image.mjs'],
  ['startup.mjs'],
  ['bins.mjs'],
  ['oci.mjs'],
  ['pull.mjs'],
  ['detached.mjs', '100'],
  ['cri.mjs'],
]) {
  console.log(`\n== ${bench}`);
  const r = spawnSync(process.execPath, [join(here, bench), ...args], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
