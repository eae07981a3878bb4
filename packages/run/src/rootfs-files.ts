// Reading and writing files inside a container's root filesystem from the host. The
// rootfs is the image's and the container's own to shape: /etc may be a symlink to
// /tmp/x, to ../../../.., or to the host's /etc. Every path is resolved inside the root
// (openat2 RESOLVE_IN_ROOT, see @diyc/syscalls), and a file that is a symlink is
// replaced, never followed: nothing written here can land outside the rootfs.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { posix } from 'node:path';
import { isSyscallError, mkdirInRoot, O, openat, resolveInRoot, unlinkat } from '@diyc/syscalls';

function withRoot<T>(rootfs: string, fn: (rootFd: number) => T): T {
  const rootFd = openSync(rootfs, O.PATH | O.DIRECTORY);
  try {
    return fn(rootFd);
  } finally {
    closeSync(rootFd);
  }
}

/** The file at `path` inside the rootfs, or undefined when it does not exist. */
export function readInRoot(rootfs: string, path: string): string | undefined {
  return withRoot(rootfs, (rootFd) => {
    let fd: number;
    try {
      fd = resolveInRoot(rootFd, path, O.RDONLY);
    } catch (err) {
      if (isSyscallError(err, 'ENOENT') || isSyscallError(err, 'ENOTDIR')) return undefined;
      throw err;
    }
    try {
      return readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  });
}

/** Writes `content` to `path` inside the rootfs; its directory is made if missing. */
export function writeInRoot(rootfs: string, path: string, content: string, mode = 0o644): void {
  withRoot(rootfs, (rootFd) => {
    const dirFd = mkdirInRoot(rootFd, posix.dirname(path));
    const name = posix.basename(path);
    const flags = O.WRONLY | O.CREAT | O.TRUNC | O.NOFOLLOW;
    try {
      let fd: number;
      try {
        fd = openat(dirFd, name, flags, mode);
      } catch (err) {
        // A symlink where the file should be: replaced by the file, not followed.
        if (!isSyscallError(err, 'ELOOP')) throw err;
        unlinkat(dirFd, name);
        fd = openat(dirFd, name, flags, mode);
      }
      try {
        const data = Buffer.from(content);
        for (let off = 0; off < data.length;) off += writeSync(fd, data, off);
      } finally {
        closeSync(fd);
      }
    } finally {
      closeSync(dirFd);
    }
  });
}
