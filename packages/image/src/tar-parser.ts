// A streaming reader of tar archives: ustar, pax (POSIX.1-2001) and GNU tar's format, the
// ones image layers are written in. https://pubs.opengroup.org/onlinepubs/9799919799/utilities/pax.html
// (the ustar and pax interchange formats) and GNU tar's manual, "Basic Tar Format".
//
// It is on the hot path of `diyc-image unpack`: it reads the 512-byte headers in place,
// and hands file bodies on as views of the chunks it is given, never copied, so the layer
// writer can write them out with as few system calls as the chunks allow.
//
// What it honours: the ustar prefix, GNU long names ('L') and long link names ('K'), pax
// extended headers (path, linkpath, size, mtime, atime, uid, gid, and extended
// attributes as SCHILY.xattr.* and LIBARCHIVE.xattr.*, kept byte for byte) and pax global
// headers (all but path and linkpath), and numbers in octal or GNU base-256. Anything it
// cannot read as tar is refused, with the byte offset: a bad checksum, a truncated header
// or body, a malformed pax record, a size that is not a size, a pax name with a NUL byte.
import { DiycError } from '@diyc/record';

const BLOCK = 512;
/** A pax header or a GNU long name larger than this is refused (node-tar's limit too). */
const MAX_META = 1024 * 1024;
const XATTR_PREFIX = 'SCHILY.xattr.';
const LIBARCHIVE_PREFIX = 'LIBARCHIVE.xattr.';

export type Xattrs = Map<string, Buffer>;

/** One entry of the archive, with its extended headers applied. */
export interface TarHeader {
  path: string;
  /**
   * The type flag: '0' file ('\0' and '7' are files too), '1' hardlink, '2' symlink,
   * '3' character device, '4' block device, '5' directory, '6' FIFO, 'D' GNU dump
   * directory; any other letter is an entry the reader of the header must refuse.
   */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of the body that follows the header (0 for links, devices, directories). */
  size: number;
  /** Seconds since the epoch (a pax header gives fractions). */
  mtime: number;
  atime: number | undefined;
  linkpath: string;
  devmajor: number;
  devminor: number;
  xattrs: Xattrs | null;
}

/** Where the parser sends what it reads. `data` gets views of the parser's input: use them before returning. */
export interface TarSink {
  entry(header: TarHeader): void;
  data(chunk: Buffer): void;
  /**
   * The same bytes as data(), as the range [start, end) of the parser's input: a sink that
   * has this method is given ranges instead of views (a view per body was a tenth of the
   * parser's time, and garbage to collect).
   */
  dataRange?(chunk: Buffer, start: number, end: number): void;
  /**
   * The next `length` body bytes, taken by the sink itself from the archive's file `fd` at
   * `position` (a plain layer file: see TarParser.copyBody). Returns how many it took: fewer
   * only where the file ends, 0 when it takes none (an entry whose body it does not keep).
   */
  copyBody?(fd: number, position: number, length: number): number;
  end(): void;
  /**
   * A file entry ('0', '7') whose whole body is chunk[start, start + header.size), in one
   * call instead of entry(), data() and end(): most files of a layer are small, and are read
   * whole with their header.
   */
  file?(header: TarHeader, chunk: Buffer, start: number): void;
}

/** The fields an extended header (pax 'x', GNU 'L' and 'K') sets for the next entry. */
interface Overrides {
  path?: string;
  linkpath?: string;
  size?: number;
  mtime?: number;
  atime?: number;
  uid?: number;
  gid?: number;
  xattrs?: Xattrs;
  sparse?: boolean;
}

/** Type flags that describe a file system object; every other one is metadata or unsupported. */
const ENTRY_TYPES = new Set(['0', '\0', '1', '2', '3', '4', '5', '6', '7', 'D']);
/** Entries with no body, whatever their size field says (as Go's archive/tar, which containerd uses). */
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);
const META_TYPES = new Set(['x', 'X', 'g', 'L', 'N', 'K']);

const corrupt = (message: string): DiycError => new DiycError('invalid', `the archive is corrupt: ${message}`);

/** A string field: UTF-8 up to its first NUL. */
export function headerString(block: Buffer, offset: number, length: number): string {
  if (block[offset] === 0) return '';
  const limit = offset + length;
  const nul = block.indexOf(0, offset);
  return block.toString('utf8', offset, nul < 0 || nul > limit ? limit : nul);
}

/**
 * A numeric field: octal digits (after optional spaces, ended by a space or NUL), or GNU
 * base-256 when the high bit of the first byte is set (0x80 positive, 0xff negative).
 * NaN when the field holds anything else; undefined when it is empty.
 */
export function headerNumber(block: Buffer, offset: number, length: number): number | undefined {
  const first = block[offset] as number;
  if (first & 0x80) return base256(block, offset, length);
  let i = offset;
  const limit = offset + length;
  while (i < limit && block[i] === 0x20) i++;
  let n = 0;
  let digits = 0;
  for (; i < limit; i++, digits++) {
    const c = block[i] as number;
    if (c < 0x30 || c > 0x37) break;
    n = n * 8 + (c - 0x30);
  }
  for (; i < limit; i++) {
    const c = block[i];
    if (c !== 0 && c !== 0x20) return NaN;
  }
  return digits === 0 ? undefined : n;
}

function base256(block: Buffer, offset: number, length: number): number {
  const negative = block[offset] === 0xff;
  if (!negative && block[offset] !== 0x80) return NaN;
  let n = 0;
  for (let i = offset + 1; i < offset + length; i++) n = n * 256 + ((negative ? ~(block[i] as number) : (block[i] as number)) & 0xff);
  if (!Number.isSafeInteger(n)) return NaN;
  return negative ? -(n + 1) : n;
}

/** True when the header's checksum matches (as an unsigned sum, or the signed one old tars wrote). */
export function checksumValid(block: Buffer, offset = 0, words = wordsOf(block)): boolean {
  const recorded = headerNumber(block, offset + 148, 8);
  if (recorded === undefined || Number.isNaN(recorded)) return false;
  const start = block.byteOffset + offset;
  // A header in a chunk of arbitrary length (a network read) may not start on a word.
  const sum = words && (start & 3) === 0 ? wordSum(words, (start - words.byteOffset) >>> 2) : byteSum(block, offset);
  if (recorded === sum) return true;
  let signed = 8 * 0x20;
  for (let i = offset; i < offset + BLOCK; i++) {
    if (i === offset + 148) i += 8;
    const b = block[i] as number;
    signed += b > 127 ? b - 256 : b;
  }
  return recorded === signed;
}

/**
 * A view of the buffer's memory as 32-bit words, from its first word boundary (one per
 * chunk, not per header): a header that starts on one is summed through it.
 */
function wordsOf(buffer: Buffer): Uint32Array | null {
  const skip = (4 - (buffer.byteOffset % 4)) % 4;
  if (buffer.length < skip + 4) return null;
  return new Uint32Array(buffer.buffer, buffer.byteOffset + skip, (buffer.length - skip) >>> 2);
}

/** The sum of a header's bytes, its checksum field (bytes 148 to 155) counted as spaces. */
function byteSum(block: Buffer, offset: number): number {
  let sum = 8 * 0x20;
  for (let i = offset; i < offset + 148; i++) sum += block[i] as number;
  for (let i = offset + 156; i < offset + BLOCK; i++) sum += block[i] as number;
  return sum;
}

/**
 * byteSum a 32-bit word at a time, the word's four bytes added in two 16-bit lanes (at most
 * 126 words * 2 * 255 in a lane: no carry from one into the other). A header is summed
 * for every entry, and byte by byte this was the parser's largest cost.
 */
function wordSum(words: Uint32Array, first: number): number {
  let lanes = 0;
  for (let i = first; i < first + 37; i++) {
    const w = words[i] as number;
    lanes += (w & 0x00ff00ff) + ((w >>> 8) & 0x00ff00ff);
  }
  for (let i = first + 39; i < first + 128; i++) {
    const w = words[i] as number;
    lanes += (w & 0x00ff00ff) + ((w >>> 8) & 0x00ff00ff);
  }
  return 8 * 0x20 + (lanes & 0xffff) + (lanes >>> 16);
}

function isZeroBlock(block: Buffer, offset: number): boolean {
  if (block[offset] !== 0) return false; // a header starts with its name
  for (let i = offset; i < offset + BLOCK; i += 4) {
    if (block.readUInt32LE(i) !== 0) return false;
  }
  return true;
}

/**
 * Reads pax records ("LEN key=value\n", LEN counting the whole record) into `into`:
 * extended attributes as bytes, the other keys this reader honours as text. Throws on a
 * malformed record: the entry it describes cannot be read faithfully.
 */
export function parsePax(body: Buffer, into: Overrides, global = false): void {
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) return; // NUL padding after the last record
    const space = body.indexOf(0x20, pos);
    const len = space < 0 ? NaN : Number(body.toString('latin1', pos, space));
    if (!Number.isSafeInteger(len) || len <= space - pos + 1 || pos + len > body.length || body[pos + len - 1] !== 0x0a) {
      throw corrupt(`a pax extended header has a malformed record at byte ${pos} of its ${body.length}`);
    }
    const record = body.subarray(space + 1, pos + len - 1); // without the final \n
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw corrupt(`a pax extended header has a record without a key at byte ${pos}`);
    paxRecord(record.toString('utf8', 0, eq), record.subarray(eq + 1), into, global);
    pos += len;
  }
}

function paxNumber(key: string, value: Buffer): number {
  const n = Number(value.toString('latin1'));
  if (value.length === 0 || !Number.isFinite(n))
    throw corrupt(`a pax extended header gives ${key} as '${value.toString('latin1')}', which is not a number`);
  return n;
}

function paxRecord(key: string, value: Buffer, into: Overrides, global: boolean): void {
  switch (key) {
    case 'path':
    case 'linkpath':
      if (global) return;
      // A NUL ends a C string: the system calls would be given a shorter name than the one checked.
      if (value.includes(0)) throw corrupt(`a pax extended header gives a ${key} with a NUL byte`);
      into[key] = value.toString('utf8');
      return;
    case 'mtime':
      into.mtime = paxNumber(key, value);
      return;
    case 'atime':
      into.atime = paxNumber(key, value);
      return;
    case 'uid':
    case 'gid':
    case 'size': {
      const n = paxNumber(key, value);
      if (!Number.isSafeInteger(n) || n < 0) throw corrupt(`a pax extended header gives ${key} as ${n}`);
      into[key] = n;
      return;
    }
    default:
  }
  if (key.startsWith('GNU.sparse.')) into.sparse = true;
  else if (global)
    return; // attributes of every file: no tar writes them, and none is honoured
  else if (key.startsWith(XATTR_PREFIX)) setXattr(into, key.slice(XATTR_PREFIX.length), Buffer.from(value));
  else if (key.startsWith(LIBARCHIVE_PREFIX))
    setXattr(into, libarchiveName(key.slice(LIBARCHIVE_PREFIX.length)), Buffer.from(value.toString('latin1'), 'base64'));
}

/** A LIBARCHIVE.xattr.* name, percent-encoded (a bad escape threw a bare URIError). */
function libarchiveName(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw corrupt(`a pax extended header names an extended attribute '${encoded}' that is not percent-encoded`);
  }
}

function setXattr(into: Overrides, name: string, value: Buffer): void {
  // lsetxattr(2) would set the attribute named by what comes before the NUL.
  if (name.includes('\0')) throw corrupt('a pax extended header names an extended attribute with a NUL byte');
  (into.xattrs ??= new Map()).set(name, value);
}

/** Only the extended attributes of a pax header's body (SCHILY.xattr.*, LIBARCHIVE.xattr.*), byte for byte. */
export function parsePaxXattrs(body: Buffer, into: Xattrs): void {
  const overrides: Overrides = { xattrs: into };
  parsePax(body, overrides);
}

const ZERO = Buffer.alloc(0);
const NONE: Readonly<Overrides> = Object.freeze({});

export class TarParser {
  readonly #sink: TarSink;
  /** The sink takes bodies as ranges (dataRange). */
  readonly #ranges: boolean;
  /** The sink takes a file read whole with its header in one call (file). */
  readonly #wholeFiles: boolean;
  /** A header cut between two chunks, gathered here. */
  readonly #partial = Buffer.alloc(BLOCK);
  readonly #partialWords = wordsOf(this.#partial);
  #partialFill = 0;
  /** Body bytes of the current entry still to come, then the padding to the next block. */
  #body = 0;
  #padding = 0;
  /** The body of an extended header being gathered, and its type flag. */
  #meta: Buffer[] | null = null;
  #metaType = '';
  /** What the extended headers read so far set for the next entry (NONE until one does). */
  #local: Overrides = NONE;
  #global: Overrides = {};
  #zeroBlocks = 0;
  #ended = false;
  /** Bytes of the archive before the current chunk, and where the current header starts. */
  #offset = 0;
  #headerAt = 0;
  #entryPath = '';
  #entries = 0;

  constructor(sink: TarSink) {
    this.#sink = sink;
    this.#ranges = typeof sink.dataRange === 'function';
    this.#wholeFiles = typeof sink.file === 'function';
  }

  /** File system entries read so far. */
  get entries(): number {
    return this.#entries;
  }

  /** Body bytes of the current entry still to come; 0 inside an extended header (the parser keeps that body). */
  get bodyLeft(): number {
    return this.#meta ? 0 : this.#body;
  }

  /**
   * Hands the rest of the current entry's body (at most `max` bytes of it) to the sink's
   * copyBody(), which takes it from the archive's file `fd` at `position` (where the input
   * given so far ends) without it passing through this process. Returns the bytes the sink
   * took; the next write() or copyBody() gives the archive from `position` plus those.
   */
  copyBody(fd: number, position: number, max: number): number {
    const left = this.bodyLeft;
    if (left === 0 || !this.#sink.copyBody) return 0;
    const n = this.#sink.copyBody(fd, position, Math.min(left, max));
    this.#body -= n;
    this.#offset += n;
    if (this.#body === 0) this.#sink.end();
    return n;
  }

  /** Reads a chunk of the archive; the sink is called before this returns. */
  write(chunk: Buffer): void {
    let pos = 0;
    const length = chunk.length;
    const words = length >= BLOCK ? wordsOf(chunk) : null;
    while (pos < length && !this.#ended) {
      if (this.#body > 0 || this.#padding > 0) {
        pos = this.#consumeBody(chunk, pos);
      } else if (this.#partialFill === 0 && length - pos >= BLOCK) {
        this.#headerAt = this.#offset + pos;
        pos += BLOCK + this.#header(chunk, pos, words, length - pos - BLOCK);
      } else {
        if (this.#partialFill === 0) this.#headerAt = this.#offset + pos;
        const n = Math.min(BLOCK - this.#partialFill, length - pos);
        chunk.copy(this.#partial, this.#partialFill, pos, pos + n);
        this.#partialFill += n;
        pos += n;
        if (this.#partialFill === BLOCK) {
          this.#partialFill = 0;
          this.#header(this.#partial, 0, this.#partialWords, -1);
        }
      }
    }
    this.#offset += length;
  }

  /** The end of the archive: throws when it stopped inside a header or a body. */
  end(): void {
    if (this.#ended) return;
    if (this.#body > 0 || this.#padding > 0) {
      throw corrupt(
        `Truncated input: ${this.#meta ? 'an extended header' : `entry '${this.#entryPath}'`} needs ${this.#body + this.#padding} more bytes`,
      );
    }
    if (this.#partialFill > 0) throw corrupt(`Truncated input: the archive ends inside a header (${this.#partialFill} of its 512 bytes)`);
    if (this.#meta || this.#local !== NONE) throw corrupt('Truncated input: the archive ends after an extended header, without its entry');
  }

  #consumeBody(chunk: Buffer, pos: number): number {
    if (this.#body > 0) {
      const n = Math.min(this.#body, chunk.length - pos);
      if (this.#meta)
        this.#meta.push(Buffer.from(chunk.subarray(pos, pos + n))); // a copy: the chunk's memory is reused
      else if (this.#ranges) this.#sink.dataRange?.(chunk, pos, pos + n);
      else this.#sink.data(pos === 0 && n === chunk.length ? chunk : chunk.subarray(pos, pos + n));
      this.#body -= n;
      pos += n;
      if (this.#body > 0) return pos;
      if (this.#meta) this.#metaDone();
      else this.#sink.end();
    }
    const skip = Math.min(this.#padding, chunk.length - pos);
    this.#padding -= skip;
    return pos + skip;
  }

  /**
   * Reads the header at block[offset]; `available` bytes of the archive follow it in
   * `block` (-1: none, it was gathered from two chunks). Returns the bytes of the body it
   * gave the sink with the header (file()), which the caller skips.
   */
  #header(block: Buffer, offset: number, words: Uint32Array | null, available: number): number {
    const at = this.#headerAt;
    if (isZeroBlock(block, offset)) {
      // Two zero blocks end the archive; what follows (a tape's record padding) is not read.
      if (++this.#zeroBlocks === 2) this.#ended = true;
      return 0;
    }
    this.#zeroBlocks = 0;
    if (!checksumValid(block, offset, words)) {
      throw corrupt(`the header at byte ${at} has a bad checksum${this.#entries === 0 ? ' (is it a tar archive?)' : ''}`);
    }
    const type = String.fromCharCode(block[offset + 156] as number);
    const size = headerNumber(block, offset + 124, 12);
    if (size !== undefined && (Number.isNaN(size) || size < 0))
      throw corrupt(`the header at byte ${at} has a size field that is not a size`);
    if (META_TYPES.has(type)) {
      this.#startMeta(type, size ?? 0);
      return 0;
    }
    const header = this.#decode(block, offset, type, size ?? 0);
    this.#entries++;
    this.#entryPath = header.path;
    this.#padding = (BLOCK - (header.size % BLOCK)) % BLOCK;
    if (this.#wholeFiles && header.size <= available && (header.type === '0' || header.type === '7')) {
      this.#sink.file?.(header, block, offset + BLOCK);
      return header.size;
    }
    this.#body = header.size;
    this.#sink.entry(header);
    if (header.size === 0) this.#sink.end();
    return 0;
  }

  #startMeta(type: string, size: number): void {
    if (size > MAX_META) throw corrupt(`an extended header of ${size} bytes: more than the ${MAX_META} this reader takes`);
    this.#metaType = type;
    this.#meta = [];
    this.#body = size;
    this.#padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) this.#metaDone();
  }

  #metaDone(): void {
    const body = this.#meta && this.#meta.length > 0 ? Buffer.concat(this.#meta) : ZERO;
    this.#meta = null;
    if (this.#metaType === 'g') {
      parsePax(body, this.#global, true);
      return;
    }
    if (this.#local === NONE) this.#local = {};
    if (this.#metaType === 'K') this.#local.linkpath = headerString(body, 0, body.length);
    else if (this.#metaType === 'L' || this.#metaType === 'N') this.#local.path = headerString(body, 0, body.length);
    else parsePax(body, this.#local);
  }

  /** The entry's header with the pending extended headers applied (a pax header over a global one over the block). */
  #decode(block: Buffer, o: number, type: string, size: number): TarHeader {
    const normal = ENTRY_TYPES.has(type);
    // Extended headers describe the next file system entry, never another kind of entry.
    const local = normal ? this.#local : NONE;
    const global = normal ? this.#global : NONE;
    this.#local = NONE;
    const path = local.path ?? ustarPath(block, o);
    let t = type === '\0' ? '0' : type;
    if ((t === '0' || t === '7') && path.endsWith('/')) t = '5'; // old tars marked directories with a slash
    if (local.sparse) t = 'S';
    const device = t === '3' || t === '4';
    const header: TarHeader = {
      path,
      type: t,
      mode: numberOrZero(headerNumber(block, o + 100, 8)) & 0o7777, // pax has no mode key
      uid: local.uid ?? global.uid ?? numberOrZero(headerNumber(block, o + 108, 8)),
      gid: local.gid ?? global.gid ?? numberOrZero(headerNumber(block, o + 116, 8)),
      size: HEADER_ONLY.has(t) ? 0 : (local.size ?? global.size ?? size),
      mtime: local.mtime ?? global.mtime ?? numberOrZero(headerNumber(block, o + 136, 12)),
      atime: local.atime ?? global.atime,
      linkpath: local.linkpath ?? headerString(block, o + 157, 100),
      devmajor: device ? numberOrZero(headerNumber(block, o + 329, 8)) : 0,
      devminor: device ? numberOrZero(headerNumber(block, o + 337, 8)) : 0,
      xattrs: local.xattrs ?? null,
    };
    checkHeader(header);
    return header;
  }
}

const POSIX_MAGIC = Buffer.from('ustar\u000000', 'latin1');

/** True when the magic and version fields are POSIX's "ustar" NUL "00", compared a byte at a time (a string of them per entry cost more). */
function isPosixUstar(block: Buffer, o: number): boolean {
  for (let i = 0; i < 8; i++) if (block[o + 257 + i] !== POSIX_MAGIC[i]) return false;
  return true;
}

/** The name field, under the prefix field of a POSIX ustar header ("ustar\0" "00"); GNU tar's "ustar  \0" has no prefix. */
function ustarPath(block: Buffer, o: number): string {
  const name = headerString(block, o, 100);
  if (!isPosixUstar(block, o)) return name;
  const prefix = headerString(block, o + 345, block[o + 475] !== 0 ? 155 : 130);
  return prefix === '' ? name : `${prefix}/${name}`;
}

const numberOrZero = (n: number | undefined): number => (n === undefined || Number.isNaN(n) ? 0 : n);

/** What a header must hold (node-tar's checks: a path; a link target for links, and only for them). */
function checkHeader(h: TarHeader): void {
  if (h.path === '') throw corrupt('an entry has no path');
  const link = h.type === '1' || h.type === '2';
  if (link && h.linkpath === '') throw corrupt(`entry '${h.path}' is a link without a target`);
  if (!link && ENTRY_TYPES.has(h.type) && h.linkpath !== '') throw corrupt(`entry '${h.path}' is not a link but names a link target`);
  if (h.uid < 0 || h.gid < 0) throw corrupt(`entry '${h.path}' has a negative owner`);
}
