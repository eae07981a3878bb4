// The diff_id worker: the same sha256 as node:crypto's, for a file it reads itself and for
// bytes copied to it through the ring of shared memory, across slot ends and ring wraps;
// and fileDigest, by openssl or, where it is missing, by the worker.
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

  it('hashes a file it reads itself', async () => {
    const file = join(dir, 'layer.tar');
    writeFileSync(file, data);
    expect(await WorkerDigest.ofFile(file).digest()).toBe(sha256(data));
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
  const data = Buffer.concat([randomBytes(3 << 20), Buffer.alloc(12345, 1)]);
  // A name openssl must not read as an option, nor the shell as anything.
  const file = join(dir, '-r $(touch x) layer.tar');
  writeFileSync(file, data);

  it('hashes a file in a child process, as node:crypto does', async () => {
    expect(await fileDigest(file).digest()).toBe(sha256(data));
  });

  it('hashes it on a worker where openssl is not installed', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'no-such-dir');
    try {
      const pending = fileDigest(file);
      process.env.PATH = path;
      expect(await pending.digest()).toBe(sha256(data));
    } finally {
      process.env.PATH = path;
    }
  });
});
