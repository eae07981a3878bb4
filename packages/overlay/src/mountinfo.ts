// /proc/self/mountinfo, read: which paths are mount points, and of what.
// https://man7.org/linux/man-pages/man5/proc_pid_mountinfo.5.html
import { readFileSync } from 'node:fs';

export interface MountInfo {
  mountPoint: string;
  root: string;
  fstype: string;
  source: string;
  options: string;
}

/** Mountinfo escapes space, tab, newline and backslash as octal (\040). */
const unescapeOctal = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

export function parseMountinfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    const f = left?.split(' ') ?? [];
    const r = right?.split(' ') ?? [];
    mounts.push({
      root: unescapeOctal(f[3] ?? ''),
      mountPoint: unescapeOctal(f[4] ?? ''),
      fstype: r[0] ?? '',
      source: unescapeOctal(r[1] ?? ''),
      options: r[2] ?? '',
    });
  }
  return mounts;
}

export function readMounts(): MountInfo[] {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** The mount on exactly `path`, the last one stacked there, if any. */
export function mountAt(path: string, mounts: MountInfo[] = readMounts()): MountInfo | undefined {
  return mounts.filter((m) => m.mountPoint === path).pop();
}
