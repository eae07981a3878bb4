// One-to-one wrappers of system calls, each throwing a SyscallError like node:fs does.
import { closeSync } from 'node:fs';
import { native } from './binding.js';
import { CLONE_NEW, type Namespace } from './constants.js';

/** mount(2). `source`, `fstype`, `data` may be null. https://man7.org/linux/man-pages/man2/mount.2.html */
export function mount(source: string | null, target: string, fstype: string | null, flags = 0, data: string | null = null): void {
  native().mount(source, target, fstype, flags, data);
}

/** umount2(2). https://man7.org/linux/man-pages/man2/umount2.2.html */
export function umount2(target: string, flags = 0): void {
  native().umount2(target, flags);
}

/**
 * setns(2) for the calling thread, by namespace file path. Node is multithreaded, so
 * only network, UTS and IPC namespaces can be joined this way; the others are joined
 * by a spawned child (see spawn's `join`). https://man7.org/linux/man-pages/man2/setns.2.html
 */
export function setns(path: string, type: Namespace): void {
  native().setns(path, CLONE_NEW[type]);
}

/** pivot_root(2). https://man7.org/linux/man-pages/man2/pivot_root.2.html */
export function pivotRoot(newRoot: string, putOld: string): void {
  native().pivotRoot(newRoot, putOld);
}

/** sethostname(2): in the caller's UTS namespace. https://man7.org/linux/man-pages/man2/sethostname.2.html */
export function sethostname(name: string): void {
  native().sethostname(name);
}

/** setdomainname(2). https://man7.org/linux/man-pages/man2/setdomainname.2.html */
export function setdomainname(name: string): void {
  native().setdomainname(name);
}

/** mknod(2) of a character or block device, or a FIFO. https://man7.org/linux/man-pages/man2/mknod.2.html */
export function mknod(path: string, type: 'char' | 'block' | 'fifo', mode: number, major = 0, minor = 0): void {
  const ifmt = { char: 0o020000, block: 0o060000, fifo: 0o010000 }[type];
  native().mknod(path, ifmt | (mode & 0o7777), major, minor);
}

/** lsetxattr(2): set an extended attribute, not following a final symlink. https://man7.org/linux/man-pages/man2/setxattr.2.html */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  native().lsetxattr(path, name, value);
}

/**
 * sendfile(2): copies `length` bytes of `inFd` from `offset` to `outFd`, in the kernel.
 * Returns the bytes copied: fewer only where `inFd` ends. https://man7.org/linux/man-pages/man2/sendfile.2.html
 */
export function sendfile(outFd: number, inFd: number, offset: number, length: number): number {
  return native().sendfile(outFd, inFd, offset, length);
}

/** A uid_t or gid_t, as node:fs takes them: 0 to 2^32 - 1 (all ones means "no change" to chown(2)). */
const isId = (id: number): boolean => Number.isInteger(id) && id >= 0 && id <= 0xffffffff;

/** A new file's owner, when it is to be set (fchown(2)). */
export interface FileOwner {
  uid: number;
  gid: number;
}

/** A time in seconds as node:fs's futimes takes it (toUnixTimestamp): one before 1970 is now. */
const fsTime = (t: number): number => (t < 0 ? Date.now() / 1000 : t);

/**
 * A new file in one call: open(2) with O_CREAT | O_EXCL | O_NOFOLLOW and `mode` (give it
 * with the umask at 0), its body `data[start, end)`, the owner when given (and `mode`
 * again: chown(2) clears setuid and setgid), the times in seconds (futimens(2)), closed.
 * Throws like node:fs, naming the call that failed; the file may then be left, partly
 * written. The times are set as node:fs's futimes sets them (one before 1970 is now, the
 * others to the microsecond), and a path with a NUL byte is refused as node:fs refuses it:
 * a file written with this gets what one written with node:fs would.
 * https://man7.org/linux/man-pages/man2/open.2.html
 */
export function writeNewFile(
  path: string,
  mode: number,
  data: Buffer,
  start: number,
  end: number,
  owner: FileOwner | null,
  atime: number,
  mtime: number,
): void {
  if (path.includes('\0')) throw new TypeError(`${JSON.stringify(path)}: a path with a NUL byte`);
  if (owner) for (const id of [owner.uid, owner.gid]) if (!isId(id)) throw new RangeError(`${path}: owner ${id} is not a user or group ID`);
  native().writeNewFile(path, mode, data, start, end, owner?.uid ?? -1, owner?.gid ?? -1, fsTime(atime), fsTime(mtime));
}

/** A file's SHA-256 being computed: sha256File(). */
export interface FileSha256 {
  /** The digest as 64 hex digits; rejects like node:fs (ENOENT, EIO), or with ECANCELED after cancel(). */
  digest: Promise<string>;
  /** Stops reading the file at its next megabyte: nobody waits for the digest any more. */
  cancel(): void;
}

/**
 * The SHA-256 of a file, read and hashed on libuv's thread pool by Node's own OpenSSL
 * while this thread goes on: a large file's hash costs this thread nothing (digest.cc).
 * https://docs.openssl.org/3.0/man3/EVP_DigestInit/
 */
export function sha256File(path: string): FileSha256 {
  if (path.includes('\0')) throw new TypeError(`${JSON.stringify(path)}: a path with a NUL byte`);
  // Shared memory: the thread reads the flag while this one may set it.
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const digest = native().sha256File(path, stop);
  return { digest, cancel: () => void Atomics.store(stop, 0, 1) };
}

/**
 * Sends `sig` to `pid` only if it is still the process `isIt` recognises (its start time,
 * say): pidfd_open(2) holds the process, `isIt` looks at it, and pidfd_send_signal(2)
 * signals that very process. With kill(2) after a check, a process that ended between the two
 * could have its pid taken by another, which got the signal. False when the process is
 * gone or is not the one. Before Linux 5.3 (no pidfd), kill(2) after the check.
 * https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html
 */
export function signalIf(pid: number, sig: number, isIt: () => boolean): boolean {
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`${pid} is not a process ID`);
  let fd: number;
  try {
    fd = native().pidfdOpen(pid);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return false;
    if (code !== 'ENOSYS') throw err;
    if (!isIt()) return false;
    return killed(() => process.kill(pid, sig));
  }
  try {
    return isIt() && killed(() => native().pidfdSendSignal(fd, sig));
  } finally {
    closeSync(fd);
  }
}

/** Runs a signal's call: false when the process is gone (ESRCH), true when it was sent. */
function killed(send: () => unknown): boolean {
  try {
    send();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** lgetxattr(2): the value, or null when the attribute is not set. https://man7.org/linux/man-pages/man2/getxattr.2.html */
export function lgetxattr(path: string, name: string): Buffer | null {
  return native().lgetxattr(path, name);
}

/** llistxattr(2): the names of a file's extended attributes. https://man7.org/linux/man-pages/man2/listxattr.2.html */
export function llistxattr(path: string): string[] {
  return native().llistxattr(path);
}

/** statfs(2) f_type: which filesystem `path` is on (OVERLAYFS_SUPER_MAGIC, ...). https://man7.org/linux/man-pages/man2/statfs.2.html */
export function statfsType(path: string): number {
  return native().statfsType(path);
}

/**
 * A network interface of this process's network namespace set up or down (IFF_UP), as
 * `ip link set dev NAME up|down` does, with two ioctl(2)s and no process of ip(8)'s
 * (~5 ms). https://man7.org/linux/man-pages/man7/netdevice.7.html
 */
export function setLinkUp(name: string, up: boolean): void {
  native().setLinkUp(name, up);
}

/**
 * tcsetpgrp(3) with SIGTTOU blocked, so that a process in the background can take
 * the terminal back once its foreground child is gone. https://man7.org/linux/man-pages/man3/tcsetpgrp.3.html
 */
export function tcsetpgrp(fd: number, pgrp: number): void {
  native().tcsetpgrp(fd, pgrp);
}

/** getpgrp(2): the caller's process group. */
export function getpgrp(): number {
  return native().getpgrp();
}

/**
 * Opens `path` inside the directory `rootFd` as if it were `/`: no symlink, absolute or
 * relative, and no `..` leaves it, and /proc's magic links are refused. openat2(2) with
 * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS (Linux 5.6), or on older kernels a walk that
 * resolves one component at a time the same way. Returns a close-on-exec fd.
 * https://man7.org/linux/man-pages/man2/openat2.2.html
 */
export function resolveInRoot(rootFd: number, path: string, flags: number, mode = 0): number {
  return native().resolveInRoot(rootFd, path, flags, mode);
}

/**
 * The directory `path` inside the root `rootFd` (resolved as resolveInRoot does), made
 * with its missing parents when absent. Returns an O_PATH, close-on-exec fd.
 */
export function mkdirInRoot(rootFd: number, path: string, mode = 0o755): number {
  return native().mkdirInRoot(rootFd, path, mode);
}

/** mkdirat(2); an existing directory is not an error. https://man7.org/linux/man-pages/man2/mkdirat.2.html */
export function mkdirat(dirFd: number, name: string, mode = 0o755): void {
  native().mkdirat(dirFd, name, mode);
}

/** unlinkat(2) (flags: AT_REMOVEDIR = 0x200). https://man7.org/linux/man-pages/man2/unlinkat.2.html */
export function unlinkat(dirFd: number, name: string, flags = 0): void {
  native().unlinkat(dirFd, name, flags);
}

/** openat(2), close-on-exec. https://man7.org/linux/man-pages/man2/openat.2.html */
export function openat(dirFd: number, name: string, flags: number, mode = 0o644): number {
  return native().openat(dirFd, name, flags, mode);
}

/**
 * Attaches a BPF_PROG_TYPE_CGROUP_DEVICE program (bpf(2)) to a cgroup v2 directory,
 * replacing the ones attached there before: the cgroup v2 way of limiting which device
 * nodes its processes may open or make. https://docs.kernel.org/admin-guide/cgroup-v2.html#device-controller
 */
export function attachDeviceFilter(cgroupDir: string, instructions: Buffer): void {
  native().attachDeviceFilter(cgroupDir, instructions);
}

/** A connected pair of unix stream sockets, close-on-exec (socketpair(2)). */
export function socketpair(): [number, number] {
  return native().socketpair();
}

/** The descriptor the peer sent on `socket` with SCM_RIGHTS (recvmsg(2)); null if it sent none. */
export function recvFd(socket: number): number | null {
  return native().recvFd(socket);
}

/** Sets a terminal's window size (TIOCSWINSZ, ioctl_tty(2)): its foreground group gets SIGWINCH. */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  native().setWindowSize(fd, rows, cols);
}

/** A terminal's window size (TIOCGWINSZ), or null when `fd` is not a terminal. */
export function getWindowSize(fd: number): { rows: number; cols: number } | null {
  const size = native().getWindowSize(fd);
  return size ? { rows: size[0], cols: size[1] } : null;
}

/** A pipe, both ends close-on-exec (pipe2(2)): [read end, write end]. */
export function pipe(): [number, number] {
  return native().pipe();
}
