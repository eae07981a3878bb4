// The layer writer's own decisions, on a temporary directory, as the user running the tests
// (owners are the user's own; device nodes and overlayfs attributes, which need root, are
// left to test-e2e/image.test.ts, which also unpacks hostile archives made by real tools).
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LayerWriter, type TarHeader } from '../src/index.js';

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

function header(path: string, type: string, extra: Partial<TarHeader> = {}): TarHeader {
  return {
    path,
    type,
    mode: type === '5' ? 0o755 : 0o644,
    uid,
    gid,
    size: 0,
    mtime: 1_700_000_000,
    atime: undefined,
    linkpath: '',
    devmajor: 0,
    devminor: 0,
    xattrs: null,
    ...extra,
  };
}

// A file's body comes in pieces (entry, data, dataRange, end) or whole with its header
// (file, what the parser gives for a body read with it): every case, both ways.
describe.each(['in pieces', 'whole'] as const)('LayerWriter, file bodies %s', (how) => {
  let work: string;
  let root: string;
  let outside: string;
  let writer: LayerWriter;
  const umask = process.umask();

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'diyc-layer-writer-'));
    root = join(work, 'layer');
    outside = join(work, 'outside');
    mkdirSync(root);
    mkdirSync(outside);
    process.umask(0);
    writer = new LayerWriter(root);
  });
  afterEach(() => {
    process.umask(umask);
    rmSync(work, { recursive: true, force: true });
  });

  const file = (path: string, body: string, extra: Partial<TarHeader> = {}): void => {
    const h = header(path, '0', { size: body.length, ...extra });
    if (how === 'whole') {
      writer.file(h, Buffer.from(`..${body}..`), 2);
      return;
    }
    writer.entry(h);
    // The first byte as a view (data), the rest as a range of a larger chunk (dataRange), as the parser gives them.
    const rest = body.slice(1);
    writer.data(Buffer.from(body.slice(0, 1)));
    writer.dataRange(Buffer.from(`..${rest}..`), 2, 2 + rest.length);
    writer.end();
  };

  it('writes files, directories and links, with their modes and mtimes, normalising ./ and //', () => {
    writer.entry(header('./', '5'));
    writer.entry(header('./usr/', '5', { mode: 0o750 }));
    file('./usr//bin/./tool', 'binary', { mode: 0o4755, mtime: 981_173_106.5 });
    writer.entry(header('usr/bin/link', '2', { linkpath: 'tool' }));
    writer.entry(header('usr/hard', '1', { linkpath: './usr/bin/tool' }));
    writer.finish();
    expect(readFileSync(join(root, 'usr/bin/tool'), 'utf8')).toBe('binary');
    const tool = lstatSync(join(root, 'usr/bin/tool'));
    expect([(tool.mode & 0o7777).toString(8), tool.mtimeMs, tool.nlink]).toEqual(['4755', 981_173_106_500, 2]);
    expect((lstatSync(join(root, 'usr')).mode & 0o7777).toString(8)).toBe('750');
    expect(readlinkSync(join(root, 'usr/bin/link'))).toBe('tool');
    expect(writer.stats).toEqual({ entries: 5, bytes: 6, whiteouts: 0 });
  });

  it.skipIf(uid !== 0)('keeps the setuid and setgid bits of a file given another owner (chown(2) clears them)', () => {
    file('s', 'x', { mode: 0o6755, uid: 1000, gid: 1001, mtime: 1_600_000_000.25 });
    const s = lstatSync(join(root, 's'));
    expect([(s.mode & 0o7777).toString(8), s.uid, s.gid, s.mtimeMs]).toEqual(['6755', 1000, 1001, 1_600_000_000_250]);
  });

  it('replaces a name, never writes through it: a hardlink leaves the other name its body, a symlink its target', () => {
    writeFileSync(join(outside, 'target'), 'host');
    file('a', 'original');
    writer.entry(header('hard', '1', { linkpath: 'a' }));
    writer.entry(header('soft', '2', { linkpath: join(outside, 'target') }));
    writer.entry(header('hard-to-soft', '1', { linkpath: 'soft' }));
    for (const name of ['hard', 'soft', 'hard-to-soft']) file(name, 'new');
    expect(readFileSync(join(root, 'a'), 'utf8')).toBe('original');
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('host');
    expect(
      ['hard', 'soft', 'hard-to-soft'].map((name) => [readFileSync(join(root, name), 'utf8'), lstatSync(join(root, name)).nlink]),
    ).toEqual([
      ['new', 1],
      ['new', 1],
      ['new', 1],
    ]);
  });

  // The times node:fs sets (futimes): a file read whole with its header got the archive's
  // nanoseconds and its times before 1970, one written in pieces did not (a red-team find).
  it('gives a file the same times either way: to the microsecond, and now for a time before 1970', () => {
    const before = Date.now();
    file('frac', 'x', { mtime: 1_600_000_000.1234567 });
    file('old', 'x', { mtime: -1.5 });
    expect(lstatSync(join(root, 'frac'), { bigint: true }).mtimeNs).toBe(1_600_000_000_123_456_000n);
    expect(lstatSync(join(root, 'old')).mtimeMs).toBeGreaterThanOrEqual(before - 1000);
  });

  it('never writes through a name that is there: a file of the layer is replaced, not opened', () => {
    file('f', 'first');
    file('f', 'second');
    expect(readFileSync(join(root, 'f'), 'utf8')).toBe('second');
    expect(writer.stats.bytes).toBe(11);
  });

  // What is made in a setgid directory takes the directory's group: the archive's owner must
  // be set even when it is this process's own (GNU tar -p gives the same owners).
  it.skipIf(uid !== 0)("gives entries in a setgid directory the group the archive names, not the directory's", () => {
    const other = gid === 50 ? 51 : 50;
    writer.entry(header('d/', '5', { mode: 0o2775, gid: other }));
    file('d/f', 'x');
    writer.entry(header('d/l', '2', { linkpath: 'f' }));
    writer.entry(header('d/sub/', '5'));
    file('d/implicit/deeper/g', 'y'); // its directories are made by mkdir -p, setgid as d is
    writer.finish();
    const groups = ['d', 'd/f', 'd/l', 'd/sub', 'd/implicit', 'd/implicit/deeper/g'].map((p) => [p, lstatSync(join(root, p)).gid]);
    expect(groups).toEqual([
      ['d', other],
      ['d/f', gid],
      ['d/l', gid],
      ['d/sub', gid],
      ['d/implicit', other],
      ['d/implicit/deeper/g', gid],
    ]);
    expect((lstatSync(join(root, 'd/sub')).mode & 0o7777).toString(8)).toBe('755');
  });

  it('replaces a directory with a file, and a file with a directory, forgetting what was under it', () => {
    writer.entry(header('a/b/c/', '5'));
    file('a/b/c/old', 'x');
    file('a/b', 'now a file');
    expect(() => file('a/b/c/under-a-file', 'y')).toThrow(
      "the archive puts an entry under 'a/b/c', which an earlier entry made a file, not a directory",
    );
    writer.entry(header('a/b/', '5'));
    file('a/b/c/new', 'z');
    expect(readdirSync(join(root, 'a/b/c'))).toEqual(['new']);
  });

  it('refuses a whiteout of ., .. or nothing: it would remove the directory, or the one above the layer', () => {
    file('dir/keep', 'k');
    for (const name of ['.wh..', '.wh...', 'dir/.wh...', '.wh.']) {
      expect(() => writer.entry(header(name, '0')), name).toThrow(/^unsafe entry '.*': it is a whiteout of '\.{0,2}'$/);
    }
    expect(readdirSync(work).sort()).toEqual(['layer', 'outside']);
    expect(readFileSync(join(root, 'dir/keep'), 'utf8')).toBe('k');
  });

  it('refuses a path through a symlink of the layer, even after the link replaced a directory', () => {
    writer.entry(header('d/', '5'));
    writer.entry(header('d', '2', { linkpath: outside }));
    expect(() => file('d/evil', 'pwned')).toThrow("unsafe entry 'd/evil': its path goes through the symlink 'd'");
    expect(() => writer.entry(header('x', '1', { linkpath: 'd/victim' }))).toThrow(
      "unsafe entry 'x': its hardlink target goes through the symlink 'd'",
    );
    expect(readdirSync(outside)).toEqual([]);
  });

  it('refuses a path through a hardlink to a symlink: the second name is a symlink too (a red-team find: it wrote and removed host files)', () => {
    mkdirSync(join(outside, 'sub'));
    writer.entry(header('lnk', '2', { linkpath: outside }));
    writer.entry(header('h', '1', { linkpath: 'lnk' }));
    expect(lstatSync(join(root, 'h')).isSymbolicLink()).toBe(true);
    expect(() => file('h/pwned', 'x')).toThrow("unsafe entry 'h/pwned': its path goes through the symlink 'h'");
    expect(() => writer.entry(header('h/sub/new', '0'))).toThrow("unsafe entry 'h/sub/new': its path goes through the symlink 'h'");
    expect(() => writer.entry(header('h/.wh.sub', '0'))).toThrow("unsafe entry 'h/.wh.sub': its path goes through the symlink 'h'");
    expect(() => writer.entry(header('h2', '1', { linkpath: 'h' }))).not.toThrow();
    expect(() => file('h2/pwned', 'x')).toThrow("goes through the symlink 'h2'");
    expect(readdirSync(outside)).toEqual(['sub']);
  });

  // A red-team find: a symlink named '.' replaced the layer root, and every later entry went
  // where it pointed: new files anywhere on the host, and a directory there removed whole
  // when the archive named it as a file.
  it('refuses an entry that would make the layer root anything but a directory', () => {
    mkdirSync(join(outside, 'keep'));
    for (const [path, type] of [
      ['.', '2'],
      ['./', '2'],
      ['.', '1'],
      ['.', '6'],
    ]) {
      expect(
        () => writer.entry(header(path as string, type as string, { linkpath: type === '6' ? '' : outside })),
        `${path} ${type}`,
      ).toThrow(`unsafe entry '${path}': it would replace the layer root with what is not a directory`);
    }
    expect(() => file('.', 'x')).toThrow("unsafe entry '.': it would replace the layer root with what is not a directory");
    expect(lstatSync(root).isDirectory()).toBe(true);
    file('keep/new', 'x');
    file('keep', 'a file');
    writer.entry(header('./', '5', { mode: 0o750 }));
    writer.finish();
    expect(readdirSync(outside)).toEqual(['keep']);
    expect(readdirSync(join(outside, 'keep'))).toEqual([]);
    expect(readFileSync(join(root, 'keep'), 'utf8')).toBe('a file');
    expect((lstatSync(root).mode & 0o7777).toString(8)).toBe('750');
  });

  it('sets the times of a directory only while it is one: never through a symlink that replaced it or a directory above it', () => {
    mkdirSync(join(outside, 'b'));
    const before = [outside, join(outside, 'b')].map((p) => lstatSync(p).mtimeMs);
    writer.entry(header('d/', '5', { mtime: 1_234_567_890 }));
    writer.entry(header('d', '2', { linkpath: outside }));
    writer.entry(header('a/b/', '5', { mtime: 1_234_567_890 }));
    writer.entry(header('a', '2', { linkpath: outside }));
    writer.entry(header('kept/', '5', { mtime: 1_111_111_111 }));
    file('kept/f', 'x');
    writer.finish();
    expect([outside, join(outside, 'b')].map((p) => lstatSync(p).mtimeMs)).toEqual(before);
    expect(lstatSync(join(root, 'kept')).mtimeMs).toBe(1_111_111_111_000);
  });

  it('refuses a hardlink to what the layer does not hold, naming it', () => {
    expect(() => writer.entry(header('hl', '1', { linkpath: 'etc/shadow' }))).toThrow(
      "entry 'hl' is a hardlink to 'etc/shadow', which the layer does not hold before it",
    );
    expect(existsSync(join(root, 'hl'))).toBe(false);
  });

  it('refuses an entry of a kind it cannot write, naming the kind', () => {
    expect(() => writer.entry(header('disk.img', 'S'))).toThrow(
      "entry 'disk.img' is of a kind diyc-image cannot write (a GNU sparse file)",
    );
    expect(() => writer.entry(header('label', 'V'))).toThrow('(a tape volume label)');
  });
});
