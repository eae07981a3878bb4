// The two halves of diyc cp: a tree walked as tar entries, and entries written into a
// directory held by its descriptor, never through a symlink that stands in the way.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { constants } from 'node:fs';
import { DirSink, entryNames, nodeAt, TarOut, walk } from '../src/cp-tree.js';

const work = mkdtempSync(join(tmpdir(), 'diyc-cp-tree-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const dirFd = (path: string) => openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
const sinkInto = (path: string, host = false) =>
  new DirSink(dirFd(path), { keepOwner: false, host, show: (rel) => `/${rel}`, warn: () => {} });
const file = (path: string, body: string, mode = 0o644) => ({
  path,
  type: 'file' as const,
  mode,
  uid: 0,
  gid: 0,
  size: body.length,
  mtime: 1_700_000_000,
});

function write(sink: DirSink, path: string, body: string, mode?: number) {
  sink.entry(file(path, body, mode));
  sink.data(Buffer.from(body));
  sink.end();
}

describe('entryNames', () => {
  it('drops a leading / and ./, and refuses ..', () => {
    expect(entryNames('/a/./b/')).toEqual(['a', 'b']);
    expect(entryNames('./')).toEqual([]);
    expect(() => entryNames('a/../../etc/passwd')).toThrow('leads out of the destination');
    expect(() => entryNames('../x')).toThrow('leads out of the destination');
  });
});

describe('DirSink', () => {
  it('replaces a symlink at a file name, never writing through it', () => {
    const outside = join(work, 'outside1');
    const dest = join(work, 'dest1');
    mkdirSync(outside);
    mkdirSync(dest);
    writeFileSync(join(outside, 'target'), 'untouched');
    symlinkSync(join(outside, 'target'), join(dest, 'f'));
    const sink = sinkInto(dest);
    write(sink, 'f', 'new');
    sink.finish();
    expect(lstatSync(join(dest, 'f')).isFile()).toBe(true);
    expect(readFileSync(join(dest, 'f'), 'utf8')).toBe('new');
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('untouched');
  });

  it('refuses a path through a symlink to a directory outside (the entry evil/x with evil -> outside)', () => {
    const outside = join(work, 'outside2');
    const dest = join(work, 'dest2');
    mkdirSync(outside);
    mkdirSync(dest);
    symlinkSync(outside, join(dest, 'evil'));
    const sink = sinkInto(dest);
    expect(() => write(sink, 'evil/x', 'owned')).toThrow('is not a directory');
    sink.close();
    expect(existsSync(join(outside, 'x'))).toBe(false);
  });

  it('refuses .. entries, and a non-directory over a directory as docker words it', () => {
    const dest = join(work, 'dest3');
    mkdirSync(join(dest, 'd'), { recursive: true });
    const sink = sinkInto(dest);
    expect(() => write(sink, '../escape', 'x')).toThrow('leads out of the destination');
    expect(() => write(sink, 'd', 'x')).toThrow('cannot overwrite directory "/d" with non-directory "d"');
    sink.close();
    expect(existsSync(join(work, 'escape'))).toBe(false);
  });

  it('drops setuid and setgid bits on the host side, keeps them on the container side', () => {
    const host = join(work, 'dest4');
    const box = join(work, 'dest5');
    mkdirSync(host);
    mkdirSync(box);
    for (const [dir, isHost] of [
      [host, true],
      [box, false],
    ] as const) {
      const sink = sinkInto(dir, isHost);
      write(sink, 'sh', '#!', 0o4755);
      sink.finish();
    }
    expect(lstatSync(join(host, 'sh')).mode & 0o7777).toBe(0o755);
    expect(lstatSync(join(box, 'sh')).mode & 0o7777).toBe(0o4755);
  });
});

describe('walk', () => {
  const src = join(work, 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'a'), 'A');
  writeFileSync(join(src, 'sub', 'b'), 'B');
  chmodSync(join(src, 'sub', 'b'), 0o600);
  symlinkSync('/etc/shadow', join(src, 'link'));
  linkSync(join(src, 'a'), join(src, 'sub', 'hard'));

  it('copies a tree, a symlink as a symlink (never the file it names)', () => {
    const dest = join(work, 'copy');
    mkdirSync(dest);
    const parent = dirFd(work);
    const sink = sinkInto(dest);
    walk(nodeAt(parent, 'src'), 'renamed', sink);
    sink.finish();
    closeSync(parent);
    expect(readFileSync(join(dest, 'renamed', 'a'), 'utf8')).toBe('A');
    expect(readFileSync(join(dest, 'renamed', 'sub', 'b'), 'utf8')).toBe('B');
    expect(lstatSync(join(dest, 'renamed', 'sub', 'b')).mode & 0o777).toBe(0o600);
    expect(readlinkSync(join(dest, 'renamed', 'link'))).toBe('/etc/shadow');
    // A hard link stays one: the same file under both names.
    expect(lstatSync(join(dest, 'renamed', 'sub', 'hard')).ino).toBe(lstatSync(join(dest, 'renamed', 'a')).ino);
  });

  it("with '' as the top name, copies a directory's contents alone (SRC/.)", () => {
    const dest = join(work, 'contents');
    mkdirSync(dest);
    const parent = dirFd(work);
    const sink = sinkInto(dest);
    walk(nodeAt(parent, 'src'), '', sink);
    sink.finish();
    closeSync(parent);
    expect(readFileSync(join(dest, 'a'), 'utf8')).toBe('A');
    expect(existsSync(join(dest, 'src'))).toBe(false);
  });

  it('writes a tar GNU tar reads (diyc cp CONTAINER:SRC -)', () => {
    const out = join(work, 'out.tar');
    const fd = openSync(out, 'w');
    const parent = dirFd(work);
    const tar = new TarOut(fd);
    walk(nodeAt(parent, 'src'), 'src', tar);
    tar.finish();
    closeSync(fd);
    closeSync(parent);
    const listing = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).trim().split('\n');
    expect(listing).toEqual(['src/', 'src/a', 'src/link', 'src/sub/', 'src/sub/b', 'src/sub/hard']);
    expect(execFileSync('tar', ['-xOf', out, 'src/sub/b'], { encoding: 'utf8' })).toBe('B');
  });
});
