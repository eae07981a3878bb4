// A plain layer file of 16 MB or more takes its own path through extractLayer: synchronous
// reads, long bodies copied by the kernel (sendfile), and its diff_id hashed on libuv's thread
// pool by the addon (digest.ts). The same answers as the small-file path: the sha256 of the
// file, every byte of every body, a truncated archive named as one, and a hostile entry
// refused, however far into the archive it is.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractLayer, TAR_END, tarHeader, tarPadding } from '../src/index.js';

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

function entry(path: string, body: Buffer = Buffer.alloc(0), type: 'file' | 'symlink' | 'link' = 'file', linkname?: string): Buffer[] {
  const header = tarHeader({ path, type, mode: 0o644, uid, gid, size: type === 'file' ? body.length : 0, mtime: 1_700_000_000, linkname });
  return type === 'file' ? [header, body, tarPadding(body.length)] : [header];
}

describe('extractLayer of a large plain layer file', () => {
  const work = mkdtempSync(join(tmpdir(), 'diyc-extract-large-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  // 17 MB of bodies, in files that span the reads, then small files after them.
  const big = randomBytes(17 << 20);
  const small = Array.from({ length: 50 }, (_, i) => Buffer.from(`file ${i}\n`.repeat(i * 37)));

  /** Writes the archive (or its first `cut` bytes) as NAME.tar, and extracts it into the new directory NAME. */
  function extract(name: string, archive: Buffer, cut = archive.length): { dir: string; extracted: ReturnType<typeof extractLayer> } {
    const file = join(work, `${name}.tar`);
    writeFileSync(file, archive.subarray(0, cut));
    const dir = join(work, name);
    mkdirSync(dir);
    return { dir, extracted: extractLayer(file, dir) };
  }

  it('writes every file and gives the sha256 of the file as its diff_id', async () => {
    const archive = Buffer.concat([
      ...entry('big', big),
      ...small.flatMap((body, i) => entry(`dir/f${i}`, body)),
      ...entry('dir/link', undefined, 'symlink', 'f1'),
      TAR_END,
    ]);
    const { dir, extracted } = extract('ok', archive);
    const result = await extracted;
    expect(result.diffId).toBe(`sha256:${createHash('sha256').update(archive).digest('hex')}`);
    expect(readFileSync(join(dir, 'big')).equals(big)).toBe(true);
    for (const [i, body] of small.entries()) expect(readFileSync(join(dir, `dir/f${i}`)).equals(body), `dir/f${i}`).toBe(true);
    expect(result).toMatchObject({ entries: 52, bytes: big.length + small.reduce((n, b) => n + b.length, 0) });
  });

  it('copies bodies that start and end anywhere in a read, and goes on after them', async () => {
    // Sizes about the 64 KB from which the rest of a body is copied in the kernel, and about
    // the 256 KB reads, at offsets that shift with each odd size before them.
    const sizes = [65535, 65536, 65537, 70001, 262143, 262144, 262145, 1048579, 3, 200000];
    const bodies = sizes.map((n) => randomBytes(n));
    const archive = Buffer.concat([
      ...entry('big', big),
      ...bodies.flatMap((body, i) => entry(`m/${i}`, body)),
      ...entry('after', Buffer.from('the end\n')),
      TAR_END,
    ]);
    const { dir, extracted } = extract('medium', archive);
    const result = await extracted;
    for (const [i, body] of bodies.entries()) expect(readFileSync(join(dir, `m/${i}`)).equals(body), `m/${i}`).toBe(true);
    expect(readFileSync(join(dir, 'after'), 'utf8')).toBe('the end\n');
    expect(result.entries).toBe(bodies.length + 2);
  });

  // A red-team find: the whole rest of a body went in one sendfile(2), and a signal's handler
  // (it removes the layer's directory) waited for all of it: 7.5 s for a body of 3 GB.
  it('gives the event loop a turn at least every 8 MB of a body it copies', async () => {
    const file = join(work, 'turns.tar');
    writeFileSync(file, Buffer.concat([...entry('big', big), ...entry('big2', big), TAR_END]));
    const dir = join(work, 'turns');
    mkdirSync(dir);
    let read = 0;
    let readAtTurn = 0;
    let longest = 0;
    let done = false;
    const turn = (): void => {
      readAtTurn = read;
      if (!done) setImmediate(turn);
    };
    setImmediate(turn);
    const onProgress = (n: number): void => {
      read = n;
      longest = Math.max(longest, read - readAtTurn);
    };
    try {
      await extractLayer(file, dir, { onProgress });
    } finally {
      done = true;
    }
    expect(read).toBe(statSync(file).size);
    expect(longest).toBeGreaterThan(0);
    expect(longest).toBeLessThanOrEqual(8 << 20);
    expect(readFileSync(join(dir, 'big2')).equals(big)).toBe(true);
  });

  it('copies a body to a new file: a name that was a hardlink or a symlink is replaced, what it named is left alone', async () => {
    const outside = join(work, 'outside-copy');
    mkdirSync(outside);
    writeFileSync(join(outside, 'target'), 'host');
    const body = randomBytes(300_000);
    const archive = Buffer.concat([
      ...entry('big', big),
      ...entry('a', Buffer.from('original')),
      ...entry('hard', undefined, 'link', 'a'),
      ...entry('soft', undefined, 'symlink', join(outside, 'target')),
      ...entry('hard-to-soft', undefined, 'link', 'soft'),
      ...['hard', 'soft', 'hard-to-soft'].flatMap((name) => entry(name, body)),
      TAR_END,
    ]);
    const { dir, extracted } = extract('replaced', archive);
    await extracted;
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('original');
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('host');
    for (const name of ['hard', 'soft', 'hard-to-soft']) {
      expect(readFileSync(join(dir, name)).equals(body), name).toBe(true);
      expect(lstatSync(join(dir, name)).nlink, name).toBe(1);
    }
  });

  it('names an archive that ends inside a copied body as truncated', async () => {
    // 16.5 MB of the 17 MB body: the file is large enough for the path that copies bodies.
    const { extracted } = extract('truncated', Buffer.concat([...entry('big', big), TAR_END]), 512 + (33 << 19));
    await expect(extracted).rejects.toThrow(/Truncated input: entry 'big' needs \d+ more bytes/);
  });

  it('refuses a hostile entry after 17 MB, and writes nothing through it', async () => {
    const outside = join(work, 'outside');
    mkdirSync(outside);
    const archive = Buffer.concat([
      ...entry('big', big),
      ...entry('escape', undefined, 'symlink', outside),
      ...entry('escape/pwned', Buffer.from('x')),
      TAR_END,
    ]);
    const { dir, extracted } = extract('hostile', archive);
    await expect(extracted).rejects.toThrow(/unsafe entry 'escape\/pwned': its path goes through the symlink 'escape'/);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(dir, 'big'))).toBe(true); // the caller removes dir
  });
});
