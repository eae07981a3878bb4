// A plain layer file of 16 MB or more takes its own path through extractLayer: synchronous
// reads, and its diff_id hashed by openssl in a child process (digest.ts). The same answers
// as the small-file path: the sha256 of the file, and a hostile entry refused, however far
// into the archive it is.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractLayer, TAR_END, tarHeader, tarPadding } from '../src/index.js';

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

function entry(path: string, body: Buffer = Buffer.alloc(0), type: 'file' | 'symlink' = 'file', linkname?: string): Buffer[] {
  const header = tarHeader({ path, type, mode: 0o644, uid, gid, size: type === 'file' ? body.length : 0, mtime: 1_700_000_000, linkname });
  return type === 'file' ? [header, body, tarPadding(body.length)] : [header];
}

describe('extractLayer of a large plain layer file', () => {
  const work = mkdtempSync(join(tmpdir(), 'diyc-extract-large-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  // 17 MB of bodies, in files that span the reads, then small files after them.
  const big = randomBytes(17 << 20);
  const small = Array.from({ length: 50 }, (_, i) => Buffer.from(`file ${i}\n`.repeat(i * 37)));

  it('writes every file and gives the sha256 of the file as its diff_id', async () => {
    const archive = Buffer.concat([
      ...entry('big', big),
      ...small.flatMap((body, i) => entry(`dir/f${i}`, body)),
      ...entry('dir/link', undefined, 'symlink', 'f1'),
      TAR_END,
    ]);
    const file = join(work, 'layer.tar');
    writeFileSync(file, archive);
    const dir = join(work, 'ok');
    mkdirSync(dir);
    const result = await extractLayer(file, dir);
    expect(result.diffId).toBe(`sha256:${createHash('sha256').update(archive).digest('hex')}`);
    expect(readFileSync(join(dir, 'big')).equals(big)).toBe(true);
    for (const [i, body] of small.entries()) expect(readFileSync(join(dir, `dir/f${i}`)).equals(body), `dir/f${i}`).toBe(true);
    expect(result).toMatchObject({ entries: 52, bytes: big.length + small.reduce((n, b) => n + b.length, 0) });
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
    const file = join(work, 'hostile.tar');
    writeFileSync(file, archive);
    const dir = join(work, 'hostile');
    mkdirSync(dir);
    await expect(extractLayer(file, dir)).rejects.toThrow(/unsafe entry 'escape\/pwned': its path goes through the symlink 'escape'/);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(dir, 'big'))).toBe(true); // the caller removes dir
  });
});
