// Writes the entries of one layer's tar stream into a directory, faithfully and safely.
//
// Faithful: numeric owners, all mode bits (setuid, setgid, sticky), mtimes, symlinks,
// hardlinks, device nodes and FIFOs, and extended attributes. Safe: nothing is ever
// written outside the directory: an absolute path, a `..` component, a path through a
// symlink of the layer, a hardlink to a file outside, or anything but a directory in place
// of the layer root refuses the whole layer, with the entry named. Whiteouts (`.wh.NAME`,
// `.wh..wh..opq`) become what overlayfs reads as whiteouts: a 0/0 character device, and
// the trusted.overlay.opaque attribute.
//
// The writes are synchronous: a layer is written sequentially, as GNU tar does, and a
// thread-pool round trip per small file would cost more than the write itself. A file's
// body is written straight from the parser's chunks, one write(2) per chunk it spans; a
// file read whole with its header is made in one call to the addon (file(), writeNewFile);
// the long rest of a body in a plain layer file is copied by the kernel (copyBody, sendfile(2)).
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { DiycError } from '@diyc/record';
import { type FileOwner, lsetxattr, mknod, sendfile, writeNewFile } from '@diyc/syscalls';
import type { TarHeader, TarSink, Xattrs } from './tar-parser.js';

/** An archive entry that would write outside the layer: the whole layer is refused. */
function unsafeEntry(entry: string, reason: string): DiycError {
  return new DiycError('invalid', `unsafe entry '${entry}': ${reason}`);
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';
/** open(2) flags of a file body: a new file, never one reached through a symlink. */
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW; // libuv adds O_CLOEXEC

/** Entries of kinds a layer cannot hold, named for the error. */
const UNSUPPORTED: Record<string, string> = {
  S: 'a GNU sparse file',
  V: 'a tape volume label',
  M: 'a multi-volume continuation',
  A: 'a Solaris ACL',
  I: 'an inode record',
};

export interface LayerStats {
  entries: number;
  bytes: number;
  whiteouts: number;
}

/** The file whose body is being written. */
interface OpenFile {
  fd: number;
  abs: string;
  header: TarHeader;
  /** Its owner is to be set (#owner). */
  chown: boolean;
}

export class LayerWriter implements TarSink {
  readonly stats: LayerStats = { entries: 0, bytes: 0, whiteouts: 0 };
  readonly #root: string;
  readonly #symlinks = new Set<string>();
  /** Directories this layer made (never symlinks), with all the directories above them. */
  readonly #madeDirs = new Set<string>();
  /**
   * Directories of the layer with the setgid bit: what is made in one takes its group, not
   * this process's (mkdir(2), open(2)), so the owner the archive gives is set even when it is ours.
   */
  readonly #setgidDirs = new Set<string>();
  /** The current entry's parent is one of #setgidDirs. */
  #parentSetgid = false;
  /** Directories' times, set by finish(): [path relative to the root, atime, mtime]. */
  readonly #dirTimes: [rel: string, atime: number, mtime: number][] = [];
  /** Paths this layer has written: anything else does not exist yet (the layer starts empty). */
  readonly #written = new Set<string>();
  readonly #uid = process.getuid?.() ?? 0;
  readonly #gid = process.getgid?.() ?? 0;
  #file: OpenFile | null = null;

  constructor(root: string) {
    this.#root = root;
    this.#madeDirs.add('');
    // The layer root stands for the image's `/`; an archive without a './' entry
    // leaves it as a root filesystem's top directory is: 0755.
    chmodSync(root, 0o755);
  }

  /** Writes one entry; a file's body follows through data() and end(). */
  entry(h: TarHeader): void {
    const at = this.#place(h);
    if (!at) return;
    const { rel, abs } = at;
    switch (h.type) {
      case '5':
      case 'D':
        this.#directory(h, rel, abs);
        return;
      case '0':
      case '7':
        this.#openFile(h, rel, abs);
        return;
      case '1':
        this.#hardlink(h, rel, abs);
        return;
      case '2':
        this.#symlink(h, rel, abs);
        return;
      case '3':
      case '4':
      case '6':
        this.#node(h, rel, abs);
        return;
      default:
        throw new DiycError(
          'invalid',
          `entry '${h.path}' is of a kind diyc-image cannot write (${UNSUPPORTED[h.type] ?? `type flag '${h.type}'`})`,
        );
    }
  }

  /** A file with its whole body, chunk[start, start + h.size): made and written in one call. */
  file(h: TarHeader, chunk: Buffer, start: number): void {
    const at = this.#place(h);
    if (!at) return;
    this.#clear(at.rel, false);
    writeNewFile(at.abs, h.mode, chunk, start, start + h.size, this.#owner(h), h.atime ?? h.mtime, h.mtime);
    this.stats.bytes += h.size;
    this.#setXattrs(at.abs, h.xattrs);
  }

  /**
   * Where an entry goes: its path checked and made relative, the directories above it made.
   * Null for a whiteout, which this has written already.
   */
  #place(h: TarHeader): { rel: string; abs: string } | null {
    this.stats.entries++;
    const rel = this.#relative(h.path, h.path);
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    const name = rel.slice(slash + 1);
    if (name.startsWith(WHITEOUT_PREFIX)) {
      this.#whiteout(h.path, parent, name);
      return null;
    }
    // The layer root stays a directory: a symlink there (an entry '.' or './') took every
    // later entry where it pointed, and a directory named under it was removed there.
    if (rel === '' && h.type !== '5' && h.type !== 'D')
      throw unsafeEntry(h.path, 'it would replace the layer root with what is not a directory');
    if (rel !== '') this.#ensureDir(parent);
    this.#parentSetgid = this.#setgidDirs.size > 0 && rel !== '' && this.#setgidDirs.has(parent);
    return { rel, abs: rel === '' ? this.#root : `${this.#root}/${rel}` };
  }

  /**
   * The owner a new file must be given, or null when it has it already: made by this
   * process, and not in a setgid directory (whose group it took).
   */
  #owner(h: TarHeader): FileOwner | null {
    return h.uid !== this.#uid || h.gid !== this.#gid || this.#parentSetgid ? { uid: h.uid, gid: h.gid } : null;
  }

  /** Body bytes of the current entry: written to the file, if the entry is one. */
  data(chunk: Buffer): void {
    this.dataRange(chunk, 0, chunk.length);
  }

  /** Body bytes of the current entry, chunk[start, end): the parser gives ranges, not views. */
  dataRange(chunk: Buffer, start: number, end: number): void {
    const file = this.#file;
    if (!file) return;
    try {
      for (let off = start; off < end; ) off += writeSync(file.fd, chunk, off, end - off);
    } catch (err) {
      this.abort();
      throw err;
    }
    this.stats.bytes += end - start;
  }

  /** Body bytes of the current file, copied from the archive's file in the kernel (sendfile(2)). */
  copyBody(archiveFd: number, position: number, length: number): number {
    const file = this.#file;
    if (!file) return 0;
    let copied: number;
    try {
      copied = sendfile(file.fd, archiveFd, position, length);
    } catch (err) {
      this.abort();
      throw err;
    }
    this.stats.bytes += copied;
    return copied;
  }

  /** The end of the current entry's body: the file gets its owner, times and attributes. */
  end(): void {
    const file = this.#file;
    if (!file) return;
    this.#file = null;
    const { fd, abs, header: h } = file;
    try {
      // Owner first: chown(2) clears setuid and setgid bits. The file was created with its
      // mode (the umask is 0 while a layer is written), so chmod is needed only after chown.
      if (file.chown) {
        fchownSync(fd, h.uid, h.gid);
        fchmodSync(fd, h.mode);
      }
      futimesSync(fd, h.atime ?? h.mtime, h.mtime);
      this.#setXattrs(abs, h.xattrs);
    } finally {
      closeSync(fd);
    }
  }

  /** Closes the file being written, if any: the extraction failed. */
  abort(): void {
    const file = this.#file;
    this.#file = null;
    if (file) closeSync(file.fd);
  }

  /**
   * Sets directory times last (writing into a directory changes its mtime), on the
   * directories that are still the layer's: one that a later entry replaced (by a symlink,
   * say, or with a symlink in place of a directory above it) is not followed (utimes(2) follows).
   */
  finish(): void {
    for (let i = this.#dirTimes.length - 1; i >= 0; i--) {
      const [rel, atime, mtime] = this.#dirTimes[i] as [string, number, number];
      if (this.#madeDirs.has(rel)) utimesSync(rel === '' ? this.#root : `${this.#root}/${rel}`, atime, mtime);
    }
  }

  /**
   * Checks an archive path and normalises it to a path under the layer root ('' for the
   * root itself): no absolute path, no `..`, nothing through one of the layer's symlinks.
   */
  #relative(entry: string, path: string, what = 'path'): string {
    if (path.startsWith('/')) throw unsafeEntry(entry, `its ${what} is absolute`);
    let rel = path.startsWith('./') ? path.slice(2) : path; // GNU tar writes ./usr/bin
    if (rel.endsWith('/')) rel = rel.slice(0, -1);
    // Most paths have no empty, `.` or `..` component: the split is for the others.
    if (rel === '.' || rel.includes('//') || rel.includes('./') || rel.endsWith('/.') || rel.includes('..')) {
      const parts: string[] = [];
      for (const part of path.split('/')) {
        if (part === '' || part === '.') continue;
        if (part === '..') throw unsafeEntry(entry, `its ${what} contains '..'`);
        parts.push(part);
      }
      rel = parts.join('/');
    }
    const slash = rel.lastIndexOf('/');
    if (slash > 0 && this.#symlinks.size > 0) this.#refuseSymlinkPrefix(entry, rel.slice(0, slash), what);
    return rel;
  }

  /** Refuses a path whose parent is, or is under, one of the layer's symlinks (writing there would follow it). */
  #refuseSymlinkPrefix(entry: string, parent: string, what: string): void {
    // A directory this layer made has only directories above it: nothing to check.
    if (this.#madeDirs.has(parent)) return;
    for (let slash = parent.indexOf('/'); ; slash = parent.indexOf('/', slash + 1)) {
      const prefix = slash < 0 ? parent : parent.slice(0, slash);
      if (this.#symlinks.has(prefix)) throw unsafeEntry(entry, `its ${what} goes through the symlink '${prefix}'`);
      if (slash < 0) return;
    }
  }

  /** Makes the directory `rel` and those above it, unless this layer made it already. */
  #ensureDir(rel: string): void {
    if (this.#madeDirs.has(rel)) return;
    try {
      mkdirSync(`${this.#root}/${rel}`, { recursive: true, mode: 0o755 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
      throw new DiycError('invalid', `the archive puts an entry under '${rel}', which an earlier entry made a file, not a directory`);
    }
    // mkdir(2) gives a directory made in a setgid one the setgid bit too.
    let setgid = this.#setgidDirs.has('');
    for (let slash = rel.indexOf('/'); ; slash = rel.indexOf('/', slash + 1)) {
      const dir = slash < 0 ? rel : rel.slice(0, slash);
      if (this.#madeDirs.has(dir)) setgid = this.#setgidDirs.has(dir);
      else {
        this.#madeDirs.add(dir);
        if (setgid) this.#setgidDirs.add(dir);
      }
      if (slash < 0) break;
    }
  }

  /**
   * Makes room at `rel` (relative to the layer root): removes whatever is there, unless it
   * is a directory and `keepDir`. Returns true when a directory was kept. Whatever was
   * there, it is no longer one of the layer's symlinks.
   */
  #clear(rel: string, keepDir: boolean): boolean {
    // An archive names most paths once: a path not written yet cannot exist (nor be one of
    // the layer's symlinks), and the lstat(2) it would take is a tenth of the cost of a small file.
    if (rel !== '' && !this.#written.has(rel) && !this.#madeDirs.has(rel)) {
      this.#written.add(rel);
      return false;
    }
    this.#symlinks.delete(rel);
    this.#written.add(rel); // what comes next is written there
    const abs = `${this.#root}/${rel}`;
    let st: Stats;
    try {
      st = lstatSync(abs);
    } catch {
      return false;
    }
    if (!st.isDirectory()) {
      unlinkSync(abs);
      return false;
    }
    if (keepDir) return true;
    rmSync(abs, { recursive: true, force: true });
    this.#forgetTree(rel);
    return false;
  }

  /** A directory was removed: neither it nor anything under it is a directory or a symlink of the layer any more. */
  #forgetTree(rel: string): void {
    const under = `${rel}/`;
    for (const set of [this.#madeDirs, this.#symlinks, this.#setgidDirs]) {
      for (const path of set) if (path === rel || path.startsWith(under)) set.delete(path);
    }
  }

  /** `.wh.NAME` hides NAME of the layers below (a 0/0 character device); `.wh..wh..opq` hides all the directory held below. */
  #whiteout(entry: string, parent: string, name: string): void {
    if (name === OPAQUE_MARKER) {
      this.#ensureDir(parent);
      lsetxattr(parent === '' ? this.#root : `${this.#root}/${parent}`, OPAQUE_XATTR, Buffer.from('y'));
      this.stats.whiteouts++;
      return;
    }
    if (name.startsWith('.wh..wh.')) return; // aufs internals: no meaning here
    const hiddenName = name.slice(WHITEOUT_PREFIX.length);
    // `.wh..` and `.wh...` would hide the directory itself, or the one above the layer.
    if (hiddenName === '' || hiddenName === '.' || hiddenName === '..') throw unsafeEntry(entry, `it is a whiteout of '${hiddenName}'`);
    const hidden = parent === '' ? hiddenName : `${parent}/${hiddenName}`;
    this.#ensureDir(parent);
    this.#clear(hidden, false);
    mknod(`${this.#root}/${hidden}`, 'char', 0, 0, 0);
    this.stats.whiteouts++;
  }

  #directory(h: TarHeader, rel: string, abs: string): void {
    const made = rel !== '' && !this.#clear(rel, true);
    if (made) mkdirSync(abs, { mode: 0o700 });
    this.#madeDirs.add(rel);
    // A directory mkdir(2) just made is this process's already (unless its parent is setgid); one that was there may not be.
    if (!made || h.uid !== this.#uid || h.gid !== this.#gid || this.#parentSetgid) chownSync(abs, h.uid, h.gid);
    chmodSync(abs, h.mode);
    if (h.mode & 0o2000) this.#setgidDirs.add(rel);
    else this.#setgidDirs.delete(rel);
    this.#setXattrs(abs, h.xattrs);
    this.#dirTimes.push([rel, h.atime ?? h.mtime, h.mtime]);
  }

  #openFile(h: TarHeader, rel: string, abs: string): void {
    this.#clear(rel, false);
    this.#file = { fd: openSync(abs, CREATE, h.mode), abs, header: h, chown: this.#owner(h) !== null };
  }

  #hardlink(h: TarHeader, rel: string, abs: string): void {
    const target = this.#relative(h.path, h.linkpath, 'hardlink target');
    if (target === '') throw unsafeEntry(h.path, 'its hardlink target is the layer root');
    if (!this.#written.has(target))
      throw new DiycError('invalid', `entry '${h.path}' is a hardlink to '${h.linkpath}', which the layer does not hold before it`);
    this.#clear(rel, false);
    linkSync(`${this.#root}/${target}`, abs);
    // link(2) on a symlink makes a second name of the symlink itself (it does not follow
    // it): that name is a symlink of the layer too, and nothing may be written through it.
    if (this.#symlinks.has(target)) this.#symlinks.add(rel);
  }

  #symlink(h: TarHeader, rel: string, abs: string): void {
    this.#clear(rel, false);
    // A symlink's contents may point anywhere: it is resolved inside the container's
    // root at run time. What matters is that this writer never follows it.
    symlinkSync(h.linkpath, abs);
    this.#symlinks.add(rel);
    if (h.uid !== this.#uid || h.gid !== this.#gid || this.#parentSetgid) lchownSync(abs, h.uid, h.gid);
    lutimesSync(abs, h.atime ?? h.mtime, h.mtime);
    this.#setXattrs(abs, h.xattrs);
  }

  /** A character or block device, or a FIFO. */
  #node(h: TarHeader, rel: string, abs: string): void {
    this.#clear(rel, false);
    const kind = h.type === '3' ? 'char' : h.type === '4' ? 'block' : 'fifo';
    // Device numbers as the archive has them (whether a node may be used is the
    // device cgroup's to decide, not the image's).
    mknod(abs, kind, h.mode, h.devmajor, h.devminor);
    chownSync(abs, h.uid, h.gid);
    chmodSync(abs, h.mode);
    utimesSync(abs, h.atime ?? h.mtime, h.mtime);
    this.#setXattrs(abs, h.xattrs);
  }

  #setXattrs(abs: string, xattrs: Xattrs | null): void {
    if (!xattrs) return;
    for (const [name, value] of xattrs) {
      // overlayfs's own attributes come from whiteouts, never from an archive.
      if (name.startsWith('trusted.overlay.')) continue;
      lsetxattr(abs, name, value);
    }
  }
}
