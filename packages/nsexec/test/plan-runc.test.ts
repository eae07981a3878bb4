// What the plan does as runc does it: read-only tmpfs mounts made writable until the end,
// recursive mount attributes, proc and sysfs only on real directories, bind sources in a
// user namespace opened by the runtime, startContainer hooks and the seccomp agent.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyRecord, type ContainerRecord } from '@diyc/record';
import { MOUNT_ATTR, MS } from '@diyc/syscalls';
import { describe, expect, it } from 'vitest';
import { containerDevices, containerMounts, planFromRecord, seccompPlan } from '../src/index.js';
import { recursiveAttributes } from '../src/plan-fs.js';

function record(root = '/r'): ContainerRecord {
  const r = emptyRecord(['sh']);
  r.linux.namespaces = [{ type: 'mount' }];
  r.root = { path: root };
  r.mounts = containerMounts();
  r.linux.devices = containerDevices();
  return r;
}

describe('read-only tmpfs mounts (runc: mounted read-write, filled, made read-only at the end)', () => {
  it('fills a read-only /dev before it is made read-only, after every other step but the root', () => {
    const r = record();
    r.root = { path: '/r', readonly: true };
    r.mounts = r.mounts.map((m) => (m.destination === '/dev' ? { ...m, options: [...(m.options ?? []), 'ro'] } : m));
    r.linux.maskedPaths = ['/proc/kcore'];
    const steps = planFromRecord(r).mounts ?? [];
    const dev = steps.find((s) => s.op === 'mount' && s.target === '/dev' && s.fstype === 'tmpfs');
    expect(dev?.op === 'mount' && (dev.flags ?? 0) & MS.RDONLY).toBe(0);
    const remount = steps.findIndex((s) => s.op === 'mount' && s.target === '/dev' && ((s.flags ?? 0) & MS.REMOUNT) !== 0);
    expect(steps[remount]).toEqual({ op: 'mount', target: '/dev', flags: MS.REMOUNT | MS.BIND | MS.RDONLY, keepFlags: true });
    // After the devices, the links, /dev/pts and the masks; before the read-only root.
    const last = (pred: (s: (typeof steps)[number]) => boolean) => steps.map(pred).lastIndexOf(true);
    expect(remount).toBeGreaterThan(last((s) => s.op === 'mknod'));
    expect(remount).toBeGreaterThan(last((s) => s.target === '/dev/pts'));
    expect(remount).toBeGreaterThan(last((s) => s.op === 'mask'));
    expect(steps[remount + 1]).toEqual({ op: 'mount', target: '/', flags: MS.REMOUNT | MS.BIND | MS.RDONLY, keepFlags: true });
    // The file a pty is bound on (/dev/console, after pivot_root) exists before /dev is read-only.
    expect(steps.findIndex((s) => s.op === 'mkfile' && s.target === '/dev/console')).toBeLessThan(remount);
  });

  it('does the same for any tmpfs, and leaves a writable /dev as it was', () => {
    const r = record();
    r.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'nosuid'] });
    const steps = planFromRecord(r).mounts ?? [];
    expect(steps.find((s) => s.target === '/data' && s.op === 'mount')).toEqual({
      op: 'mount',
      target: '/data',
      source: 'tmpfs',
      fstype: 'tmpfs',
      flags: MS.NOSUID,
    });
    expect(steps.at(-1)).toEqual({ op: 'mount', target: '/data', flags: MS.REMOUNT | MS.BIND | MS.RDONLY, keepFlags: true });
    expect(steps.some((s) => s.target === '/dev/console')).toBe(false);
    // sysfs is not a tmpfs: read-only from the start.
    expect(steps.find((s) => s.target === '/sys' && s.op === 'mount')).toMatchObject({
      flags: MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC,
    });
  });
});

describe('recursive mount attributes (rro, rnosuid, ...)', () => {
  it('are mount_setattr(2) masks, an access-time one clearing the field as the man page asks', () => {
    expect(recursiveAttributes(['rbind', 'rro', 'rnosuid', 'size=1m'])).toEqual({
      set: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID,
      clear: 0,
      rest: ['rbind', 'size=1m'],
    });
    expect(recursiveAttributes(['rnoatime'])).toEqual({ set: MOUNT_ATTR.NOATIME, clear: MOUNT_ATTR._ATIME, rest: [] });
    expect(recursiveAttributes(['rrelatime'])).toEqual({ set: 0, clear: MOUNT_ATTR._ATIME, rest: [] });
    expect(recursiveAttributes(['rrw', 'rexec', 'rsymfollow'])).toEqual({
      set: 0,
      clear: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOEXEC | MOUNT_ATTR.NOSYMFOLLOW,
      rest: [],
    });
  });

  it("are set on the mount and all under it once it is made, after a bind's remount", () => {
    const r = record();
    r.mounts.push({ destination: '/mnt', source: '/srv', options: ['rbind', 'ro', 'rro'] });
    const steps = (planFromRecord(r).mounts ?? []).filter((s) => s.target === '/mnt');
    expect(steps).toEqual([
      { op: 'mkdir', target: '/mnt', mode: 0o755 },
      { op: 'mount', target: '/mnt', source: '/srv', flags: MS.BIND | MS.REC | MS.RDONLY },
      { op: 'mount', target: '/mnt', flags: MS.REMOUNT | MS.BIND | MS.RDONLY, keepFlags: true },
      { op: 'setattr', target: '/mnt', set: MOUNT_ATTR.RDONLY, clear: 0 },
    ]);
  });
});

describe('proc and sysfs are mounted on real directories only', () => {
  it("refuses a root whose /proc or /sys is a symlink, in runc's words, and takes a missing one", () => {
    const root = mkdtempSync(join(tmpdir(), 'diyc-plan-'));
    try {
      mkdirSync(join(root, 'sys'));
      symlinkSync('/symlink', join(root, 'proc'));
      expect(() => planFromRecord(record(root))).toThrow('filesystem "proc" must be mounted on ordinary directory');
      rmSync(join(root, 'proc'));
      rmSync(join(root, 'sys'), { recursive: true });
      symlinkSync('/symlink', join(root, 'sys'));
      expect(() => planFromRecord(record(root))).toThrow('filesystem "sysfs" must be mounted on ordinary directory');
      rmSync(join(root, 'sys'));
      expect(() => planFromRecord(record(root))).not.toThrow();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('bind mounts in a new user namespace', () => {
  it("have their source opened by the runtime (runc's mount sources); the rest is unchanged", () => {
    const r = record();
    r.mounts.push({ destination: '/data', source: 'data', options: ['bind'] });
    const without = (planFromRecord(r, { base: '/bundle' }).mounts ?? []).find((s) => s.target === '/data' && s.op === 'mount');
    expect(without).toEqual({ op: 'mount', target: '/data', source: '/bundle/data', flags: MS.BIND });
    r.linux.namespaces.push({ type: 'user' }, { type: 'network' });
    r.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    r.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const steps = planFromRecord(r, { base: '/bundle' }).mounts ?? [];
    expect(steps.find((s) => s.target === '/data' && s.op === 'mount')).toEqual({
      op: 'mount',
      target: '/data',
      source: '/bundle/data',
      flags: MS.BIND,
      sourceByParent: true,
    });
    // Read-only paths bind a path of the root itself: nothing to open for them.
    expect(steps.filter((s) => s.op === 'mount' && s.sourceByParent).map((s) => s.target)).toEqual(['/data']);
  });
});

describe('startContainer hooks and the seccomp agent', () => {
  it('gives the startContainer hooks to the process that waits on the start FIFO', () => {
    const r = record();
    r.hooks = {
      startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'true'], env: ['A=1'], timeout: 5 }, { path: '/bin/true' }],
      prestart: [{ path: '/x' }],
    };
    expect(planFromRecord(r, { startFifo: '/run/x/exec.fifo' }).startHooks).toEqual([
      { path: '/bin/sh', args: ['sh', '-c', 'true'], env: ['A=1'], timeout: 5 },
      { path: '/bin/true' },
    ]);
    // No FIFO, no start: nothing runs them (diyc-run's nsexec).
    expect(planFromRecord(r).startHooks).toBeUndefined();
  });

  it('names the agent of a profile with SCMP_ACT_NOTIFY rules, and none without them', () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: '/run/agent.sock',
      listenerMetadata: 'bar',
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
    };
    expect(seccompPlan(profile)).toMatchObject({ flags: 8, listener: { path: '/run/agent.sock', metadata: 'bar' } });
    const quiet = seccompPlan({ ...profile, syscalls: [] });
    expect(quiet?.listener).toBeUndefined();
    expect(quiet?.flags).toBe(0);
    expect(() => seccompPlan({ ...profile, syscalls: [{ names: ['write'], action: 'SCMP_ACT_NOTIFY' }] })).toThrow(
      'SCMP_ACT_NOTIFY cannot be used for the write syscall',
    );
  });
});
