// Writes the entries of one layer's tar stream into a directory, faithfully and safely.
//
// Faithful: numeric owners, all mode bits (setuid, setgid, sticky), mtimes, symlinks,
// hardlinks, device nodes and FIFOs, and extended attributes. Safe: nothing is ever
// written outside the directory: an absolute path, a `..` component, a path through a
// symlink of the layer, or a hardlink to a file outside refuses the whole layer, with
// the entry named. Whiteouts (`.wh.NAME`, `.wh..wh..opq`) become what overlayfs reads
// as whiteouts: a 0/0 character device, and the trusted.overlay.opaque attribute.
//
// The writes are synchronous: a layer is written sequentially, as GNU tar does, and a
// thread-pool round trip per small file would cost more than the write itself.
import {
  closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync,
  chmodSync, chownSync, mkdirSync, openSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeSync, type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { DiycError } from '@diyc/record';
import { lsetxattr, mknod } from '@diyc/syscalls';
import type { EntryExtras, Xattrs } from './header-tap.js';

/** The fields of a node-tar ReadEntry this writer reads. */
export interface TarEntry {
  path: string;
  type: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: Date;
  atime?: Date;
  linkpath?: string;
  header: { devmaj?: number; devmin?: number };
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  resume(): unknown;
}

/** An archive entry that would write outside the layer: the whole layer is refused. */
function unsafeEntry(entry: string, reason: string): DiycError {
  return new DiycError('invalid', `unsafe entry '${entry}': ${reason}`);
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';

export interface LayerStats {
  entries: number;
  bytes: number;
  whiteouts: number;
}

export class LayerWriter {
  readonly stats: LayerStats = { entries: 0, bytes: 0, whiteouts: 0 };
  readonly #root: string;
  readonly #symlinks = new Set<string>();
  readonly #madeDirs = new Set<string>();
  readonly #dirTimes: [path: string, atime: Date, mtime: Date][] = [];
  /** Paths this layer has written: anything else does not exist yet (the layer starts empty). */
  readonly #written = new Set<string>();
  readonly #uid = process.getuid?.() ?? 0;
  readonly #gid = process.getgid?.() ?? 0;
  #error: Error | null = null;

  constructor(root: string) {
    this.#root = root;
    this.#madeDirs.add('');
    // The layer root stands for the image's `/`; an archive without a './' entry
    // leaves it as a root filesystem's top directory is: 0755.
    chmodSync(root, 0o755);
  }

  /** The first error a file body met while streaming (it surfaces at the next entry or at finish). */
  get error(): Error | null {
    return this.#error;
  }

  /** Checks and normalises an archive path to components under the layer root. */
  #components(entry: string, path: string, what = 'path'): string[] {
    if (path.startsWith('/')) throw unsafeEntry(entry, `its ${what} is absolute`);
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw unsafeEntry(entry, `its ${what} contains '..'`);
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.#symlinks.has(prefix)) throw unsafeEntry(entry, `its ${what} goes through the symlink '${prefix}'`);
    }
    return parts;
  }

  #ensureParent(parts: string[]): void {
    const parent = parts.slice(0, -1).join('/');
    if (this.#madeDirs.has(parent)) return;
    mkdirSync(join(this.#root, parent), { recursive: true, mode: 0o755 });
    for (let i = 1; i <= parts.length - 1; i++) this.#madeDirs.add(parts.slice(0, i).join('/'));
  }

  /**
   * Makes room at `rel` (relative to the layer root): removes whatever is there, unless it
   * is a directory and `keepDir`. Returns true when a directory was kept. Whatever was
   * there, it is no longer one of the layer's symlinks.
   */
  #clear(rel: string, keepDir: boolean): boolean {
    this.#symlinks.delete(rel);
    // An archive names most paths once: a path not written yet cannot exist, and the
    // lstat(2) it would take is a tenth of the cost of a small file.
    if (rel !== '' && !this.#written.has(rel) && !this.#madeDirs.has(rel)) {
      this.#written.add(rel);
      return false;
    }
    const abs = join(this.#root, rel);
    let st: Stats;
    try {
      st = lstatSync(abs);
    } catch {
      return false;
    }
    if (st.isDirectory()) {
      if (keepDir) return true;
      rmSync(abs, { recursive: true, force: true });
    } else {
      unlinkSync(abs);
    }
    return false;
  }

  /** Writes one entry; its body (for files) is consumed from the entry's stream. */
  entry(e: TarEntry, extras: EntryExtras): void {
    const { xattrs } = extras;
    if (this.#error) throw this.#error;
    this.stats.entries++;
    const parts = this.#components(e.path, e.path);
    const rel = parts.join('/');
    const name = parts[parts.length - 1] ?? '';
    const abs = join(this.#root, rel);
    const mode = (e.mode ?? 0o644) & 0o7777;
    const uid = e.uid ?? 0;
    const gid = e.gid ?? 0;
    const mtime = e.mtime ?? new Date(0);
    const atime = e.atime ?? mtime;

    if (name === OPAQUE_MARKER) {
      this.#ensureParent(parts);
      lsetxattr(join(this.#root, parts.slice(0, -1).join('/')), OPAQUE_XATTR, Buffer.from('y'));
      this.stats.whiteouts++;
      e.resume();
      return;
    }
    if (name.startsWith(WHITEOUT_PREFIX)) {
      if (name.startsWith('.wh..wh.')) { e.resume(); return; } // aufs internals: no meaning here
      const hidden = [...parts.slice(0, -1), name.slice(WHITEOUT_PREFIX.length)];
      this.#ensureParent(hidden);
      this.#clear(hidden.join('/'), false);
      mknod(join(this.#root, hidden.join('/')), 'char', 0, 0, 0);
      this.stats.whiteouts++;
      e.resume();
      return;
    }
    if (rel !== '') this.#ensureParent(parts);
    switch (e.type) {
      case 'Directory':
      case 'GNUDumpDir': {
        if (rel !== '' && !this.#clear(rel, true)) mkdirSync(abs, { mode: 0o700 });
        this.#madeDirs.add(rel);
        chownSync(abs, uid, gid);
        chmodSync(abs, mode);
        this.#setXattrs(abs, xattrs);
        this.#dirTimes.push([abs, atime, mtime]);
        e.resume();
        return;
      }
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        this.#clear(rel, false);
        const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
        let open = true;
        const close = (): void => {
          if (open) { open = false; closeSync(fd); }
        };
        e.on('data', (chunk) => {
          if (this.#error) return;
          try {
            for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off);
            this.stats.bytes += chunk.length;
          } catch (err) {
            this.#error = err as Error;
            close();
          }
        });
        e.on('end', () => {
          if (this.#error) { close(); return; }
          try {
            // Owner first: chown(2) clears setuid and setgid bits. The file was created
            // with its mode (the umask is 0 while a layer is written), so chmod is only
            // needed when chown ran.
            if (uid !== this.#uid || gid !== this.#gid) {
              fchownSync(fd, uid, gid);
              fchmodSync(fd, mode);
            }
            futimesSync(fd, atime, mtime);
            this.#setXattrs(abs, xattrs);
          } catch (err) {
            this.#error = err as Error;
          } finally {
            close();
          }
        });
        return;
      }
      case 'Link': {
        const targetParts = this.#components(e.path, e.linkpath ?? '', 'hardlink target');
        if (targetParts.length === 0) throw unsafeEntry(e.path, 'its hardlink target is the layer root');
        this.#clear(rel, false);
        linkSync(join(this.#root, targetParts.join('/')), abs);
        e.resume();
        return;
      }
      case 'SymbolicLink': {
        this.#clear(rel, false);
        // A symlink's contents may point anywhere: it is resolved inside the container's
        // root at run time. What matters is that this writer never follows it.
        symlinkSync(e.linkpath ?? '', abs);
        this.#symlinks.add(rel);
        lchownSync(abs, uid, gid);
        lutimesSync(abs, atime, mtime);
        this.#setXattrs(abs, xattrs);
        e.resume();
        return;
      }
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO': {
        this.#clear(rel, false);
        const kind = e.type === 'CharacterDevice' ? 'char' : e.type === 'BlockDevice' ? 'block' : 'fifo';
        // Device numbers as the archive has them (whether a node may be used is the
        // device cgroup's to decide, not the image's).
        mknod(abs, kind, mode, extras.device?.major ?? e.header.devmaj ?? 0, extras.device?.minor ?? e.header.devmin ?? 0);
        chownSync(abs, uid, gid);
        chmodSync(abs, mode);
        utimesSync(abs, atime, mtime);
        this.#setXattrs(abs, xattrs);
        e.resume();
        return;
      }
      default:
        e.resume(); // pax globals, volume labels, ...: nothing to write
    }
  }

  #setXattrs(abs: string, xattrs: Xattrs | null): void {
    if (!xattrs) return;
    for (const [name, value] of xattrs) {
      // overlayfs's own attributes come from whiteouts, never from an archive.
      if (name.startsWith('trusted.overlay.')) continue;
      lsetxattr(abs, name, value);
    }
  }

  /** Sets directory times last (writing into a directory changes its mtime). */
  finish(): void {
    if (this.#error) throw this.#error;
    for (let i = this.#dirTimes.length - 1; i >= 0; i--) {
      const [abs, atime, mtime] = this.#dirTimes[i] as [string, Date, Date];
      utimesSync(abs, atime, mtime);
    }
  }
}
