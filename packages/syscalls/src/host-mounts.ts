// The host's mounts a container moved into with MS_MOVE and chroot(2) (no_pivot) must not
// keep in reach: every full proc and sysfs mount outside its root. The kernel lets a user
// namespace mount a fresh proc or sysfs only where one is fully visible already
// (mount_too_revealing), and after a chroot the host's still are, in the mount namespace
// the container kept; child.cc detaches them before the move, as runc's msMoveRoot does.
// https://man7.org/linux/man-pages/man5/proc_pid_mountinfo.5.html

/** mountinfo's octal escapes (\040 is a space) turned back into characters. */
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * The mount points of `mountinfo` (the text of /proc/self/mountinfo) that are a whole
 * proc or sysfs (their root is "/": a bind of part of one reveals nothing new) and lie
 * outside `root`, in mountinfo's order (parents before what is mounted under them).
 */
export function hostKernelMounts(mountinfo: string, root: string): string[] {
  const rootDir = root.endsWith('/') ? root.slice(0, -1) : root;
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6) continue;
    const mountRoot = unescapeOctal(fields[3] ?? '');
    const point = unescapeOctal(fields[4] ?? '');
    const fstype = fields[dash + 1];
    if (mountRoot !== '/' || (fstype !== 'proc' && fstype !== 'sysfs')) continue;
    if (rootDir !== '' && (point === rootDir || point.startsWith(`${rootDir}/`))) continue;
    out.push(point);
  }
  return out;
}
