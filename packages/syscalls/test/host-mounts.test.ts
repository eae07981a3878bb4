import { describe, expect, it } from 'vitest';
import { hostKernelMounts } from '../src/host-mounts.js';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
  '24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw',
  '25 23 0:40 / /proc/sys/fs/binfmt_misc rw,relatime shared:13 - binfmt_misc binfmt_misc rw',
  '26 22 0:21 /sys /mnt/part\\040of\\040proc rw - proc proc rw',
  '27 22 0:50 / /var/lib/box/rootfs rw - overlay overlay rw',
  '28 27 0:51 / /var/lib/box/rootfs/proc rw - proc proc rw',
  '29 22 0:52 / /var/lib/box/rootfs2/proc rw - proc proc rw',
  '30 22 0:53 / /run/other\\040sys rw - sysfs sysfs rw',
].join('\n');

describe('hostKernelMounts (what a no_pivot container hides before its move)', () => {
  it('lists the whole proc and sysfs mounts outside the root, unescaped, in order', () => {
    expect(hostKernelMounts(MOUNTINFO, '/var/lib/box/rootfs')).toEqual(['/proc', '/sys', '/var/lib/box/rootfs2/proc', '/run/other sys']);
  });

  it('takes a root given with a trailing slash the same way', () => {
    expect(hostKernelMounts(MOUNTINFO, '/var/lib/box/rootfs/')).toEqual(['/proc', '/sys', '/var/lib/box/rootfs2/proc', '/run/other sys']);
  });
});
