// removeTree: a tree a container made, however deep, goes; nothing it links to does.
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
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

  it('removes links, FIFOs and files in a shallow tree, never what a link points to, and a file given as the tree', () => {
    const marker = join(work, 'marker-shallow');
    mkdirSync(marker);
    writeFileSync(join(marker, 'keep'), 'kept');
    const top = join(work, 'links');
    mkdirSync(join(top, 'etc', 'deep'), { recursive: true });
    symlinkSync(marker, join(top, 'etc', 'to-dir'));
    symlinkSync(join(marker, 'keep'), join(top, 'etc', 'deep', 'to-file'));
    symlinkSync('/nowhere', join(top, 'dangling'));
    execFileSync('mkfifo', [join(top, 'etc', 'fifo')]);
    writeFileSync(join(top, 'etc', 'hosts'), 'x');
    removeTree(top);
    expect(existsSync(top)).toBe(false);
    expect(readdirSync(marker)).toEqual(['keep']);
    expect(readFileSync(join(marker, 'keep'), 'utf8')).toBe('kept');
    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    removeTree(file);
    expect(existsSync(file)).toBe(false);
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
