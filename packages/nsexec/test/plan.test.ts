// planFromRecord is pure: a record in, a spawn plan out. No root needed.
import { ANNOTATION, emptyRecord, RecordError } from '@diyc/record';
import { MS } from '@diyc/syscalls';
import { describe, expect, it } from 'vitest';
import { containerDevices, containerMounts, parseMountOptions, planFromRecord, recordFromOptions } from '../src/index.js';

describe('parseMountOptions', () => {
  it('splits flags, propagation and filesystem data', () => {
    expect(parseMountOptions(['nosuid', 'ro', 'rbind', 'rprivate', 'mode=755', 'size=1m'])).toEqual({
      flags: MS.NOSUID | MS.RDONLY | MS.BIND | MS.REC,
      propagation: MS.PRIVATE | MS.REC,
      data: 'mode=755,size=1m',
    });
  });

  it('lets a later option undo an earlier one', () => {
    expect(parseMountOptions(['ro', 'rw']).flags).toBe(0);
  });
});

describe('planFromRecord', () => {
  it('creates namespaces without a path and joins those with one', () => {
    const record = emptyRecord(['sh']);
    record.linux.namespaces = [{ type: 'pid' }, { type: 'network', path: '/run/netns/x' }];
    const plan = planFromRecord(record);
    expect(plan.create).toEqual(['pid']);
    expect(plan.join).toEqual([{ type: 'network', path: '/run/netns/x' }]);
  });

  it('mounts under the root, fills a tmpfs /dev with devices and links, then pivots', () => {
    const record = emptyRecord(['sh']);
    record.linux.namespaces = [{ type: 'mount' }];
    record.root = { path: '/r' };
    record.mounts = containerMounts();
    record.linux.devices = containerDevices();
    const plan = planFromRecord(record);
    expect(plan.root).toBe('/r');
    const targets = (plan.mounts ?? []).map((m) => `${m.op} ${m.target}`);
    expect(targets.slice(0, 6)).toEqual(['mkdir /r/proc', 'mount /r/proc', 'mkdir /r/dev', 'mount /r/dev', 'mknod /r/dev/null', 'mknod /r/dev/zero']);
    expect(targets).toContain('symlink /r/dev/ptmx');
    expect(targets.indexOf('symlink /r/dev/ptmx')).toBeLessThan(targets.indexOf('mount /r/dev/pts'));
  });

  it('remounts a read-only bind mount, as mount(2) needs', () => {
    const record = emptyRecord(['sh']);
    record.linux.namespaces = [{ type: 'mount' }];
    record.mounts = [{ destination: '/mnt', source: '/src', options: ['rbind', 'ro'] }];
    const mounts = planFromRecord(record).mounts ?? [];
    expect(mounts.filter((m) => m.op === 'mount')).toEqual([
      { op: 'mount', target: '/mnt', source: '/src', flags: MS.BIND | MS.REC | MS.RDONLY },
      { op: 'mount', target: '/mnt', flags: MS.REMOUNT | MS.BIND | MS.RDONLY },
    ]);
  });

  it('enters the cgroups the cgroup stage named', () => {
    const record = emptyRecord(['sh']);
    record.annotations[ANNOTATION.cgroupProcs] = '/sys/fs/cgroup/memory/diyc/a/cgroup.procs:/sys/fs/cgroup/pids/diyc/a/cgroup.procs';
    expect(planFromRecord(record).cgroupProcs).toHaveLength(2);
  });

  it('refuses a hostname without a UTS namespace: it would rename the host', () => {
    const record = emptyRecord(['sh']);
    record.hostname = 'x';
    expect(() => planFromRecord(record)).toThrow(RecordError);
  });

  it('refuses mounts without a mount namespace, and an empty command', () => {
    const record = emptyRecord(['sh']);
    record.mounts = [{ destination: '/proc', type: 'proc' }];
    expect(() => planFromRecord(record)).toThrow(/mount namespace/);
    expect(() => planFromRecord(emptyRecord([]))).toThrow(/no command/);
  });
});

describe('recordFromOptions', () => {
  it('always makes a mount namespace with a fresh /proc, as diyC did', () => {
    const record = recordFromOptions(['sh'], { pid: true, uts: 'box', env: [] });
    expect(record.linux.namespaces.map((n) => n.type)).toEqual(['mount', 'pid', 'uts']);
    expect(record.hostname).toBe('box');
    expect(record.mounts.map((m) => m.destination)).toEqual(['/proc']);
  });

  it('joins a namespace named as ip netns names it', () => {
    const record = recordFromOptions(['sh'], { netns: 'blue', env: [] });
    expect(record.linux.namespaces).toContainEqual({ type: 'network', path: '/run/netns/blue' });
  });
});
