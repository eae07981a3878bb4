// Before any e2e file: the defaults a test would fall back to, were it to forget its own,
// are this run's, never the machine's. A container started without --net, DIYC_BRIDGE or
// DIYC_ROOT would otherwise set up diyc0 (172.16.0.0/24) and write to /var/lib/diyc; here it
// gets a bridge and a state root of this run, removed at the end whatever happened.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binDir, removeEmptyTempDirs, testNetwork } from './helpers.js';

export default function setup(): () => void {
  const net = testNetwork('g');
  const root = mkdtempSync(join(tmpdir(), 'diyc-e2e-default-'));
  process.env.DIYC_BRIDGE ??= net.bridge;
  process.env.DIYC_SUBNET ??= net.subnet;
  process.env.DIYC_ROOT ??= root;
  const run = Math.random().toString(36).slice(2, 8);
  process.env.DIYC_TEST_RUN = run;
  return () => {
    removeEmptyTempDirs(run);
    spawnSync(join(binDir, 'diyc-net'), ['clean', '--bridge', net.bridge, '--subnet', net.subnet], {
      env: { ...process.env, DIYC_ROOT: root },
      stdio: 'ignore',
    });
    rmSync(root, { recursive: true, force: true });
  };
}
