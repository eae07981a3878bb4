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
  readdirSync,
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
import { mknod } from '@diyc/syscalls';
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

  it("leaves a file's runs of zeros as holes: a container's sparse file does not fill the disk it is copied to", () => {
    const dest = join(work, 'sparse');
    mkdirSync(dest);
    const sink = sinkInto(dest, true);
    const mib = 1024 * 1024;
    sink.entry({ ...file('big', ''), size: 8 * mib + 3 });
    for (let i = 0; i < 8; i++) sink.data(Buffer.alloc(mib));
    sink.data(Buffer.from('end'));
    sink.end();
    sink.finish();
    const st = lstatSync(join(dest, 'big'));
    expect(st.size).toBe(8 * mib + 3);
    // One block or so for the last bytes, not 8 MiB of them.
    expect(st.blocks * 512).toBeLessThan(mib);
    const body = readFileSync(join(dest, 'big'));
    expect([body.subarray(0, 8 * mib).every((b) => b === 0), body.subarray(8 * mib).toString()]).toEqual([true, 'end']);
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

describe('DirSink over what stands in the way', () => {
  it('replaces a file or a symlink at a directory entry by that directory (docker: the tar wins)', () => {
    const dest = join(work, 'over');
    mkdirSync(dest);
    writeFileSync(join(dest, 'was-file'), 'x');
    symlinkSync(work, join(dest, 'was-link'));
    const sink = sinkInto(dest);
    for (const name of ['was-file', 'was-link']) {
      sink.entry({ path: `${name}/`, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000 });
      sink.end();
      write(sink, `${name}/inside`, 'in');
    }
    sink.finish();
    for (const name of ['was-file', 'was-link']) {
      expect(lstatSync(join(dest, name)).isDirectory()).toBe(true);
      expect(readFileSync(join(dest, name, 'inside'), 'utf8')).toBe('in');
    }
    expect(existsSync(join(work, 'inside'))).toBe(false);
  });
});

describe('DirSink with many directories', () => {
  it("keeps a bounded number of them open (25 000 ran out of descriptors, EMFILE), and still sets every one's time", () => {
    const dest = join(work, 'many');
    mkdirSync(dest);
    const sink = sinkInto(dest, true);
    const before = readdirSync('/proc/self/fd').length;
    let most = 0;
    for (let i = 0; i < 3000; i++) {
      sink.entry({ path: `d${i}/`, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1_600_000_000 + i });
      sink.end();
      write(sink, `d${i}/f`, 'f');
      if (i % 100 === 0) most = Math.max(most, readdirSync('/proc/self/fd').length - before);
    }
    sink.finish();
    expect(most).toBeLessThan(300);
    expect(readdirSync(dest)).toHaveLength(3000);
    expect([lstatSync(join(dest, 'd0')).mtimeMs, lstatSync(join(dest, 'd2999')).mtimeMs]).toEqual([1_600_000_000_000, 1_600_002_999_000]);
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

  // A container swaps a file it is asked for with a device node between lstat and open: a
  // device's driver must never be opened by diyc (root of the host, outside the container's
  // device cgroup), where opening some (a watchdog, a tape) acts. Major 240 is a local one
  // no driver registers: an open would fail with ENXIO, which says it was tried.
  it.skipIf(process.getuid?.() !== 0)('never opens a device swapped in for a file after it was seen (refused as changed)', () => {
    const dir = join(work, 'swap');
    mkdirSync(dir);
    writeFileSync(join(dir, 'f'), 'regular');
    const parent = dirFd(dir);
    const node = nodeAt(parent, 'f');
    rmSync(join(dir, 'f'));
    mknod(join(dir, 'f'), 'char', 0o600, 240, 0);
    const out = openSync(join(work, 'swap.tar'), 'w');
    try {
      expect(() => walk(node, 'f', new TarOut(out))).toThrow(/f changed while it was copied/);
    } finally {
      closeSync(out);
      closeSync(parent);
    }
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
