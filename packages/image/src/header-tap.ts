// What node-tar does not give us, read from the raw tar stream: extended attributes from
// PAX headers, and the device numbers of GNU-format headers.
//
// node-tar parses PAX headers as text and keeps only the standard keys, so a binary
// attribute such as security.capability (file capabilities: cap_net_raw on ping)
// would be lost or mangled; and it reads devmajor/devminor only from ustar headers, so
// a GNU tar's /dev/kmsg would become 0:0. This tap walks the same bytes in 512-byte
// blocks, and queues each entry's extras in archive order; the layer writer takes them
// as node-tar hands it the entries.

const BLOCK = 512;
const XATTR_PREFIX = 'SCHILY.xattr.';
const LIBARCHIVE_PREFIX = 'LIBARCHIVE.xattr.';

export type Xattrs = Map<string, Buffer>;

/** What the tap read for one entry. */
export interface EntryExtras {
  xattrs: Xattrs | null;
  /** devmajor and devminor of a character or block device entry. */
  device?: { major: number; minor: number };
}

/** Type flags node-tar reads as metadata for the next entry (read-entry.js). */
const META_TYPES = new Set(['g', 'L', 'K', 'N']);
/** Type flags of the entries node-tar emits: files, links, devices, directories, fifos. */
const ENTRY_TYPES = new Set(['0', '\0', '1', '2', '3', '4', '5', '6', '7', 'D']);

/** A numeric header field: octal text, or GNU base-256 when the high bit is set. */
function headerNumber(block: Buffer, offset: number, length: number): number {
  if ((block[offset] ?? 0) & 0x80) {
    let n = 0;
    for (let i = offset + 1; i < offset + length; i++) n = n * 256 + (block[i] ?? 0);
    return n;
  }
  const text = block.toString('latin1', offset, offset + length).replace(/[\0 ].*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/** Parses PAX records ("LEN key=value\n", LEN counting the whole record) as bytes. */
export function parsePaxXattrs(body: Buffer, into: Xattrs): void {
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space < 0) return;
    const len = parseInt(body.toString('latin1', pos, space), 10);
    if (!Number.isFinite(len) || len <= 0 || pos + len > body.length) return;
    const record = body.subarray(space + 1, pos + len - 1); // without the final \n
    const eq = record.indexOf(0x3d);
    if (eq > 0) {
      const key = record.toString('utf8', 0, eq);
      const value = record.subarray(eq + 1);
      if (key.startsWith(XATTR_PREFIX)) into.set(key.slice(XATTR_PREFIX.length), Buffer.from(value));
      else if (key.startsWith(LIBARCHIVE_PREFIX)) into.set(decodeURIComponent(key.slice(LIBARCHIVE_PREFIX.length)), Buffer.from(value.toString('latin1'), 'base64'));
    }
    pos += len;
  }
}

export class HeaderTap {
  /** The extras of the entries seen so far, in order. */
  readonly queue: EntryExtras[] = [];
  #header = Buffer.alloc(BLOCK);
  #headerFill = 0;
  #skip = 0; // body bytes (padded) still to pass over
  #paxBody: Buffer[] | null = null;
  #paxRemaining = 0;
  #pending: Xattrs | null = null;

  write(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - pos);
        if (this.#paxBody && this.#paxRemaining > 0) {
          const take = Math.min(n, this.#paxRemaining);
          // A copy: the reader may reuse the chunk's memory for the next read.
          this.#paxBody.push(Buffer.from(chunk.subarray(pos, pos + take)));
          this.#paxRemaining -= take;
        }
        this.#skip -= n;
        pos += n;
        if (this.#skip === 0 && this.#paxBody) {
          this.#pending ??= new Map();
          parsePaxXattrs(Buffer.concat(this.#paxBody), this.#pending);
          this.#paxBody = null;
        }
        continue;
      }
      const n = Math.min(BLOCK - this.#headerFill, chunk.length - pos);
      chunk.copy(this.#header, this.#headerFill, pos, pos + n);
      this.#headerFill += n;
      pos += n;
      if (this.#headerFill === BLOCK) {
        this.#headerFill = 0;
        this.#onHeader(this.#header);
      }
    }
  }

  #onHeader(block: Buffer): void {
    if (block.every((b) => b === 0)) return; // end-of-archive blocks
    const size = headerNumber(block, 124, 12);
    const type = String.fromCharCode(block[156] ?? 0);
    this.#skip = Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'X') {
      this.#paxBody = [];
      this.#paxRemaining = size;
      if (this.#skip === 0) this.#paxBody = null;
      return;
    }
    if (META_TYPES.has(type)) return; // long names, global headers: the entry follows
    // Only the entries node-tar hands on get a place in the queue; the others it
    // ignores (and extract.ts refuses the archive for them).
    if (ENTRY_TYPES.has(type)) {
      const extras: EntryExtras = { xattrs: this.#pending };
      // The ustar/GNU header fields devmajor (offset 329) and devminor (337), 8 bytes each.
      if (type === '3' || type === '4') extras.device = { major: headerNumber(block, 329, 8), minor: headerNumber(block, 337, 8) };
      this.queue.push(extras);
    }
    this.#pending = null;
  }
}
