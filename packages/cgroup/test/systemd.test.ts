// The systemd driver's pure half (names, slices, properties), and its manager against a
// recording bus and a cgroupfs-shaped directory; the real thing runs in the VM
// (tools/vm/systemd-driver.sh).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyRecord } from '@diyc/record';
import {
  cgroupDriver,
  defaultCgroupsPath,
  expandSlice,
  isSystemdPath,
  managerForPath,
  parseSystemdPath,
  placeProcess,
  resourceProperties,
  resourcesFromFlags,
  SystemdCgroup,
  unitCgroup,
  unitName,
  unitProperties,
  type Property,
  type SystemdBus,
} from '../src/index.js';

describe('systemd names', () => {
  it('reads cgroupsPath as slice:prefix:name, as runc does', () => {
    expect(parseSystemdPath('kubepods-besteffort.slice:cri-containerd:abc123', 'x')).toEqual({
      slice: 'kubepods-besteffort.slice',
      prefix: 'cri-containerd',
      name: 'abc123',
    });
    expect(parseSystemdPath('/system.slice:libpod:c1', 'x')).toEqual({ slice: 'system.slice', prefix: 'libpod', name: 'c1' });
    expect(parseSystemdPath(':runc:box', 'x').slice).toBe('system.slice');
    expect(parseSystemdPath(undefined, 'box')).toEqual({ slice: 'system.slice', prefix: 'diyc', name: 'box' });
    expect(() => parseSystemdPath('/sys/fs/cgroup/box', 'x')).toThrow('expected cgroupsPath to be of format "slice:prefix:name"');
    expect(() => parseSystemdPath('bad:p:n', 'x')).toThrow('invalid slice name: bad');
    expect(() => parseSystemdPath('system.slice:p:a b', 'x')).toThrow('a unit name holds');
    expect(isSystemdPath('/diyc/box')).toBe(false);
    expect(isSystemdPath('system.slice:diyc:box')).toBe(true);
  });

  it('names the unit and finds its cgroup: each dash of a slice is a level', () => {
    expect(expandSlice('system.slice')).toBe('/system.slice');
    expect(expandSlice('kubepods-besteffort-pod1.slice')).toBe('/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice');
    expect(expandSlice('-.slice')).toBe('/');
    expect(() => expandSlice('a--b.slice')).toThrow('invalid slice name');
    const path = parseSystemdPath('kubepods-burstable.slice:cri-containerd:abc', 'x');
    expect(unitName(path)).toBe('cri-containerd-abc.scope');
    expect(unitCgroup(path)).toBe('/kubepods.slice/kubepods-burstable.slice/cri-containerd-abc.scope');
    expect(unitName({ slice: 'system.slice', prefix: '', name: 'box' })).toBe('box.scope');
    expect(unitCgroup(parseSystemdPath('system.slice:x:pod-a.slice', 'x'))).toBe('/pod.slice/pod-a.slice');
  });

  it('gives a scope the properties runc gives it, and the limits as systemd keeps them', () => {
    const props = unitProperties(
      parseSystemdPath('system.slice:diyc:box', 'x'),
      resourcesFromFlags({ memory: '10M', pids: '20', cpus: '0.5' }),
      { pid: 4242 },
    );
    expect(Object.fromEntries(props)).toEqual({
      Description: ['s', 'diyc container box'],
      Slice: ['s', 'system.slice'],
      Delegate: ['b', true],
      PIDs: ['au', [4242]],
      MemoryAccounting: ['b', true],
      CPUAccounting: ['b', true],
      IOAccounting: ['b', true],
      TasksAccounting: ['b', true],
      DefaultDependencies: ['b', false],
      MemoryMax: ['t', 10 * 1024 * 1024],
      CPUQuotaPeriodUSec: ['t', 100_000],
      CPUQuotaPerSecUSec: ['t', 500_000],
      TasksMax: ['t', 20],
    });
    // No swap (swap == limit) has no property: memory.swap.max is written into the scope.
    expect(props.map(([n]) => n)).not.toContain('MemorySwapMax');
  });

  it('rounds a CPU quota up to whole percents, and reads -1 as no limit', () => {
    const one = (r: Parameters<typeof resourceProperties>[0]) => Object.fromEntries(resourceProperties(r));
    expect(one({ cpu: { quota: 12_345, period: 100_000 } }).CPUQuotaPerSecUSec).toEqual(['t', 130_000]);
    expect(one({ cpu: { quota: -1 } }).CPUQuotaPerSecUSec).toEqual(['t', '18446744073709551615']);
    expect(one({ pids: { limit: -1 } }).TasksMax).toEqual(['t', '18446744073709551615']);
    expect(one({ memory: { limit: 1024, swap: 3072 } }).MemorySwapMax).toEqual(['t', 2048]);
    expect(one({ cpu: { shares: 1024 } }).CPUWeight).toEqual(['t', 39]);
  });
});

describe('the driver', () => {
  it('is asked for, never guessed from a path; under systemd a cgroupfs path is refused, as runc does', () => {
    expect(cgroupDriver({})).toBe('cgroupfs');
    expect(cgroupDriver({ DIYC_CGROUP_DRIVER: 'systemd' })).toBe('systemd');
    expect(() => managerForPath('/diyc-oci/box', { driver: 'systemd' })).toThrow(
      'expected cgroupsPath to be of format "slice:prefix:name"',
    );
    expect(defaultCgroupsPath(undefined, 'box', 'systemd')).toBe('system.slice:diyc:box');
    expect(defaultCgroupsPath(undefined, 'box', 'cgroupfs')).toBe('/diyc-oci/box');
    expect(defaultCgroupsPath('a//b', 'box', 'cgroupfs')).toBe('/a/b');
    expect(defaultCgroupsPath('system.slice:crio:x', 'box', 'systemd')).toBe('system.slice:crio:x');
  });
});

describe('SystemdCgroup with a recording bus', () => {
  let root: string;
  const calls: string[] = [];
  let started: Property[] = [];
  const bus: SystemdBus = {
    startUnit(name, props) {
      calls.push(`start ${name}`);
      started = props;
      // What systemd does: the scope's cgroup, delegated, with the process in it.
      mkdirSync(join(root, 'system.slice', name), { recursive: true });
      writeFileSync(join(root, 'system.slice', name, 'cgroup.controllers'), 'memory pids\n');
      writeFileSync(join(root, 'system.slice', name, 'memory.swap.max'), 'max');
      writeFileSync(
        join(root, 'system.slice', name, 'cgroup.procs'),
        `${(Object.fromEntries(props).PIDs?.[1] as number[] | undefined)?.[0]}\n`,
      );
    },
    stopUnit(name) {
      calls.push(`stop ${name}`);
      rmSync(join(root, 'system.slice', name), { recursive: true, force: true });
    },
    setUnitProperties(name, props) {
      calls.push(`set ${name} ${props.map(([n]) => n).join(',')}`);
    },
    attachProcesses(name, pids) {
      calls.push(`attach ${name} ${pids.join(',')}`);
    },
    unitState: () => 'active',
    close() {},
  };
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'diyc-sd-'));
    calls.length = 0;
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('create and apply remember; placing the first process starts the scope with the limits; remove stops it', () => {
    const manager = new SystemdCgroup({ root, bus: () => bus, attachDeviceFilter: () => {} });
    const path = '/system.slice:diyc:box';
    manager.create(path);
    expect(manager.apply(path, resourcesFromFlags({ memory: '10M', pids: '20' })).applied).toEqual([
      `MemoryMax=${10 * 1024 * 1024}`,
      'TasksMax=20',
    ]);
    expect(manager.procsFiles(path)).toEqual([]); // the child does not join by itself
    const record = emptyRecord(['sh']);
    record.linux.cgroupsPath = path;
    placeProcess(record, 777, manager);
    expect(calls).toEqual(['start diyc-box.scope']);
    expect(Object.fromEntries(started).TasksMax).toEqual(['t', 20]);
    // What has no property was written into the scope's cgroup: no swap.
    expect(manager.pids(path)).toEqual([777]);
    expect(() => manager.remove(path)).toThrow(/still has processes \(777\)/);
    manager.remove(path, { force: true });
    expect(calls.at(-1)).toBe('stop diyc-box.scope');
    expect(manager.exists(path)).toBe(false);
  });
});
