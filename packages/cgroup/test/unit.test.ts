// Pure logic, and the v2 manager against a directory shaped like cgroupfs: this
// machine is hybrid (v1 controllers), so a real v2 tree cannot be had here. The fake
// tree holds the files the kernel would show; rmdir is replaced by rm -r, since a
// plain directory, unlike a cgroup, is not empty while it has those files.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CgroupV1, CgroupV2, deathReason, detectLayout, deviceFilterProgram, formatSize, limitsOf, parseSize, cgroupStage, runDeviceFilter, v1DeviceLines } from '../src/index.js';
import { emptyRecord, type DeviceRule } from '@diyc/record';

describe('parseSize', () => {
  it('reads K, M, G (powers of 1024), fractions, and bytes', () => {
    expect(parseSize('10M')).toBe(10 * 1024 * 1024);
    expect(parseSize('512k')).toBe(512 * 1024);
    expect(parseSize('1G')).toBe(1024 ** 3);
    expect(parseSize('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('64MiB')).toBe(64 * 1024 * 1024);
  });

  it('reads a bare number as megabytes where diyC did (-m 10)', () => {
    expect(parseSize('10', 'm')).toBe(10 * 1024 * 1024);
  });

  it('refuses what is not a size', () => {
    expect(() => parseSize('ten')).toThrow(/not a size/);
    expect(() => parseSize('-1M')).toThrow(/not a size/);
    expect(() => parseSize('10X')).toThrow(/not a size/);
  });

  it('formats sizes back', () => {
    expect(formatSize(10 * 1024 * 1024)).toBe('10M');
    expect(formatSize(1024 ** 3)).toBe('1G');
    expect(formatSize(1000)).toBe('1000');
  });
});

const line = (id: number, mountPoint: string, fstype: string, options: string): string =>
  `${id} 1 0:${id} / ${mountPoint} rw,relatime shared:${id} - ${fstype} ${fstype} ${options}`;

describe('detectLayout', () => {
  it('sees hybrid: v1 controllers and an empty unified tree', () => {
    const layout = detectLayout([
      line(30, '/sys/fs/cgroup', 'tmpfs', 'rw'),
      line(31, '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
      line(32, '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct'),
      line(33, '/sys/fs/cgroup/unified', 'cgroup2', 'rw'),
    ].join('\n'));
    expect(layout.mode).toBe('hybrid');
    expect(layout.v1.get('memory')).toBe('/sys/fs/cgroup/memory');
    expect(layout.v1.get('cpuacct')).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(layout.v2).toBe('/sys/fs/cgroup/unified');
  });

  it('sees unified and legacy', () => {
    expect(detectLayout(line(30, '/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate')).mode).toBe('unified');
    expect(detectLayout(line(31, '/sys/fs/cgroup/pids', 'cgroup', 'rw,pids')).mode).toBe('legacy');
  });

  it('reads this machine', () => {
    expect(['unified', 'legacy', 'hybrid']).toContain(detectLayout().mode);
  });
});

describe('records and reasons', () => {
  it('round-trips limits through the record', () => {
    const fake = { version: 2, path: (n: string) => `/diyc/${n}`, procsFiles: (n: string) => [`/cg/diyc/${n}/cgroup.procs`], create: () => ({ applied: [], skipped: [] }) };
    const { record } = cgroupStage(emptyRecord(['sh']), 'box', { memory: 1024, pids: 5, cpus: 0.5 }, fake as never);
    expect(record.linux.cgroupsPath).toBe('/diyc/box');
    expect(record.annotations['org.diyc.cgroup.procs']).toBe('/cg/diyc/box/cgroup.procs');
    expect(limitsOf(record)).toEqual({ memory: 1024, swap: 0, pids: 5, cpus: 0.5 });
  });

  it('tells an OOM kill from other deaths', () => {
    expect(deathReason({ oomKills: 1, memoryLimitBytes: 10 * 1024 * 1024 }, 9)).toBe('out of memory (limit 10M)');
    expect(deathReason({ oomKills: 0 }, 9)).toBe('killed by SIGKILL');
    expect(deathReason({}, null)).toBeUndefined();
  });
});

describe('CgroupV2 on a cgroupfs-shaped directory', () => {
  let root: string;
  const removeDir = (p: string): void => rmSync(p, { recursive: true });
  const write = (rel: string, text: string): void => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  const read = (rel: string): string => readFileSync(join(root, rel), 'utf8');

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'diyc-cgv2-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('enables what the parent was given, and writes the limits', () => {
    write('diyc/cgroup.controllers', 'cpuset cpu io memory pids\n');
    write('diyc/cgroup.subtree_control', '');
    write('diyc/box/memory.swap.max', 'max');
    const manager = new CgroupV2({ root, removeDir });
    const applied = manager.create('box', { memory: 10 * 1024 * 1024, pids: 20, cpus: 0.5 });
    expect(read('diyc/cgroup.subtree_control')).toBe('+memory +pids +cpu');
    expect(read('diyc/box/memory.max')).toBe(String(10 * 1024 * 1024));
    expect(read('diyc/box/memory.swap.max')).toBe('0');
    expect(read('diyc/box/pids.max')).toBe('20');
    expect(read('diyc/box/cpu.max')).toBe('50000 100000');
    expect(applied).toEqual({ applied: ['memory 10M', 'no swap', 'pids 20', 'cpus 0.5'], skipped: [] });
    expect(manager.procsFiles('box')).toEqual([join(root, 'diyc/box/cgroup.procs')]);
  });

  it('says what was not applied when a controller is not delegated, and does not touch the root', () => {
    write('cgroup.subtree_control', 'cpu');
    write('diyc/cgroup.controllers', 'cpu\n');
    const manager = new CgroupV2({ root, removeDir });
    const applied = manager.create('box', { memory: 1024, pids: 5 });
    expect(applied.applied).toEqual([]);
    expect(applied.skipped).toEqual([
      expect.stringMatching(/^memory: the memory controller is not delegated/),
      expect.stringMatching(/^pids: the pids controller is not delegated/),
    ]);
    expect(read('cgroup.subtree_control')).toBe('cpu');
  });

  it('reads stats from memory.current, memory.peak, memory.events, pids.current, cpu.stat', () => {
    write('diyc/box/memory.current', '4096\n');
    write('diyc/box/memory.peak', '8192\n');
    write('diyc/box/memory.max', 'max\n');
    write('diyc/box/memory.events', 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    write('diyc/box/pids.current', '2\n');
    write('diyc/box/cpu.stat', 'usage_usec 1500\nuser_usec 1000\n');
    expect(new CgroupV2({ root, removeDir }).stats('box')).toEqual({ memoryBytes: 4096, memoryPeakBytes: 8192, oomKills: 1, pids: 2, cpuNanoseconds: 1_500_000 });
  });

  it('refuses to remove a populated cgroup without force', () => {
    write('diyc/box/cgroup.procs', '999999\n');
    const manager = new CgroupV2({ root, removeDir });
    expect(() => manager.remove('box')).toThrow(/still has processes \(999999\)/);
    write('diyc/box/cgroup.procs', '');
    manager.remove('box');
    manager.pruneParent();
    expect(() => read('diyc/cgroup.procs')).toThrow();
  });
});

describe('CgroupV1 on a cgroupfs-shaped directory', () => {
  it('writes memsw as memory + swap, and says so when swap accounting is off', () => {
    const root = mkdtempSync(join(tmpdir(), 'diyc-cgv1-'));
    try {
      const hierarchies = new Map([['memory', join(root, 'memory')], ['pids', join(root, 'pids')]]);
      mkdirSync(join(root, 'memory/diyc/a'), { recursive: true });
      writeFileSync(join(root, 'memory/diyc/a/memory.memsw.limit_in_bytes'), '');
      const manager = new CgroupV1({ hierarchies });
      expect(manager.create('a', { memory: 1024, swap: 1024 }).applied).toEqual(['memory 1K', 'swap 1K']);
      expect(readFileSync(join(root, 'memory/diyc/a/memory.memsw.limit_in_bytes'), 'utf8')).toBe('2048');
      expect(manager.create('b', { memory: 1024 }).skipped).toEqual([expect.stringMatching(/^swap: swap accounting is off/)]);
      expect(manager.procsFiles('a')).toEqual([join(root, 'memory/diyc/a/cgroup.procs'), join(root, 'pids/diyc/a/cgroup.procs')]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('device rules', () => {
  const defaults: DeviceRule[] = [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: null, minor: null, access: 'm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    { allow: true, type: 'c', major: 136, minor: null, access: 'rwm' },
  ];
  const allows = (rules: DeviceRule[], type: 'c' | 'b', major: number, minor: number, access: string) =>
    runDeviceFilter(deviceFilterProgram(rules), { type, major, minor, access });

  it('cgroup v2: the program allows what the rules allow, and nothing else', () => {
    expect(allows(defaults, 'c', 1, 3, 'rw')).toBe(true);       // /dev/null
    expect(allows(defaults, 'c', 136, 7, 'rw')).toBe(true);     // a pty
    expect(allows(defaults, 'c', 1, 11, 'w')).toBe(false);      // /dev/kmsg
    expect(allows(defaults, 'b', 254, 0, 'r')).toBe(false);     // a disk
    expect(allows(defaults, 'c', 1, 11, 'm')).toBe(true);       // made, not used
    expect(allows(defaults, 'b', 254, 0, 'm')).toBe(false);     // block nodes: not even made
  });

  it('reads the rules as v1 does: a rule for all resets, a later rule wins', () => {
    expect(allows([{ allow: true, access: 'rwm' }], 'b', 8, 0, 'rwm')).toBe(true);
    const denyOne: DeviceRule[] = [{ allow: true, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 11, access: 'w' }];
    expect(allows(denyOne, 'c', 1, 11, 'w')).toBe(false);
    expect(allows(denyOne, 'c', 1, 11, 'r')).toBe(true);
    expect(allows([...denyOne, { allow: false, access: 'rwm' }], 'c', 1, 3, 'r')).toBe(false);
  });

  it('cgroup v1: the same rules as lines for devices.allow and devices.deny', () => {
    expect(v1DeviceLines(defaults)).toEqual([
      { file: 'devices.deny', line: 'a' },
      { file: 'devices.allow', line: 'c *:* m' },
      { file: 'devices.allow', line: 'c 1:3 rwm' },
      { file: 'devices.allow', line: 'c 136:* rwm' },
    ]);
  });
});
