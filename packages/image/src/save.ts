// saveImage(): an image of the store as a `docker save` archive, which `docker load`,
// `podman load`, `ctr images import` and unpack read:
//
//   HEX/layer.tar         each layer, tarred anew from its directory (HEX: its digest)
//   CONFIGHEX.json        the image config: its defaults, and the layers' diff_ids
//   manifest.json         [{"Config": ..., "RepoTags": [...], "Layers": [...]}]
//
// A layer is kept unpacked, as overlayfs reads it, so its tar is made again: a 0/0
// character device becomes the whiteout file `.wh.NAME`, a directory marked opaque
// (trusted.overlay.opaque) gets `.wh..wh..opq`, and overlayfs's own attributes stay out.
// Its bytes are not the pulled tar's: the diff_ids, and so the image's ID, are new ones.
// Each layer is written to the store's tmp/ first (its size goes in its header), hashed
// as it is written.
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, writeSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DiycError } from '@diyc/record';
import { lgetxattr, llistxattr } from '@diyc/syscalls';
import { crypto } from './lazy-builtins.js';
import { ImageStore, type Image } from './store.js';
import { TAR_END, tarHeader, tarPadding, type TarEntry } from './tar-writer.js';

/** Where the archive's bytes go, in order. */
export type ArchiveSink = (chunk: Buffer) => Promise<void> | void;

export interface SaveOptions {
  store?: ImageStore;
  /** The names the image gets in the archive (RepoTags): busybox:latest. */
  repoTags?: string[];
}

const OVERLAY_XATTR = 'trusted.overlay.';
const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** major(3) and minor(3) of a device number. */
const major = (dev: number): number => Number((BigInt(dev) >> 8n) & 0xfffn) | Number((BigInt(dev) >> 32n) & ~0xfffn);
const minor = (dev: number): number => Number(BigInt(dev) & 0xffn) | Number((BigInt(dev) >> 12n) & ~0xffn);

/** A file's extended attributes, but overlayfs's own. */
function xattrsOf(path: string): Record<string, Buffer> | undefined {
  const out: Record<string, Buffer> = {};
  let names: string[] = [];
  try {
    names = llistxattr(path);
  } catch {
    /* the filesystem has none */
  }
  for (const name of names) {
    if (name.startsWith(OVERLAY_XATTR)) continue;
    const value = lgetxattr(path, name);
    if (value !== null) out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Writes `dir` (an unpacked layer) as a layer tar through `write`; sorted, so the same layer gives the same bytes. */
export function writeLayerTar(dir: string, write: (chunk: Buffer) => void): void {
  const links = new Map<string, string>();
  const buf = Buffer.alloc(64 * 1024);
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const abs = join(dir, path);
      const st = lstatSync(abs);
      const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000), size: 0 };
      const xattrs = xattrsOf(abs);
      const entry = (e: Omit<TarEntry, 'mode' | 'uid' | 'gid' | 'mtime' | 'size'> & Partial<TarEntry>): void => {
        write(tarHeader({ ...base, ...(xattrs ? { xattrs } : {}), ...e }));
      };
      if (st.isCharacterDevice() && st.rdev === 0) {
        // overlayfs's whiteout: the file is deleted in this layer.
        write(tarHeader({ ...base, path: `${rel === '' ? '' : `${rel}/`}.wh.${name}`, type: 'file', mode: 0o644 }));
      } else if (st.isDirectory()) {
        entry({ path: `${path}/`, type: 'dir' });
        const opaque = lgetxattr(abs, OPAQUE_XATTR);
        if (opaque !== null && opaque.toString() === 'y')
          write(tarHeader({ ...base, path: `${path}/.wh..wh..opq`, type: 'file', mode: 0o644 }));
        walk(path);
      } else if (st.isSymbolicLink()) {
        entry({ path, type: 'symlink', linkname: readlinkSync(abs) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          entry({ path, type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) links.set(key, path);
        const fd = openSync(abs, 'r');
        try {
          const size = fstatSync(fd).size;
          entry({ path, type: 'file', size });
          let left = size;
          while (left > 0) {
            const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
            if (n <= 0) throw new DiycError('system', `${abs} shrank while it was saved`);
            write(Buffer.from(buf.subarray(0, n)));
            left -= n;
          }
          write(tarPadding(size));
        } finally {
          closeSync(fd);
        }
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        entry({ path, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: major(st.rdev), devminor: minor(st.rdev) });
      } else if (st.isFIFO()) {
        entry({ path, type: 'fifo' });
      }
      // A socket has no place in a tar: left out, as GNU tar leaves it.
    }
  };
  walk('');
  write(TAR_END);
}

/** A name as `docker save` writes it in RepoTags: busybox:latest, not docker.io/library/busybox:latest. */
export function familiarName(reference: string): string {
  return reference.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

const goArch: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** One image of an archive, and the names it is saved under (RepoTags: busybox:latest). */
export interface SavedImage {
  image: Image;
  repoTags: string[];
}

/** Writes `image` as a docker save archive through `sink`; returns the archive's new image ID. */
export async function saveImage(image: Image, sink: ArchiveSink, options: SaveOptions = {}): Promise<string> {
  const [id] = await saveImages([{ image, repoTags: options.repoTags ?? [] }], sink, options.store ? { store: options.store } : {});
  return id as string;
}

/**
 * Writes images as one docker save archive (`docker save A B`): a layer two images share
 * is written once, manifest.json lists each image, `repositories` (docker's older index)
 * each name's top layer. Returns the images' new IDs, in order.
 */
export async function saveImages(images: SavedImage[], sink: ArchiveSink, options: { store?: ImageStore } = {}): Promise<string[]> {
  const store = options.store ?? new ImageStore();
  const temp = store.makeTemp();
  const sha256 = (data: Buffer): string => crypto().createHash('sha256').update(data).digest('hex');
  const member = async (path: string, data: Buffer, mtime: number): Promise<void> => {
    await sink(tarHeader({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime }));
    await sink(data);
    await sink(tarPadding(data.length));
  };
  /** Each stored layer written so far: its tar's digest (the archive's diff_id). */
  const written = new Map<string, string>();
  const writeLayer = async (diffId: string): Promise<string> => {
    const done = written.get(diffId);
    if (done !== undefined) return done;
    const file = join(temp, `layer-${written.size}.tar`);
    const fd = openSync(file, 'w');
    const hash = crypto().createHash('sha256');
    try {
      writeLayerTar(store.layerPath(diffId), (chunk) => {
        hash.update(chunk);
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      });
    } finally {
      closeSync(fd);
    }
    const hex = hash.digest('hex');
    // The layer file is copied into the archive a block at a time: it may be large.
    const size = lstatSync(file).size;
    await sink(tarHeader({ path: `${hex}/`, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 }));
    await sink(tarHeader({ path: `${hex}/layer.tar`, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 0 }));
    const read = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(1024 * 1024);
      for (;;) {
        const n = readSync(read, buf, 0, buf.length, null);
        if (n <= 0) break;
        await sink(Buffer.from(buf.subarray(0, n)));
      }
    } finally {
      closeSync(read);
    }
    await sink(tarPadding(size));
    rmSync(file, { force: true });
    written.set(diffId, hex);
    return hex;
  };
  try {
    const manifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    const ids: string[] = [];
    for (const { image, repoTags } of images) {
      const hexes: string[] = [];
      for (const diffId of image.layers) hexes.push(await writeLayer(diffId));
      const config = Buffer.from(
        JSON.stringify({
          architecture: goArch[process.arch] ?? process.arch,
          os: 'linux',
          created: image.created,
          config: image.config,
          rootfs: { type: 'layers', diff_ids: hexes.map((h) => `sha256:${h}`) },
        }),
      );
      const configHex = sha256(config);
      await member(`${configHex}.json`, config, Math.floor(Date.parse(image.created) / 1000) || 0);
      manifest.push({ Config: `${configHex}.json`, RepoTags: repoTags, Layers: hexes.map((h) => `${h}/layer.tar`) });
      const top = hexes[hexes.length - 1];
      for (const tag of repoTags) {
        const colon = tag.lastIndexOf(':');
        if (colon <= tag.lastIndexOf('/') || top === undefined) continue;
        (repositories[tag.slice(0, colon)] ??= {})[tag.slice(colon + 1)] = top;
      }
      ids.push(`sha256:${configHex}`);
    }
    await member('manifest.json', Buffer.from(JSON.stringify(manifest)), 0);
    if (Object.keys(repositories).length > 0) await member('repositories', Buffer.from(JSON.stringify(repositories)), 0);
    await sink(TAR_END);
    return ids;
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
