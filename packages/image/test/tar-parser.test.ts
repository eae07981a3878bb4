// The tar reader on the hot path of unpack: each kind of header, extended headers, and the
// archives it must refuse. The archives are built here block by block, as the formats
// define them (ustar and pax in POSIX's pax(1), GNU tar's in its manual), so each test
// says exactly which bytes it feeds. Real archives from GNU tar, umoci and python's tarfile
// are unpacked in test-e2e/image.test.ts.
import { describe, expect, it } from 'vitest';
import { checksumValid, headerNumber, TarParser, type TarHeader } from '../src/index.js';

interface Fields {
  name: string;
  type?: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  /** 'ustar' (POSIX: "ustar\0" "00", with a prefix field) or 'gnu' ("ustar  \0"). */
  format?: 'ustar' | 'gnu';
  prefix?: string;
  devmajor?: number;
  devminor?: number;
  /** Raw bytes written over the size field (a base-256 number, or garbage). */
  sizeField?: Buffer;
  uidField?: Buffer;
}

const octal = (n: number, width: number): string => `${n.toString(8).padStart(width - 1, '0')}\0`;

/** One 512-byte header with a correct checksum. */
function header(f: Fields): Buffer {
  const b = Buffer.alloc(512);
  b.write(f.name, 0, 100, 'utf8');
  b.write(octal(f.mode ?? 0o644, 8), 100, 'latin1');
  if (f.uidField) f.uidField.copy(b, 108);
  else b.write(octal(f.uid ?? 0, 8), 108, 'latin1');
  b.write(octal(f.gid ?? 0, 8), 116, 'latin1');
  if (f.sizeField) f.sizeField.copy(b, 124);
  else b.write(octal(f.size ?? 0, 12), 124, 'latin1');
  b.write(octal(f.mtime ?? 1_700_000_000, 12), 136, 'latin1');
  b.write(f.type ?? '0', 156, 'latin1');
  b.write(f.linkname ?? '', 157, 100, 'utf8');
  b.write(f.format === 'gnu' ? 'ustar  \0' : 'ustar\u000000', 257, 'latin1');
  if (f.devmajor !== undefined) b.write(octal(f.devmajor, 8), 329, 'latin1');
  if (f.devminor !== undefined) b.write(octal(f.devminor, 8), 337, 'latin1');
  if (f.prefix) b.write(f.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

const pad = (body: Buffer): Buffer => Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
/** A header and its body, padded to whole blocks. */
const member = (f: Fields, body: Buffer | string = ''): Buffer => {
  const data = Buffer.from(body);
  return Buffer.concat([header({ size: data.length, ...f }), pad(data)]);
};
const END = Buffer.alloc(1024);

/** One pax record: "LEN key=value\n", LEN counting itself. */
function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}
const pax = (type: 'x' | 'g', ...records: Buffer[]): Buffer => member({ name: 'PaxHeader', type }, Buffer.concat(records));

interface Read {
  header: TarHeader;
  body: string;
}

/** Parses `archive` fed in chunks of `size` bytes; returns each entry and its body (given as ranges to a sink that takes them). */
function parse(archive: Buffer, size = archive.length, ranges = false): Read[] {
  const entries: Read[] = [];
  let body: Buffer[] = [];
  let ended = 0;
  const parser = new TarParser({
    entry: (header) => {
      body = [];
      entries.push({ header, body: '' });
    },
    data: (chunk) => {
      if (ranges) throw new Error('data() called on a sink that takes ranges');
      body.push(Buffer.from(chunk));
    },
    ...(ranges ? { dataRange: (chunk: Buffer, start: number, end: number) => body.push(Buffer.from(chunk.subarray(start, end))) } : {}),
    end: () => {
      ended++;
      (entries.at(-1) as Read).body = Buffer.concat(body).toString();
    },
  });
  for (let i = 0; i < archive.length; i += size) parser.write(archive.subarray(i, i + size));
  parser.end();
  expect(ended).toBe(entries.length);
  return entries;
}

const CHUNKINGS = [1, 7, 511, 512, 513, 4096, 1 << 20];

describe('TarParser: the kinds of header', () => {
  const archive = Buffer.concat([
    member({ name: 'dir/', type: '5', mode: 0o755 }),
    member({ name: 'dir/file', uid: 1234, gid: 5678, mode: 0o4750, mtime: 981_173_106 }, 'hello, world'),
    member({ name: 'dir/hard', type: '1', linkname: 'dir/file' }),
    member({ name: 'dir/soft', type: '2', linkname: '../etc/passwd' }),
    member({ name: 'dev/null', type: '3', mode: 0o666, devmajor: 1, devminor: 3 }),
    member({ name: 'dev/sda', type: '4', devmajor: 8, devminor: 0 }),
    member({ name: 'fifo', type: '6' }),
    member({ name: 'contiguous', type: '7' }, 'abc'),
    END,
  ]);

  it.each(CHUNKINGS)('reads files, directories, links, devices and FIFOs, in chunks of %i bytes', (size) => {
    const read = parse(archive, size);
    expect(parse(archive, size, true), 'as ranges').toEqual(read);
    expect(read.map((r) => [r.header.type, r.header.path, r.body])).toEqual([
      ['5', 'dir/', ''],
      ['0', 'dir/file', 'hello, world'],
      ['1', 'dir/hard', ''],
      ['2', 'dir/soft', ''],
      ['3', 'dev/null', ''],
      ['4', 'dev/sda', ''],
      ['6', 'fifo', ''],
      ['7', 'contiguous', 'abc'],
    ]);
    expect(read[1]?.header).toMatchObject({ uid: 1234, gid: 5678, mode: 0o4750, mtime: 981_173_106, size: 12, xattrs: null });
    expect(read[2]?.header.linkpath).toBe('dir/file');
    expect(read[3]?.header.linkpath).toBe('../etc/passwd');
    expect(read.slice(4, 6).map((r) => [r.header.devmajor, r.header.devminor])).toEqual([
      [1, 3],
      [8, 0],
    ]);
  });

  it('joins the ustar prefix and name, and reads GNU long names (L) and long link names (K)', () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const target = `${'t'.repeat(150)}/x`;
    const read = parse(
      Buffer.concat([
        member({ name: 'f'.repeat(90), prefix: 'd'.repeat(120) }),
        member({ name: '././@LongLink', type: 'L', format: 'gnu' }, `${long}\0`),
        member({ name: long.slice(0, 100), format: 'gnu' }, 'x'),
        member({ name: '././@LongLink', type: 'K', format: 'gnu' }, `${target}\0`),
        member({ name: 'link', type: '2', linkname: target.slice(0, 100), format: 'gnu' }),
        END,
      ]),
    );
    expect(read.map((r) => [r.header.path, r.header.linkpath, r.body])).toEqual([
      [long, '', ''],
      [long, '', 'x'],
      ['link', target, ''],
    ]);
  });

  it('does not read a prefix from a GNU header, whose bytes there mean something else', () => {
    expect(parse(Buffer.concat([member({ name: 'name', prefix: 'atime-and-more', format: 'gnu' }), END]))[0]?.header.path).toBe('name');
  });

  it('reads the device numbers of a GNU-format header', () => {
    const [read] = parse(Buffer.concat([member({ name: 'dev/kmsg', type: '3', format: 'gnu', devmajor: 1, devminor: 11 }), END]));
    expect([read?.header.devmajor, read?.header.devminor]).toEqual([1, 11]);
  });

  it('reads an old-style file entry whose name ends in / as a directory, and a NUL type flag as a file', () => {
    const read = parse(Buffer.concat([member({ name: 'old-dir/', type: '\0' }), member({ name: 'old-file', type: '\0' }, 'x'), END]));
    expect(read.map((r) => r.header.type)).toEqual(['5', '0']);
  });

  it('reads GNU base-256 numbers: a size, a large uid, a negative mtime', () => {
    const size = Buffer.alloc(12);
    size[0] = 0x80;
    size.writeUInt32BE(5, 8);
    const uid = Buffer.alloc(8);
    uid[0] = 0x80;
    uid.writeUInt32BE(4_000_000_000, 4);
    const [read] = parse(Buffer.concat([member({ name: 'big', sizeField: size, uidField: uid }, 'fives'), END]));
    expect([read?.header.size, read?.header.uid, read?.body]).toEqual([5, 4_000_000_000, 'fives']);
    const negative = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
    expect(headerNumber(negative, 0, 12)).toBe(-2);
    expect(headerNumber(Buffer.from('0000644 \0'), 0, 8)).toBe(0o644);
    expect(headerNumber(Buffer.from('   17\0\0\0'), 0, 8)).toBe(0o17);
    expect(headerNumber(Buffer.alloc(8), 0, 8)).toBeUndefined();
    expect(headerNumber(Buffer.from('12x4\0\0\0\0'), 0, 8)).toBeNaN();
  });

  it('gives an entry of a kind it does not know to the sink with its type flag, for the sink to refuse', () => {
    const read = parse(Buffer.concat([member({ name: 'tape', type: 'V' }), END]));
    expect(read.map((r) => r.header.type)).toEqual(['V']);
  });

  it('stops at two zero blocks, and reads past one', () => {
    const read = parse(
      Buffer.concat([
        member({ name: 'a' }, 'a'),
        Buffer.alloc(512),
        member({ name: 'b' }, 'b'),
        END,
        Buffer.from('trailing garbage, as a tape record pads'),
      ]),
    );
    expect(read.map((r) => r.header.path)).toEqual(['a', 'b']);
  });
});

describe('TarParser: pax extended headers', () => {
  it('lets a pax header override the ustar name, link, size, times and owner of the next entry only', () => {
    const name = `deep/${'n'.repeat(200)}`;
    const archive = Buffer.concat([
      pax(
        'x',
        paxRecord('path', name),
        paxRecord('size', '4'),
        paxRecord('mtime', '1700000000.25'),
        paxRecord('atime', '1600000000'),
        paxRecord('uid', '3000000000'),
        paxRecord('gid', '7'),
        paxRecord('uname', 'ignored'),
      ),
      // The ustar header's own size field says 0: the pax size is the one that counts.
      header({ name: 'truncated-name', size: 0, mode: 0o1777 }),
      pad(Buffer.from('body')),
      pax('x', paxRecord('linkpath', 'a/b/c'), paxRecord('path', 'link')),
      member({ name: 'x', type: '2', linkname: 'ustar-target' }),
      member({ name: 'plain', mtime: 5 }, 'p'),
      END,
    ]);
    for (const size of CHUNKINGS) {
      const read = parse(archive, size);
      expect(read.map((r) => [r.header.path, r.header.linkpath, r.body])).toEqual([
        [name, '', 'body'],
        ['link', 'a/b/c', ''],
        ['plain', '', 'p'],
      ]);
      expect(read[0]?.header).toMatchObject({
        size: 4,
        mtime: 1_700_000_000.25,
        atime: 1_600_000_000,
        uid: 3_000_000_000,
        gid: 7,
        mode: 0o1777,
      });
      expect(read[2]?.header).toMatchObject({ mtime: 5, atime: undefined, uid: 0 });
    }
  });

  it('pairs extended attributes with their entry, byte for byte, in any chunking', () => {
    const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0x80]);
    const archive = Buffer.concat([
      member({ name: 'a' }),
      pax('x', paxRecord('SCHILY.xattr.security.capability', cap), paxRecord('SCHILY.xattr.user.x', '1')),
      member({ name: 'b' }),
      pax('x', paxRecord(`LIBARCHIVE.xattr.${encodeURIComponent('user.with space')}`, Buffer.from('bin\0ary').toString('base64'))),
      member({ name: 'c' }),
      END,
    ]);
    for (const size of CHUNKINGS) {
      const read = parse(archive, size);
      expect(read.map((r) => (r.header.xattrs ? Object.fromEntries(r.header.xattrs) : null))).toEqual([
        null,
        { 'security.capability': cap, 'user.x': Buffer.from('1') },
        { 'user.with space': Buffer.from('bin\0ary') },
      ]);
    }
  });

  it('applies a global header to every entry after it, but never its path', () => {
    const read = parse(
      Buffer.concat([
        member({ name: 'before', uid: 1 }),
        pax('g', paxRecord('uid', '42'), paxRecord('path', 'everything'), paxRecord('mtime', '99')),
        member({ name: 'after1', uid: 1 }),
        pax('x', paxRecord('uid', '43')),
        member({ name: 'after2', uid: 1 }),
        END,
      ]),
    );
    expect(read.map((r) => [r.header.path, r.header.uid, r.header.mtime])).toEqual([
      ['before', 1, 1_700_000_000],
      ['after1', 42, 99],
      ['after2', 43, 99],
    ]);
  });

  it("marks an entry of GNU tar's pax sparse format as one to refuse", () => {
    const [read] = parse(
      Buffer.concat([
        pax('x', paxRecord('GNU.sparse.major', '1'), paxRecord('GNU.sparse.minor', '0')),
        member({ name: 'GNUSparseFile.0/disk.img' }, 'map'),
        END,
      ]),
    );
    expect(read?.header.type).toBe('S');
  });

  it('refuses a malformed pax record, and a size that is not a number', () => {
    const bad =
      (records: Buffer): (() => Read[]) =>
      () =>
        parse(Buffer.concat([member({ name: 'PaxHeader', type: 'x' }, records), member({ name: 'f' }), END]));
    expect(bad(Buffer.from('99 path=short\n'))).toThrow(/corrupt: a pax extended header has a malformed record/);
    expect(bad(Buffer.from('12 path=abc'))).toThrow(/malformed record/);
    expect(bad(paxRecord('size', 'lots'))).toThrow(/gives size as 'lots', which is not a number/);
    expect(bad(paxRecord('size', '-5'))).toThrow(/gives size as -5/);
    expect(bad(paxRecord('LIBARCHIVE.xattr.user.%E0', 'dg=='))).toThrow(
      "the archive is corrupt: a pax extended header names an extended attribute 'user.%E0' that is not percent-encoded",
    );
  });
});

describe('TarParser: a file read whole with its header (file())', () => {
  // Bodies about the block's size, after a pax header and between entries of other kinds.
  const parts: [entry: string | null, bytes: Buffer][] = [
    ['empty', member({ name: 'empty' })],
    [null, pax('x', paxRecord('path', `${'long/'.repeat(30)}name`), paxRecord('mtime', '1.5'))],
    ['short', member({ name: 'short' }, 'after a pax header')],
    ['l', member({ name: 'l', type: '2', linkname: 'empty' })],
    ['c', member({ name: 'c', type: '7' }, 'c'.repeat(511))],
    ['block', member({ name: 'block' }, 'b'.repeat(512))],
    ['odd', member({ name: 'odd' }, 'o'.repeat(1500))],
    ['d/', member({ name: 'd/', type: '5' })],
  ];
  const archive = Buffer.concat([...parts.map(([, bytes]) => bytes), END]);

  /** The entries, each with its body and whether it came whole (file()) or in pieces (entry(), data(), end()). */
  function parseWhole(size: number): [path: string, body: string, whole: boolean][] {
    const read: [string, string, boolean][] = [];
    let body: Buffer[] = [];
    const parser = new TarParser({
      entry: (header) => {
        body = [];
        read.push([header.path, '', false]);
      },
      data: (chunk) => body.push(Buffer.from(chunk)),
      end: () => {
        (read.at(-1) as [string, string, boolean])[1] = Buffer.concat(body).toString();
      },
      file: (header, chunk, start) => {
        expect(start + header.size).toBeLessThanOrEqual(chunk.length);
        read.push([header.path, chunk.toString('utf8', start, start + header.size), true]);
      },
    });
    for (let i = 0; i < archive.length; i += size) parser.write(archive.subarray(i, i + size));
    parser.end();
    return read;
  }

  it.each(CHUNKINGS)(
    'gives the entries and bodies read in pieces, a file whole when its chunk holds its header and body (chunks of %i bytes)',
    (size) => {
      const read = parseWhole(size);
      expect(read.map(([path, body]) => [path, body])).toEqual(parse(archive, size).map((r) => [r.header.path, r.body]));
      let at = 0;
      const whole: boolean[] = [];
      for (const [entry, bytes] of parts) {
        if (entry !== null) {
          const h = parse(Buffer.concat([bytes, END]))[0]?.header as TarHeader;
          const isFile = h.type === '0' || h.type === '7';
          whole.push(isFile && at + 512 + h.size <= (Math.floor(at / size) + 1) * size);
        }
        at += bytes.length;
      }
      expect(read.map(([, , w]) => w)).toEqual(whole);
    },
  );
});

describe('TarParser: archives it refuses', () => {
  const good = Buffer.concat([member({ name: 'first' }, 'one'), member({ name: 'second' }, 'x'.repeat(1000)), END]);

  it('refuses a header with a bad checksum, at its offset', () => {
    const bad = Buffer.from(good);
    bad[1024 + 2] = 0x41; // a byte of the second header's name
    expect(() => parse(bad)).toThrow('the archive is corrupt: the header at byte 1024 has a bad checksum');
    expect(() => parse(Buffer.alloc(4096, 7))).toThrow(/the header at byte 0 has a bad checksum \(is it a tar archive\?\)/);
    expect(checksumValid(header({ name: 'ok' }))).toBe(true);
  });

  it('accepts the signed checksum old tars wrote', () => {
    const b = header({ name: 'caf\u00e9' });
    let signed = 0;
    b.fill(0x20, 148, 156);
    for (const byte of b) signed += byte > 127 ? byte - 256 : byte;
    b.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(checksumValid(b)).toBe(true);
  });

  it.each([1, 100, 511])('refuses an archive cut inside a header (%i bytes of it)', (cut) => {
    expect(() => parse(good.subarray(0, 1024 + cut), 300)).toThrow(/corrupt: Truncated input: the archive ends inside a header/);
  });

  it('refuses an archive cut inside a body, naming the entry', () => {
    expect(() => parse(good.subarray(0, 1024 + 512 + 100))).toThrow(
      "the archive is corrupt: Truncated input: entry 'second' needs 924 more bytes",
    );
  });

  it('refuses a size that lies: larger than the archive, or smaller than the body (what follows is no header)', () => {
    const longer = Buffer.concat([header({ name: 'f', size: 5000 }), pad(Buffer.from('short')), END]);
    expect(() => parse(longer)).toThrow(/Truncated input: entry 'f' needs/);
    const shorter = Buffer.concat([header({ name: 'f', size: 3 }), pad(Buffer.from('x'.repeat(700))), END]);
    expect(() => parse(shorter)).toThrow(/the header at byte 1024 has a bad checksum/);
    const garbage = Buffer.concat([header({ name: 'f', sizeField: Buffer.from('12x\0') }), END]);
    expect(() => parse(garbage)).toThrow(/the header at byte 0 has a size field that is not a size/);
  });

  it('refuses a pax header with no entry after it, and one larger than 1 MiB', () => {
    expect(() => parse(pax('x', paxRecord('path', 'a')))).toThrow(/ends after an extended header, without its entry/);
    expect(() => parse(header({ name: 'PaxHeader', type: 'x', size: 2 * 1024 * 1024 }))).toThrow(/an extended header of 2097152 bytes/);
  });

  // A red-team find: 'dir/name\0junk' was checked as that, and made as dir/name (open(2)
  // reads a C string); node:fs refused it, the addon's writeNewFile did not.
  it('refuses a pax path, link path or attribute name with a NUL byte: a system call would be given the name before it', () => {
    const withPax = (record: Buffer) => () => parse(Buffer.concat([pax('x', record), member({ name: 'f' }, 'x'), END]));
    expect(withPax(paxRecord('path', 'dir/name\0junk'))).toThrow(
      'the archive is corrupt: a pax extended header gives a path with a NUL byte',
    );
    expect(withPax(paxRecord('linkpath', 'target\0'))).toThrow('a pax extended header gives a linkpath with a NUL byte');
    expect(withPax(paxRecord('SCHILY.xattr.user.a\0b', 'v'))).toThrow('a pax extended header names an extended attribute with a NUL byte');
    expect(withPax(paxRecord('LIBARCHIVE.xattr.user.a%00b', 'dg=='))).toThrow('names an extended attribute with a NUL byte');
  });

  it('refuses an entry without a path, a link without a target, and a target on what is not a link', () => {
    expect(() => parse(Buffer.concat([member({ name: '' }), END]))).toThrow('an entry has no path');
    expect(() => parse(Buffer.concat([member({ name: 'l', type: '2' }), END]))).toThrow("entry 'l' is a link without a target");
    expect(() => parse(Buffer.concat([member({ name: 'f', linkname: 'smuggled' }), END]))).toThrow(
      "entry 'f' is not a link but names a link target",
    );
  });
});
