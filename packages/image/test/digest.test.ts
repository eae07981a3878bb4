// The diff_id's two hashers: the worker, the same sha256 as node:crypto's for bytes copied
// to it through the ring of shared memory, across slot ends and ring wraps; and fileDigest,
// a file read and hashed on libuv's thread pool by the addon, which can be stopped.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileChunks, fileDigest, WorkerDigest } from '../src/index.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('WorkerDigest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'diyc-digest-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // 40 MiB and a bit: more than the ring's 32 slots of 1 MiB, so it wraps.
  const data = Buffer.concat([randomBytes(1 << 20), Buffer.alloc(39 << 20, 7), randomBytes(12345)]);

  it('reads a file in chunks (fileChunks), every byte in order', async () => {
    const file = join(dir, 'layer.tar');
    writeFileSync(file, data);
    const chunks: Buffer[] = [];
    for await (const chunk of fileChunks(file)) chunks.push(Buffer.from(chunk));
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('hashes bytes copied to it in chunks of any size, in order', async () => {
    for (const size of [65_539, (1 << 20) + 1, 5 << 20]) {
      const digest = WorkerDigest.ofCopies();
      for (let off = 0; off < data.length; off += size) await digest.copy(data.subarray(off, off + size));
      expect(await digest.digest(), `chunks of ${size}`).toBe(sha256(data));
    }
    expect(await WorkerDigest.ofCopies().digest()).toBe(sha256(Buffer.alloc(0)));
  });
});

describe('fileDigest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'diyc-digest-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // More than one of the addon's 1 MB reads, and not a whole number of them.
  const data = Buffer.concat([randomBytes(3 << 20), Buffer.alloc(12345, 1)]);
  const file = join(dir, '-r $(touch x) layer.tar');
  writeFileSync(file, data);

  it('hashes a file on the thread pool, as node:crypto does', async () => {
    expect(await fileDigest(file).digest()).toBe(sha256(data));
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    expect(await fileDigest(empty).digest()).toBe(sha256(Buffer.alloc(0)));
  });

  it('says which file it could not read', async () => {
    await expect(fileDigest(join(dir, 'missing')).digest()).rejects.toThrow(/could not hash the layer .*missing: ENOENT/);
    await expect(fileDigest(dir).digest()).rejects.toThrow(/EISDIR/);
  });

  it('stops when cancelled, and its failure then concerns no one', async () => {
    const pending = fileDigest(file);
    pending.cancel();
    await expect(pending.digest()).rejects.toThrow(/ECANCELED/);
  });
});
