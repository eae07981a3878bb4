// Tar headers, as tar-parser.ts reads them: POSIX ustar, with a pax extended header
// (type x) before an entry whose path or link is longer than ustar holds, whose size or
// ids do not fit its octal fields, or that has extended attributes (SCHILY.xattr.NAME,
// as GNU tar and docker write them). https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html
export type TarEntryType = 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  /** The path in the archive: no leading '/', a directory's with a trailing '/'. */
  path: string;
  type: TarEntryType;
  /** The permission bits, with setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** A regular file's bytes (0 for the others). */
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** A symlink's target, or the path a hard link names. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

/** The two zero blocks that end an archive. */
export const TAR_END = Buffer.alloc(BLOCK * 2);

/** The zeros after `size` bytes of a body, to the next 512-byte block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** An octal field of `width` bytes (digits, then NUL), or undefined when `value` does not fit. */
function octal(value: number, width: number): string | undefined {
  const text = Math.max(0, Math.floor(value)).toString(8);
  return text.length < width ? text.padStart(width - 1, '0') : undefined;
}

/** One pax record, "LEN KEY=VALUE\n", where LEN counts the whole record, itself included. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

function ustar(fields: {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}): Buffer {
  const block = Buffer.alloc(BLOCK);
  const put = (text: string, offset: number, width: number): void => {
    block.write(text, offset, width, 'utf8');
  };
  put(fields.name, 0, 100);
  put(octal(fields.mode, 8) ?? '0000777', 100, 8);
  put(octal(fields.uid, 8) ?? '0000000', 108, 8);
  put(octal(fields.gid, 8) ?? '0000000', 116, 8);
  put(octal(fields.size, 12) ?? '00000000000', 124, 12);
  put(octal(fields.mtime, 12) ?? '00000000000', 136, 12);
  put('        ', 148, 8);
  put(fields.type, 156, 1);
  put(fields.linkname, 157, 100);
  put('ustar\u000000', 257, 8);
  put(octal(fields.devmajor, 8) ?? '0000000', 329, 8);
  put(octal(fields.devminor, 8) ?? '0000000', 337, 8);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8);
  return block;
}

/** The header blocks of `entry`: a pax header first when ustar cannot hold all of it. */
export function tarHeader(entry: TarEntry): Buffer {
  const records: Buffer[] = [];
  const fits = (text: string, width: number): boolean => Buffer.byteLength(text) <= width && !/[^\x20-\x7e]/.test(text);
  if (!fits(entry.path, 100)) records.push(paxRecord('path', Buffer.from(entry.path)));
  if (entry.linkname !== undefined && !fits(entry.linkname, 100)) records.push(paxRecord('linkpath', Buffer.from(entry.linkname)));
  if (octal(entry.size, 12) === undefined) records.push(paxRecord('size', Buffer.from(String(entry.size))));
  if (octal(entry.uid, 8) === undefined) records.push(paxRecord('uid', Buffer.from(String(entry.uid))));
  if (octal(entry.gid, 8) === undefined) records.push(paxRecord('gid', Buffer.from(String(entry.gid))));
  for (const [name, value] of Object.entries(entry.xattrs ?? {}).sort(([a], [b]) => a.localeCompare(b)))
    records.push(paxRecord(`SCHILY.xattr.${name}`, value));
  const header = ustar({
    name: fits(entry.path, 100) ? entry.path : entry.path.slice(0, 99).replace(/[^\x20-\x7e]/g, '_'),
    mode: entry.mode & 0o7777,
    uid: entry.uid,
    gid: entry.gid,
    size: entry.type === 'file' ? entry.size : 0,
    mtime: entry.mtime,
    type: TYPEFLAG[entry.type],
    linkname: entry.linkname !== undefined && fits(entry.linkname, 100) ? entry.linkname : '',
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
  });
  if (records.length === 0) return header;
  const pax = Buffer.concat(records);
  const paxHeader = ustar({
    name: 'PaxHeader',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: pax.length,
    mtime: entry.mtime,
    type: 'x',
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, pax, tarPadding(pax.length), header]);
}
