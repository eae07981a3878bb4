#!/usr/bin/env node
// diyc-image unpack against GNU tar -xpf, side by side, on a generated rootfs tarball
// of at least 100 MB and 5,000 files.   node tools/bench/image.mjs [RUNS]
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, median, report, sh } from './lib.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(repo, 'tools', 'out');
const tarball = join(out, 'bench-rootfs.tar');
const runs = Number(process.argv[2] ?? 5);

if (!existsSync(tarball)) {
  const tree = join(out, 'bench-tree');
  rmSync(tree, { recursive: true, force: true });
  const buf = Buffer.alloc(1 << 20);
  for (let i = 0; i < 6000; i++) {
    const dir = join(tree, `d${i % 120}`, `s${i % 7}`);
    mkdirSync(dir, { recursive: true });
    // 5,880 small files of 1-16 KB, and 120 files of 1 MB: about 150 MB in all.
    const size = i % 50 === 0 ? 1 << 20 : 1024 * (1 + (i % 16));
    randomFillSync(buf, 0, size);
    writeFileSync(join(dir, `f${i}`), buf.subarray(0, size));
  }
  sh(`tar -cf ${tarball} -C ${tree} . && rm -rf ${tree}`);
}
console.log(`archive: ${sh(`du -m ${tarball}`).split('\t')[0]} MB, ${sh(`tar -tf ${tarball} | wc -l`).trim()} entries`);

// Both write into a tmpfs of the benchmark's own: on this machine's virtual disk the same
// tar -xpf takes from 0.2 s to 2 s depending on writeback, which would drown the
// difference being measured. (DISK=1 writes to tools/out instead.)
const scratch = join(out, 'bench-scratch');
rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });
if (!process.env.DISK) sh(`mount -t tmpfs -o size=2g diyc-bench ${scratch}`);
const rows = { 'GNU tar -xpf': [], 'diyc-image unpack': [] };
let peak = 0;
try {
  for (let i = 0; i < runs; i++) {
    sh(`rm -rf ${scratch}/* && mkdir ${scratch}/tar && sync`);
    rows['GNU tar -xpf'].push(measure(['tar', '-xpf', tarball, '-C', join(scratch, 'tar')]).ms);
    sh(`rm -rf ${scratch}/* && sync`);
    const r = measure([process.execPath, join(repo, 'packages/image/dist/bin.js'), 'unpack', tarball, '--name', 'bench'], { env: { ...process.env, DIYC_ROOT: join(scratch, 'root') } });
    rows['diyc-image unpack'].push(r.ms);
    peak = Math.max(peak, r.mb);
  }
} finally {
  if (!process.env.DISK) sh(`umount ${scratch}`);
  rmSync(scratch, { recursive: true, force: true });
}
report(`unpack into ${process.env.DISK ? 'the disk' : 'tmpfs'}, ${runs} runs each, alternating`, [
  { name: 'GNU tar -xpf', median: median(rows['GNU tar -xpf']) },
  { name: 'diyc-image unpack', median: median(rows['diyc-image unpack']), mb: peak },
], 'GNU tar -xpf');
