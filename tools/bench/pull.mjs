#!/usr/bin/env node
// diyc-image pull against the two-step path it replaces, in one go: `skopeo copy` from the
// registry to an OCI layout, then `diyc-image unpack` of it. The image is the Debian
// minbase rootfs of the workload tests (about 120 MB, one layer, gzip on the registry),
// pushed to a docker-registry on 127.0.0.1. Each run starts from an empty store.
// NODE_EXTRA_CA_CERTS is unset: reading a CA bundle costs every Node start ~30 ms in this
// sandbox, and users' machines do not load one.
//
//   node tools/bench/pull.mjs [ROUNDS]     (root; docker-registry, skopeo, debootstrap from Debian)
//   BASELINE=DIR                           another checkout's diyc-image pull, alternated in the same run
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alternate } from './lib.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rounds = Number(process.argv[2] ?? 5);
const { NODE_EXTRA_CA_CERTS: _unset, ...env } = process.env;
const work = mkdtempSync(join(tmpdir(), 'diyc-bench-pull-'));
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const host = `127.0.0.1:${port}`;
let registry;
try {
  const rootfs = execFileSync('bash', [join(repo, 'tools', 'make-debian-image.sh')], { encoding: 'utf8' }).trim();
  // The rootfs tarball as the one layer of a docker-save archive.
  const layer = readFileSync(rootfs);
  const parts = join(work, 'archive');
  mkdirSync(parts);
  writeFileSync(join(parts, 'layer.tar'), layer);
  writeFileSync(
    join(parts, 'config.json'),
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['bash'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(layer).digest('hex')}`] },
    }),
  );
  writeFileSync(
    join(parts, 'manifest.json'),
    JSON.stringify([{ Config: 'config.json', RepoTags: ['debian:bench'], Layers: ['layer.tar'] }]),
  );
  execFileSync('tar', ['-cf', join(work, 'debian.tar'), '-C', parts, '.']);
  writeFileSync(
    join(work, 'registry.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${work}/registry\nhttp:\n  addr: ${host}\n`,
  );
  registry = spawn('docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      await (await fetch(`http://${host}/v2/`)).text();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  execFileSync('skopeo', [
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    `docker-archive:${join(work, 'debian.tar')}`,
    `docker://${host}/bench/debian:latest`,
  ]);
  const mb = (layer.length / 1048576).toFixed(0);

  const fresh = (dir) => `rm -rf ${work}/${dir} && mkdir -p ${work}/${dir}`;
  const pull = `${fresh('s1')} && DIYC_ROOT=${work}/s1 node ${repo}/packages/image/bin/diyc-image.js pull --name debian ${host}/bench/debian >/dev/null`;
  const twoStep = `${fresh('s2')} && skopeo copy --quiet --src-tls-verify=false docker://${host}/bench/debian:latest oci:${work}/s2/layout:latest && DIYC_ROOT=${work}/s2 node ${repo}/packages/image/bin/diyc-image.js unpack ${work}/s2/layout:latest --name debian >/dev/null`;
  const baseline = process.env.BASELINE;
  const basePull =
    baseline &&
    `${fresh('s3')} && DIYC_ROOT=${work}/s3 node ${baseline}/packages/image/bin/diyc-image.js pull --name debian ${host}/bench/debian >/dev/null`;
  const times = alternate(
    { pull: ['sh', '-c', pull], 'skopeo copy + unpack': ['sh', '-c', twoStep], ...(basePull ? { baseline: ['sh', '-c', basePull] } : {}) },
    rounds,
    env,
  );
  console.log(`\npull of a ${mb} MB image (one gzip layer) from a local registry, ${rounds} rounds alternated (median ms)`);
  console.log(`  skopeo copy + diyc-image unpack   ${times['skopeo copy + unpack'].toFixed(0)}`);
  console.log(`  diyc-image pull                   ${times.pull.toFixed(0)}   x${(times.pull / times['skopeo copy + unpack']).toFixed(2)}`);
  if (times.baseline !== undefined)
    console.log(
      `  diyc-image pull, ${baseline}   ${times.baseline.toFixed(0)}   x${(times.baseline / times['skopeo copy + unpack']).toFixed(2)}`,
    );
} finally {
  if (registry && registry.exitCode === null) {
    registry.kill('SIGTERM');
    await new Promise((r) => registry.on('exit', r));
  }
  rmSync(work, { recursive: true, force: true });
}
