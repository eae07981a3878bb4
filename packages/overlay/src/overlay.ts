// A container's root filesystem: overlayfs with the image's layers as lowerdirs (top
// first) and the container's own upper layer, mounted on containers/NAME/merged.
// https://docs.kernel.org/filesystems/overlayfs.html
import { closeSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { ImageStore, type Image } from '@diyc/image';
import { checkName, containerDir, DiycError, privateDir, stateRoot } from '@diyc/record';
import { MNT, isSyscallError, mount, statfsType, umount2 } from '@diyc/syscalls';
import { mountAt } from './mountinfo.js';
import { removeTree } from './remove-tree.js';

/** mount(2) options must fit one page, NUL included. */
export const PAGE_SIZE = 4096;

const OVERLAYFS_SUPER_MAGIC = 0x794c7630;
const FS_NAMES: Record<number, string> = {
  [OVERLAYFS_SUPER_MAGIC]: 'overlayfs',
  26985: 'nfs',
  1702057286: 'fuse',
  4283649346: 'cifs',
  16914836: 'tmpfs',
  61267: 'ext4',
  1481003842: 'xfs',
  2435016766: 'btrfs',
};

export interface RootfsPaths {
  dir: string;
  upper: string;
  work: string;
  merged: string;
}

export function rootfsPaths(name: string, root = stateRoot()): RootfsPaths {
  const dir = containerDir(checkName(name, 'container name'), root);
  return { dir, upper: join(dir, 'upper'), work: join(dir, 'work'), merged: join(dir, 'merged') };
}

export function isMounted(name: string, root = stateRoot()): boolean {
  const { merged } = rootfsPaths(name, root);
  // No mount point, no mount: a new container's first run reads no mountinfo.
  return existsSync(merged) && mountAt(merged)?.fstype === 'overlay';
}

/**
 * The overlay mount options. Lower layers are given by their short links in the layer
 * store (l/0123456789ab) under `layers`, the store's directory as a descriptor this
 * process holds (/proc/self/fd/N): 40 layers take 1.3 KB, not 4, and no process-wide
 * chdir(2) is needed to make them short (Node's threads share the working directory).
 */
export function overlayOptions(store: ImageStore, image: Image, paths: RootfsPaths, layers = store.layersDir): string {
  const lower = [...image.layers]
    .reverse()
    .map((l) => `${layers}/${store.layerShortPath(l)}`)
    .join(':');
  return `lowerdir=${lower},upperdir=${paths.upper},workdir=${paths.work}`;
}

export interface MountResult extends RootfsPaths {
  /** False when it was mounted already (mounting twice is a no-op). */
  mounted: boolean;
}

/**
 * What a volatile mount leaves in its work directory, which overlayfs then refuses to mount
 * again: the upper layer may have lost writes in a crash (filesystems/overlayfs "Volatile mount").
 */
export const volatileMarker = (paths: RootfsPaths): string => join(paths.work, 'work', 'incompat', 'volatile');

export interface MountOptions {
  root?: string;
  /**
   * For a container whose layer goes when it ends (--rm): overlayfs's `volatile` skips
   * every sync of the upper layer, above all the one at umount(2), which writes back the
   * whole filesystem under it (the host's disk, with everyone's dirty pages): 1 to 50 ms
   * on a busy machine, for a layer that is deleted next.
   */
  volatile?: boolean;
}

/** Mounts NAME's root filesystem over IMAGE. Idempotent. */
export function mountRootfs(name: string, imageName: string, options: MountOptions = {}): MountResult {
  const root = options.root ?? stateRoot();
  const store = new ImageStore(root);
  const image = store.requireImage(imageName);
  for (const layer of image.layers) {
    if (!store.hasLayer(layer)) throw new DiycError('not-found', `image '${imageName}' is missing its layer ${layer}: unpack it again`);
  }
  const paths = rootfsPaths(name, root);
  if (isMounted(name, root)) return { ...paths, mounted: false };
  // The layers and containers directories are root's alone: an image's device node or
  // setuid-root program, or one a container writes in its upper layer, must not be
  // reachable by the host's users (this also narrows those of an older install).
  privateDir(store.layersDir);
  privateDir(join(paths.dir, '..'));
  // A volatile mount's layer whose container was not removed (its diyc-run was killed)
  // cannot be mounted again, and was to go: it goes now.
  if (existsSync(volatileMarker(paths))) for (const dir of [paths.upper, paths.work]) removeTree(dir);
  for (const dir of [paths.upper, paths.work, paths.merged]) mkdirSync(dir, { recursive: true, mode: 0o755 });
  const fstype = statfsType(paths.upper);
  if (fstype === OVERLAYFS_SUPER_MAGIC) {
    throw new DiycError(
      'unsupported',
      `${paths.upper} is itself on overlayfs, which cannot be an upper layer: set DIYC_ROOT to a directory on ext4, xfs, btrfs or tmpfs`,
    );
  }
  const layers = openSync(store.layersDir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const data = overlayOptions(store, image, paths, `/proc/self/fd/${layers}`);
    if (data.length + 1 > PAGE_SIZE) {
      throw new DiycError(
        'unsupported',
        `image '${imageName}' has ${image.layers.length} layers: their mount options take ${data.length + 1} bytes, more than one page (${PAGE_SIZE}); use a shorter DIYC_ROOT`,
      );
    }
    try {
      mount('overlay', paths.merged, 'overlay', 0, options.volatile ? `${data},volatile` : data);
    } catch (err) {
      // Linux before 5.10 has no volatile: the layer is synced as any other.
      if (!options.volatile || !isSyscallError(err, 'EINVAL')) throw err;
      mount('overlay', paths.merged, 'overlay', 0, data);
    }
  } catch (err) {
    // ENODEV: no filesystem of that type, once the kernel has tried to load its module
    // (a module not loaded yet is no error: mount(2) loads it).
    if (isSyscallError(err, 'ENODEV'))
      throw new DiycError('missing', 'this kernel has no overlayfs: load it with `modprobe overlay` (or enable CONFIG_OVERLAY_FS)');
    if (isSyscallError(err, 'EINVAL')) {
      const fs = FS_NAMES[fstype] ?? `filesystem 0x${fstype.toString(16)}`;
      throw new DiycError(
        'system',
        `overlayfs refused to mount on ${paths.merged} (upper layer on ${fs}): see \`dmesg | grep overlay\` for the kernel's reason`,
        { cause: err },
      );
    }
    throw err;
  } finally {
    closeSync(layers);
  }
  return { ...paths, mounted: true };
}

/** Unmounts NAME's root filesystem, keeping its upper layer. Idempotent. */
export function umountRootfs(name: string, options: { root?: string } = {}): boolean {
  const paths = rootfsPaths(name, options.root);
  let unmounted = false;
  // Stacked mounts (should there be any) come off one by one, until umount(2) says
  // nothing is mounted there (EINVAL), or there is no such directory: no read of
  // /proc/self/mountinfo per step, which a host with many mounts makes long.
  for (;;) {
    try {
      umount2(paths.merged);
    } catch (err) {
      if (isSyscallError(err, 'EINVAL') || isSyscallError(err, 'ENOENT')) return unmounted;
      if (!isSyscallError(err, 'EBUSY')) throw err;
      // Still in use by a process that outlived the container: detach it now, the
      // kernel frees it when the last user goes.
      umount2(paths.merged, MNT.DETACH);
    }
    unmounted = true;
  }
}

/** Unmounts and removes NAME's layer and work directories. Idempotent. */
export function removeRootfs(name: string, options: { root?: string } = {}): void {
  const paths = rootfsPaths(name, options.root);
  umountRootfs(name, options);
  // The upper layer's depth is the container's to choose: removeTree copes with any.
  for (const dir of [paths.merged, paths.work, paths.upper]) removeTree(dir);
}
