// The two halves of a copy, with a tar entry stream between them, as docker's cp is a tar
// made on one side and extracted on the other:
//
//   walk      a file or a tree, read from a node found by the caller, as entries
//   DirSink   entries written into a directory, held by its descriptor
//   TarOut    entries written as a tar stream (diyc cp CONTAINER:SRC -)
//
// Everything below a given directory is reached by one name at a time, from a descriptor
// (the /proc/self/fd/N/NAME form, which resolves N's directory and then NAME alone), and
// never follows a symlink: O_NOFOLLOW on open, lstat(2), and link, symlink, mkdir and
// mknod, which never follow their last name. A container that plants a symlink in a tree
// being copied gets a symlink copied, and one that swaps a directory for a symlink while
// a copy runs makes it fail (ELOOP): neither leads the copy to a host path.
// https://man7.org/linux/man-pages/man7/path_resolution.7.html
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  ftruncateSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { TAR_END, tarHeader, tarPadding, type TarEntry, type TarEntryType, type TarHeader, type TarSink } from '@diyc/image';
import { DiycError, sleepSync } from '@diyc/record';
import { mknod, O } from '@diyc/syscalls';

/** The path of a descriptor, or of one name inside the directory it holds. */
export const fdPath = (fd: number, name?: string): string => (name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`);

/** What receives a copy's entries: each entry, a file's bytes, its end; then finish. */
export interface EntrySink {
  entry(entry: TarEntry): void;
  data(chunk: Buffer): void;
  end(): void;
  finish(): void;
  /** The bytes a tar of what was received takes (docker's "Successfully copied" size). */
  readonly bytes: number;
}

/** A file or directory to copy: its status, and how to open it (or read it, a symlink). */
export interface Node {
  st: Stats;
  open(flags: number): number;
  readlink(): string;
}

/** NAME in the directory `dirFd`, not followed when it is a symlink (followed with `follow`). */
export function nodeAt(dirFd: number, name: string, follow = false): Node {
  const at = fdPath(dirFd, name);
  return {
    st: follow ? fstatOfPath(at) : lstatSync(at),
    open: (flags) => openSync(at, flags | (follow ? 0 : constants.O_NOFOLLOW)),
    readlink: () => readlinkSync(at),
  };
}

function fstatOfPath(path: string): Stats {
  const fd = openSync(path, O.PATH);
  try {
    return fstatSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The object a descriptor holds (an O_PATH one from resolveInRoot): opened again through /proc/self/fd. */
export function nodeOfFd(fd: number): Node {
  return {
    st: fstatSync(fd),
    open: (flags) => openSync(fdPath(fd), flags),
    readlink: () => {
      throw new DiycError('system', 'a followed path is never a symlink');
    },
  };
}

const typeOf = (st: Stats): TarEntryType | undefined => {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined; // a socket: a tar has no place for it
};

const major = (dev: number): number => Number((BigInt(dev) >> 8n) & 0xfffn) | Number((BigInt(dev) >> 32n) & ~0xfffn);
const minor = (dev: number): number => Number(BigInt(dev) & 0xffn) | Number((BigInt(dev) >> 12n) & ~0xffn);

const sameFile = (a: Stats, b: Stats): boolean => a.dev === b.dev && a.ino === b.ino;

/**
 * Sends `node` and, for a directory, everything below it to `sink`, the top named `path`
 * ('' for a directory: its contents alone, at the top). Children are sorted by name; a
 * file met again (hard links) is sent as a link to its first path, as tar does.
 */
export function walk(node: Node, path: string, sink: EntrySink, seen = new Map<string, string>()): void {
  const { st } = node;
  const type = typeOf(st);
  if (type === undefined) return;
  const base = { path, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: 0, mtime: Math.floor(st.mtimeMs / 1000) };
  if (type === 'file' && st.nlink > 1) {
    const key = `${st.dev}:${st.ino}`;
    const first = seen.get(key);
    if (first !== undefined) {
      sink.entry({ ...base, type: 'link', linkname: first });
      sink.end();
      return;
    }
    seen.set(key, path);
  }
  if (type === 'dir') {
    const fd = node.open(constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      if (!sameFile(fstatSync(fd), st)) throw changed(path);
      if (path !== '') {
        sink.entry({ ...base, path: `${path}/` });
        sink.end();
      }
      for (const name of readdirSync(fdPath(fd)).sort()) walk(nodeAt(fd, name), path === '' ? name : `${path}/${name}`, sink, seen);
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (type === 'file') {
    // What the name holds now is looked at before anything is opened: an O_PATH descriptor
    // opens no driver. A device swapped in since lstat (opened here by the host's root,
    // outside the container's device cgroup, a watchdog or a tape would act) or a FIFO (an
    // open that would wait) is refused; the file itself is then opened through that
    // descriptor, the very inode checked. https://man7.org/linux/man-pages/man2/open.2.html
    const pathFd = node.open(O.PATH);
    let fd: number;
    try {
      const seen = fstatSync(pathFd);
      if (!seen.isFile() || !sameFile(seen, st)) throw changed(path);
      fd = openSync(fdPath(pathFd), constants.O_RDONLY);
    } finally {
      closeSync(pathFd);
    }
    try {
      const now = fstatSync(fd);
      sink.entry({ ...base, size: now.size });
      const buf = Buffer.alloc(Math.min(1024 * 1024, Math.max(now.size, 1)));
      let left = now.size;
      while (left > 0) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
        // A file that shrank as it was read is padded with zeros: the size is in the header already.
        const chunk = n > 0 ? buf.subarray(0, n) : Buffer.alloc(Math.min(buf.length, left));
        sink.data(chunk);
        left -= chunk.length;
      }
      sink.end();
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (type === 'symlink') sink.entry({ ...base, linkname: node.readlink() });
  else if (type === 'char' || type === 'block') sink.entry({ ...base, devmajor: major(st.rdev), devminor: minor(st.rdev) });
  else sink.entry(base);
  sink.end();
}

const changed = (path: string): DiycError => new DiycError('state', `${path || '.'} changed while it was copied: try again`);

/** How many directories a DirSink keeps open between entries. */
const MAX_OPEN_DIRS = 256;

const tarBytes = (size: number): number => 512 + size + ((512 - (size % 512)) % 512);

export interface DirSinkOptions {
  /** Give each file the entry's owner (docker cp -a); else it is the caller's (root). */
  keepOwner: boolean;
  /**
   * The directory is the host's: device nodes are left out (a container's `b 8 0` would
   * be the host's disk, open to whoever the container gave it to), and setuid and setgid
   * bits dropped (a container's setuid shell would be root's here).
   */
  host: boolean;
  /** How a path is shown in an error: CONTAINER:/PATH or /PATH. */
  show: (rel: string) => string;
  warn: (message: string) => void;
}

/** The path of an entry as a list of names: no '..', no empty name; '' for the top itself. */
export function entryNames(path: string): string[] {
  const names = path.split('/').filter((n) => n !== '' && n !== '.');
  if (names.includes('..')) throw new DiycError('invalid', `refusing the entry '${path}': it leads out of the destination`);
  return names;
}

/** Writes entries into the directory `baseFd` holds, as docker's extraction does (existing directories are merged). */
export class DirSink implements EntrySink {
  readonly #options: DirSinkOptions;
  /**
   * Open directories by their path below the base ('' the base), the least recently used
   * first: at most MAX_OPEN_DIRS stay open between entries (a tree of 25 000 directories
   * must not run out of descriptors, EMFILE), the others opened again when met again.
   */
  readonly #dirs = new Map<string, number>();
  /** Directories whose times are set last (writing into one changes its mtime), by their names below the base. */
  readonly #times: { names: string[]; mtime: number }[] = [];
  /** The file being written, and where its next bytes go. */
  #file: { fd: number; entry: TarEntry; at: number } | undefined;
  #bytes = 1024;
  readonly #umask: number;

  constructor(baseFd: number, options: DirSinkOptions) {
    this.#options = options;
    this.#dirs.set('', baseFd);
    // Modes are set as the entries give them: no umask while the copy is written.
    this.#umask = process.umask(0);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The directory at `names` below the base, made (0755) when missing and `make`. */
  #dir(names: string[], make: boolean): number {
    const key = names.join('/');
    const open = this.#dirs.get(key);
    if (open !== undefined) {
      this.#dirs.delete(key);
      this.#dirs.set(key, open);
      return open;
    }
    const parent = this.#dir(names.slice(0, -1), make);
    const name = names[names.length - 1] as string;
    if (make) {
      try {
        mkdirSync(fdPath(parent, name), 0o755);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    let fd: number;
    try {
      fd = openSync(fdPath(parent, name), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP' || code === 'ENOTDIR')
        throw new DiycError('invalid', `${this.#options.show(key)} is not a directory: nothing is written through it`);
      throw err;
    }
    this.#dirs.set(key, fd);
    return fd;
  }

  /**
   * Closes the least recently used directories past MAX_OPEN_DIRS. Only between entries:
   * an entry's own descriptors (its parent's, in a /proc/self/fd/N/NAME path) must stay
   * open while it uses them, or N could name another directory opened meanwhile.
   */
  #trim(): void {
    for (const [key, fd] of this.#dirs) {
      if (this.#dirs.size <= MAX_OPEN_DIRS) return;
      if (key === '') continue;
      closeSync(fd);
      this.#dirs.delete(key);
    }
  }

  entry(entry: TarEntry): void {
    this.#trim();
    const names = entryNames(entry.path);
    const name = names[names.length - 1];
    this.#bytes += tarBytes(entry.type === 'file' ? entry.size : 0);
    if (name === undefined) return; // the top directory itself: it is the destination
    const parent = this.#dir(names.slice(0, -1), true);
    const at = fdPath(parent, name);
    const rel = names.join('/');
    let existing: Stats | undefined;
    try {
      existing = lstatSync(at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const mode = this.#options.host ? entry.mode & ~0o6000 : entry.mode;
    if (existing?.isDirectory()) {
      if (entry.type !== 'dir')
        throw new DiycError('invalid', `cannot overwrite directory "${this.#options.show(rel)}" with non-directory "${entry.path}"`);
    } else if (existing) {
      // What stood there goes, whatever it was (a symlink is never written through).
      unlinkSync(at);
    }
    switch (entry.type) {
      case 'dir': {
        // A file or a symlink that stood there was removed above: the directory takes its place.
        if (!existing?.isDirectory()) mkdirSync(at, 0o700);
        const fd = this.#dir(names, false);
        fchmodSync(fd, mode);
        if (this.#options.keepOwner) fchownSync(fd, entry.uid, entry.gid);
        this.#times.push({ names, mtime: entry.mtime });
        return;
      }
      case 'file': {
        const fd = openSync(at, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        this.#file = { fd, entry: { ...entry, mode }, at: 0 };
        return;
      }
      case 'symlink':
        symlinkSync(entry.linkname ?? '', at);
        break;
      case 'link': {
        const target = entryNames(entry.linkname ?? '');
        const targetName = target[target.length - 1];
        if (targetName === undefined) throw new DiycError('invalid', `the hard link '${entry.path}' names no file`);
        // link(2) does not follow a symlink at its first path: the link is to what is there.
        linkSync(fdPath(this.#dir(target.slice(0, -1), false), targetName), at);
        return;
      }
      case 'char':
      case 'block':
        if (this.#options.host) {
          this.#options.warn(`${entry.path} is a device node: left out (copied out, it would open the host's device)`);
          return;
        }
        mknod(at, entry.type, mode, entry.devmajor ?? 0, entry.devminor ?? 0);
        break;
      case 'fifo':
        mknod(at, 'fifo', mode);
        break;
    }
    if (this.#options.keepOwner) lchownSync(at, entry.uid, entry.gid);
    lutimesSync(at, entry.mtime, entry.mtime);
  }

  data(chunk: Buffer): void {
    const file = this.#file;
    if (!file) return;
    // A run of zeros is left a hole, not written: a sparse file (a container's 1 TB of
    // `truncate -s`, costing it nothing) must not fill the disk it lands on. end() sets the size.
    if (!isZeros(chunk)) writeFully(file.fd, chunk, file.at);
    file.at += chunk.length;
  }

  end(): void {
    const file = this.#file;
    if (!file) return;
    this.#file = undefined;
    try {
      // Its size, holes at the end included.
      ftruncateSync(file.fd, file.at);
      fchmodSync(file.fd, file.entry.mode);
      if (this.#options.keepOwner) fchownSync(file.fd, file.entry.uid, file.entry.gid);
      futimesSync(file.fd, file.entry.mtime, file.entry.mtime);
    } finally {
      closeSync(file.fd);
    }
  }

  finish(): void {
    try {
      for (const { names, mtime } of this.#times.reverse()) {
        this.#trim();
        let fd: number;
        try {
          fd = this.#dir(names, false);
        } catch {
          // Gone or swapped for a symlink since (the container's doing): its time is not ours to set.
          continue;
        }
        futimesSync(fd, mtime, mtime);
      }
    } finally {
      this.close();
    }
  }

  /** Closes what is open (the base too); safe to call twice. */
  close(): void {
    if (this.#file) closeSync(this.#file.fd);
    this.#file = undefined;
    for (const [key, fd] of this.#dirs) if (key !== '') closeSync(fd);
    this.#dirs.clear();
    process.umask(this.#umask);
  }
}

const ZEROS = Buffer.alloc(1024 * 1024);

/** True when `chunk` holds only zero bytes (walk's chunks are at most 1 MiB). */
function isZeros(chunk: Buffer): boolean {
  for (let off = 0; off < chunk.length; off += ZEROS.length) {
    const part = chunk.subarray(off, off + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

/**
 * Writes all of `chunk` to `fd`, synchronously, at `position` (pwrite) or where the file
 * is; a non-blocking stdout (a pipe not yet emptied) is waited for.
 */
export function writeFully(fd: number, chunk: Buffer, position?: number): void {
  for (let off = 0; off < chunk.length; ) {
    try {
      off += writeSync(fd, chunk, off, chunk.length - off, position === undefined ? null : position + off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      sleepSync(5);
    }
  }
}

/** Entries as a tar stream on a descriptor (stdout). */
export class TarOut implements EntrySink {
  readonly #fd: number;
  #size = 0;
  #bytes = 0;

  constructor(fd: number) {
    this.#fd = fd;
  }

  get bytes(): number {
    return this.#bytes;
  }

  #write(chunk: Buffer): void {
    this.#bytes += chunk.length;
    writeFully(this.#fd, chunk);
  }

  entry(entry: TarEntry): void {
    this.#size = entry.type === 'file' ? entry.size : 0;
    this.#write(tarHeader(entry));
  }

  data(chunk: Buffer): void {
    this.#write(chunk);
  }

  end(): void {
    this.#write(tarPadding(this.#size));
    this.#size = 0;
  }

  finish(): void {
    this.#write(TAR_END);
  }
}

const TAR_TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

/** A tar parser's sink that hands each entry on to an EntrySink (diyc cp - CONTAINER:DEST). */
export function tarInto(sink: EntrySink): TarSink {
  return {
    entry(header: TarHeader) {
      const type = TAR_TYPES[header.type];
      if (type === undefined)
        throw new DiycError('invalid', `the archive's entry '${header.path}' is of a kind diyc cp cannot write (${header.type})`);
      sink.entry({
        path: header.path,
        type,
        mode: header.mode & 0o7777,
        uid: header.uid,
        gid: header.gid,
        size: header.size,
        mtime: Math.floor(header.mtime),
        ...(header.linkpath !== '' ? { linkname: header.linkpath } : {}),
        devmajor: header.devmajor,
        devminor: header.devminor,
      });
    },
    data: (chunk) => sink.data(chunk),
    end: () => sink.end(),
  };
}
