#!/usr/bin/env node
// diyc-image unpack against GNU tar, side by side in one run, on a generated layer:
// 124 MB and 6,000 entries (mixed file sizes, directories, symlinks, hardlinks, long
// names, a whiteout and an opaque directory), plain and gzip.
//
//   node tools/bench/image.mjs [RUNS]        (root: diyc-image writes device nodes and owners)
//   BASELINE=/other/checkout/packages/image/bin/diyc-image.js node tools/bench/image.mjs
//                                            (a third row: another build, alternated in the same run)
//   DISK=1 ...                               (into tools/out on the disk, not a tmpfs)
//
// The layer is made deterministically (a seeded generator, fixed owners and mtimes, GNU tar
// --sort=name, gzip -n), so every machine measures the same bytes; its sha256 is printed.
import { createCipheriv } from 'node:crypto';
import { chmodSync, existsSync, linkSync, lchownSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, median, report, sh } from './lib.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(repo, 'tools', 'out');
const tarball = join(out, 'bench-layer-v1.tar');
const gzipped = `${tarball}.gz`;
const runs = Number(process.argv[2] ?? 5);
const bin = join(repo, 'packages/image/bin/diyc-image.js'); // what a user runs: the bundle, from V8's code cache
const { NODE_EXTRA_CA_CERTS: _unset, ...env } = process.env;
const baseline = process.env.BASELINE;

/** mulberry32: a small seeded generator, so the layer is the same on every machine. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Incompressible bytes (an AES-CTR keystream, like a stripped binary's worst case) or text. */
function content(i, size, text, corpus) {
  if (text) {
    const start = (i * 7919) % (corpus.length - 1);
    const buf = Buffer.alloc(size);
    for (let off = 0; off < size; ) off += corpus.copy(buf, off, off === 0 ? start : 0);
    return buf;
  }
  const key = Buffer.alloc(16);
  key.writeUInt32LE(i);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

function makeLayer() {
  const rand = rng(20240601);
  const words = [
    'lib',
    'usr',
    'config',
    'return',
    'static',
    'int',
    'char',
    'the',
    'of',
    'value',
    'error',
    'path',
    'size',
    'buffer',
    'struct',
    'if',
    'else',
    'for',
  ];
  const corpus = Buffer.from(
    Array.from(
      { length: 40000 },
      (_, i) =>
        `${words[Math.floor(rand() * words.length)]}${i % 11 === 0 ? '\n' : ' '}${i % 97 === 0 ? `${i}=${Math.floor(rand() * 1e6)}\n` : ''}`,
    ).join(''),
  );
  const tree = join(out, 'bench-layer-tree');
  rmSync(tree, { recursive: true, force: true });
  // 286 directories (with "."), 5,312 files, 2 whiteouts, 300 symlinks, 100 hardlinks: 6,000 entries.
  const dirs = [];
  for (const top of ['bin', 'etc', 'lib', 'opt', 'usr', 'var']) {
    for (let j = 0; j < 46; j++) dirs.push(j < 6 ? top : `${top}/pkg${j % 6}/sub-${String(j).padStart(3, '0')}`);
  }
  const unique = [...new Set(dirs)];
  // A path over 100 bytes: GNU tar writes it with a long-name ('L') header.
  unique.push(`usr/share/${'very-long-directory-name-'.repeat(3)}tail`);
  for (const d of unique) mkdirSync(join(tree, d), { recursive: true });
  const files = [];
  const FILES = 5312;
  let total = 0;
  for (let i = 0; i < FILES; i++) {
    // Most files small (64 B to 64 KB, log-uniform), one in a hundred large (256 KB to 4 MB).
    const large = i % 110 === 0;
    const [lo, hi] = large ? [18, 22] : [6, 16];
    const size = Math.floor(2 ** (lo + rand() * (hi - lo)));
    files.push({ path: `${unique[i % unique.length]}/${large ? 'big' : 'f'}${i}${i % 13 === 0 ? `-${'x'.repeat(90)}` : ''}`, size });
    total += size;
  }
  // Scale the large files so that the archive is 124 MB.
  const target = 124 * 1048576 - 6000 * 1024 + 1048576 * 0.6;
  const largeFiles = files.filter((f) => f.path.includes('/big'));
  const largeTotal = largeFiles.reduce((s, f) => s + f.size, 0);
  const scale = (target - (total - largeTotal)) / largeTotal;
  for (const f of largeFiles) f.size = Math.floor(f.size * scale);
  for (const [i, f] of files.entries()) {
    const abs = join(tree, f.path);
    writeFileSync(abs, content(i, f.size, i % 2 === 0, corpus), { mode: i % 7 === 0 ? 0o755 : 0o644 });
    if (i % 501 === 0) chmodSync(abs, 0o4755);
    if (i % 20 === 0) lchownSync(abs, 1000, 1000);
  }
  for (let i = 0; i < 100; i++) linkSync(join(tree, files[i * 37].path), join(tree, `${unique[(i * 11) % unique.length]}/hard${i}`));
  for (let i = 0; i < 300; i++)
    symlinkSync(i % 3 === 0 ? `/usr/lib/target${i}` : `../f${i}`, join(tree, `${unique[(i * 7) % unique.length]}/link${i}`));
  writeFileSync(join(tree, 'etc/.wh.removed'), '');
  mkdirSync(join(tree, 'var/cache'), { recursive: true });
  writeFileSync(join(tree, 'var/cache/.wh..wh..opq'), '');
  sh(`cd ${tree} && find . -exec touch -h -d @1717200000 {} +`);
  sh(`tar --sort=name --numeric-owner --format=gnu -cf ${tarball} -C ${tree} . && gzip -n -6 -k -f ${tarball} && rm -rf ${tree}`);
}

if (!existsSync(tarball) || !existsSync(gzipped)) makeLayer();
const kinds = sh(`tar -tvf ${tarball} | cut -c1 | sort | uniq -c | tr -s ' ' | tr '\\n' ' '`).trim();
console.log(
  `layer: ${sh(`du -m ${tarball}`).split('\t')[0]} MB, ${sh(`tar -tf ${tarball} | wc -l`).trim()} entries (${kinds}), gzip ${sh(`du -m ${gzipped}`).split('\t')[0]} MB`,
);
console.log(`sha256 ${sh(`sha256sum ${tarball}`).split(' ')[0]}`);

// Both write into a tmpfs of the benchmark's own: on this machine's virtual disk the same
// tar -xpf takes from 0.2 s to 2 s depending on writeback, which would drown the
// difference being measured. (DISK=1 writes to tools/out instead.)
const scratch = join(out, 'bench-scratch');
rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });
if (!process.env.DISK) sh(`mount -t tmpfs -o size=2g diyc-bench ${scratch}`);
const cases = [
  { title: 'plain', file: tarball, tar: ['tar', '-xpf', tarball] },
  { title: 'gzip', file: gzipped, tar: ['tar', '-xzpf', gzipped] },
];
try {
  for (const c of cases) {
    const rows = { tar: [], diyc: [], baseline: [] };
    const peak = { diyc: 0, baseline: 0 };
    const unpack = (which, file) => {
      sh(`rm -rf ${scratch}/* && sync`);
      const r = measure([process.execPath, file, 'unpack', c.file, '--name', 'bench'], {
        env: { ...env, DIYC_ROOT: join(scratch, 'root') },
      });
      rows[which].push(r.ms);
      peak[which] = Math.max(peak[which], r.mb);
    };
    for (let i = 0; i < runs; i++) {
      sh(`rm -rf ${scratch}/* && mkdir ${scratch}/tar && sync`);
      rows.tar.push(measure([...c.tar, '-C', join(scratch, 'tar')], { env }).ms);
      if (baseline) unpack('baseline', baseline);
      unpack('diyc', bin);
    }
    const tarName = `GNU ${c.tar.slice(0, 2).join(' ')}`;
    report(
      `unpack a ${c.title} layer into ${process.env.DISK ? 'the disk' : 'tmpfs'}, ${runs} runs each, alternating`,
      [
        { name: tarName, median: median(rows.tar) },
        ...(baseline ? [{ name: 'diyc-image unpack (BASELINE)', median: median(rows.baseline), mb: peak.baseline }] : []),
        { name: 'diyc-image unpack', median: median(rows.diyc), mb: peak.diyc },
      ],
      tarName,
    );
  }
} finally {
  if (!process.env.DISK) sh(`umount ${scratch}`);
  rmSync(scratch, { recursive: true, force: true });
}
