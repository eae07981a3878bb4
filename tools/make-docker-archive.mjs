#!/usr/bin/env node
// Wraps diyc's default image as `docker save` writes an image: manifest.json, the image's
// config, and its one layer (the busybox tarball itself). podman load and
// `ctr images import` read it without a registry, so engines can run the default image
// through diyc-oci.
//
//   node tools/make-docker-archive.mjs [OUT.tar] [NAME]
//     (default: tools/out/busybox-docker.tar, diyc.local/busybox:latest)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, 'out', 'busybox-docker.tar'));
const name = process.argv[3] ?? 'diyc.local/busybox:latest';
const busybox = join(here, 'out', 'busybox.tar');
if (!existsSync(busybox)) execFileSync(process.execPath, [join(here, 'make-busybox-image.mjs'), busybox], { stdio: 'inherit' });

const layer = readFileSync(busybox);
const parts = mkdtempSync(join(tmpdir(), 'diyc-docker-archive-'));
try {
  writeFileSync(join(parts, 'layer.tar'), layer);
  writeFileSync(
    join(parts, 'config.json'),
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(layer).digest('hex')}`] },
    }),
  );
  writeFileSync(join(parts, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: [name], Layers: ['layer.tar'] }]));
  execFileSync('tar', ['-cf', out, '-C', parts, 'manifest.json', 'config.json', 'layer.tar']);
} finally {
  rmSync(parts, { recursive: true, force: true });
}
console.log(out);
