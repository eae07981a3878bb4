// removeTree: a tree a container made, however deep, goes; nothing it links to does.
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTree } from '../src/remove-tree.js';

const work = mkdtempSync(join(tmpdir(), 'diyc-remove-tree-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `depth` nested directories `d` under `top`, made one level at a time through descriptors (as `mkdir d; cd d` inside). */
function deepTree(top: string, depth: number, marker: string): void {
  mkdirSync(top);
  let fd = openSync(top, constants.O_RDONLY | constants.O_DIRECTORY);
  for (let i = 0; i < depth; i++) {
    const at = `/proc/self/fd/${fd}`;
    if (i % 500 === 0) {
      writeFileSync(`${at}/file`, 'x');
      symlinkSync(marker, `${at}/link`);
    }
    mkdirSync(`${at}/d`);
    const next = openSync(`${at}/d`, constants.O_RDONLY | constants.O_DIRECTORY);
    closeSync(fd);
    fd = next;
  }
  closeSync(fd);
}

describe('removeTree', () => {
  it('removes a tree 3000 directories deep (rmSync overflows its stack there), never through its symlinks', () => {
    const marker = join(work, 'marker');
    mkdirSync(marker);
    writeFileSync(join(marker, 'keep'), 'kept');
    const top = join(work, 'upper');
    deepTree(top, 3000, marker);
    removeTree(top);
    expect(existsSync(top)).toBe(false);
    expect(readFileSync(join(marker, 'keep'), 'utf8')).toBe('kept');
  });

  it('removes a shallow tree, and nothing when the path is missing', () => {
    const top = join(work, 'shallow');
    mkdirSync(join(top, 'a', 'b'), { recursive: true });
    writeFileSync(join(top, 'a', 'b', 'c'), 'c');
    removeTree(top);
    expect(existsSync(top)).toBe(false);
    expect(() => removeTree(join(work, 'missing'))).not.toThrow();
  });
});
