// Reading and writing files inside a container's root filesystem from the host. The
// rootfs is the image's and the container's own to shape: /etc may be a symlink to
// /tmp/x, to ../../../.., or to the host's /etc. Every path is resolved inside the root
// (openat2 RESOLVE_IN_ROOT, see @diyc/syscalls); what stands at a name diyc writes is
// replaced, never opened, and only a regular file is read: nothing written here can land
// outside the rootfs, and nothing read can be a FIFO or a device.
import { closeSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { posix } from 'node:path';
import { DiycError } from '@diyc/record';
import { isSyscallError, mkdirInRoot, O, openat, resolveInRoot, unlinkat } from '@diyc/syscalls';

function withRoot<T>(rootfs: string, fn: (rootFd: number) => T): T {
  const rootFd = openSync(rootfs, O.PATH | O.DIRECTORY);
  try {
    return fn(rootFd);
  } finally {
    closeSync(rootFd);
  }
}

/** The most diyc reads of a file the container could have written (/etc/passwd). */
const READ_LIMIT = 4 * 1024 * 1024;

/**
 * The file at `path` inside the rootfs, or undefined when it does not exist. Only a
 * regular file of at most 4 MiB is read: the container may have made it a FIFO (the read
 * would never end), a device node (the host's disk, which this host-side process could
 * open where the container cannot), or a huge file.
 */
export function readInRoot(rootfs: string, path: string): string | undefined {
  return withRoot(rootfs, (rootFd) => {
    let fd: number;
    try {
      // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
      fd = resolveInRoot(rootFd, path, O.RDONLY | O.NONBLOCK);
    } catch (err) {
      if (isSyscallError(err, 'ENOENT') || isSyscallError(err, 'ENOTDIR')) return undefined;
      throw err;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new DiycError('invalid', `${path} in the container is not a regular file: not read`);
      if (st.size > READ_LIMIT)
        throw new DiycError('invalid', `${path} in the container is ${st.size} bytes, more than diyc reads (${READ_LIMIT})`);
      return readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  });
}

/**
 * Writes `content` to `path` inside the rootfs, as a new regular file; its directory is
 * made if missing. Whatever the container left at that name is unlinked first, never
 * opened: a symlink would lead out, a FIFO would block the write, a device node (the
 * container may mknod one: `b 8 0`, the host's disk) would take the bytes from this
 * host-side process, which the container's device cgroup does not hold, and a hard link
 * would carry them to another file.
 */
export function writeInRoot(rootfs: string, path: string, content: string, mode = 0o644): void {
  withRoot(rootfs, (rootFd) => {
    const dirFd = mkdirInRoot(rootFd, posix.dirname(path));
    const name = posix.basename(path);
    try {
      try {
        unlinkat(dirFd, name);
      } catch (err) {
        if (!isSyscallError(err, 'ENOENT')) throw err;
      }
      const fd = openat(dirFd, name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, mode);
      try {
        const data = Buffer.from(content);
        for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
      } finally {
        closeSync(fd);
      }
    } finally {
      closeSync(dirFd);
    }
  });
}
