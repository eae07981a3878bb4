// Pure logic, and the v2 manager against a directory shaped like cgroupfs: this
// machine is hybrid (v1 controllers), so a real v2 tree cannot be had here. The fake
// tree holds the files the kernel would show; rmdir is replaced by rm -r, since a
// plain directory, unlike a cgroup, is not empty while it has those files.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CgroupV1,
  CgroupV2,
  cgroupPath,
  cgroupStageWith,
  deathReason,
  detectLayout,
  deviceFilterProgram,
  flagsOfResources,
  formatSize,
  parseSize,
  normalizeAccess,
  ociDeviceRules,
  resourcesFromFlags,
  v1DeviceLines,
  weightOfShares,
} from '../src/index.js';
import { noTrace } from '@diyc/cli';
import { runDeviceFilter } from '../src/device-filter.js';
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
    const layout = detectLayout(
      [
        line(30, '/sys/fs/cgroup', 'tmpfs', 'rw'),
        line(31, '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
        line(32, '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct'),
        line(33, '/sys/fs/cgroup/unified', 'cgroup2', 'rw'),
      ].join('\n'),
    );
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
  const ctx = { name: 'box', root: '/r', trace: noTrace, warn: () => {} };
  const fake = (skipped: string[] = [], state: { frozen?: boolean; pids?: number[] } = {}) => {
    const calls: string[] = [];
    const manager = {
      version: 2,
      pathOf: (n: string) => `/diyc/${n}`,
      procsFiles: (p: string) => [`/cg${p}/cgroup.procs`],
      create: (p: string) => calls.push(`create ${p}`),
      apply: (p: string) => {
        calls.push(`apply ${p}`);
        return { applied: [], skipped };
      },
      exists: () => true,
      remove: (p: string) => calls.push(`remove ${p}`),
      frozen: () => state.frozen === true,
      pids: () => state.pids ?? [],
    };
    return { calls, stage: cgroupStageWith(() => manager as never) };
  };

  it("makes diyc's cgroup for NAME, or the one the record names, and records what to join", () => {
    const { stage, calls } = fake();
    const record = stage.apply(emptyRecord(['sh']), ctx);
    expect(record.linux.cgroupsPath).toBe('/diyc/box');
    expect(record.annotations['org.diyc.cgroup.procs']).toBe('/cg/diyc/box/cgroup.procs');
    const oci = emptyRecord(['sh']);
    oci.linux.cgroupsPath = '/machine/pod1/box';
    stage.apply(oci, ctx);
    expect(calls).toEqual(['create /diyc/box', 'apply /diyc/box', 'create /machine/pod1/box', 'apply /machine/pod1/box']);
  });

  it('warns about a limit the machine cannot apply; strict (OCI), it refuses and undoes', () => {
    const warned: string[] = [];
    const { stage, calls } = fake(['hugepageLimits: the hugetlb controller is not mounted']);
    stage.apply(emptyRecord(['sh']), { ...ctx, warn: (m: string) => warned.push(m) });
    expect(warned).toEqual(['not applied: hugepageLimits: the hugetlb controller is not mounted']);
    expect(() => stage.apply(emptyRecord(['sh']), { ...ctx, strict: true })).toThrow(
      'linux.resources cannot be applied on this machine: hugepageLimits',
    );
    expect(calls.at(-1)).toBe('remove /diyc/box');
  });

  it('refuses a frozen cgroup before making anything, and does not remove it on the way out', () => {
    // The first process would freeze as it entered: create hung (runc's "refuse pre-existing frozen cgroup").
    const { stage, calls } = fake([], { frozen: true });
    const oci = emptyRecord(['sh']);
    oci.linux.cgroupsPath = '/pod/frozen';
    expect(() => stage.apply(oci, ctx)).toThrow("container's cgroup unexpectedly frozen: /pod/frozen is frozen");
    stage.undo(oci, ctx);
    expect(calls).toEqual([]);
  });

  it("a cgroup with processes: a warning for one an engine chose (as runc 1.1), refused for diyc's own", () => {
    const warned: string[] = [];
    const { stage, calls } = fake([], { pids: [41, 42] });
    const oci = emptyRecord(['sh']);
    oci.linux.cgroupsPath = '/pod/shared';
    stage.apply(oci, { ...ctx, warn: (m: string) => warned.push(m) });
    expect(warned).toEqual(["container's cgroup is not empty: 2 process(es) found in /pod/shared"]);
    expect(() => stage.apply(emptyRecord(['sh']), ctx)).toThrow(
      "container's cgroup is not empty: 2 process(es) found in /diyc/box: stop them first",
    );
    stage.undo(emptyRecord(['sh']), ctx);
    expect(calls).toEqual(['create /pod/shared', 'apply /pod/shared']);
  });

  it('reads limits as a person writes them into OCI resources, and back', () => {
    const resources = resourcesFromFlags({ memory: '1K', pids: '5', cpus: '0.5' });
    expect(resources).toEqual({ memory: { limit: 1024, swap: 1024 }, pids: { limit: 5 }, cpu: { quota: 50_000, period: 100_000 } });
    expect(flagsOfResources(resources)).toEqual(['--memory', '1024', '--pids', '5', '--cpus', '0.5']);
    expect(resourcesFromFlags({ memory: '1K', swap: '1K' }).memory).toEqual({ limit: 1024, swap: 2048 });
    expect(() => resourcesFromFlags({ swap: '1K' })).toThrow('--swap needs --memory');
  });

  it("keeps a config's cgroupsPath inside the hierarchy", () => {
    expect(cgroupPath('a//b/')).toBe('/a/b');
    expect(() => cgroupPath('/diyc/../../etc')).toThrow('must not go up');
    expect(() => cgroupPath('/')).toThrow('root of the hierarchy');
  });

  it('converts OCI cpu shares to cgroup v2 weights as runc does', () => {
    expect([2, 1024, 262144].map(weightOfShares)).toEqual([1, 39, 10000]);
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
    // What the kernel would show in the child once the parent delegates.
    write('diyc/box/cgroup.controllers', 'cpuset cpu io memory pids\n');
    write('diyc/box/memory.swap.max', 'max');
    const manager = new CgroupV2({ root, removeDir });
    manager.create('/diyc/box');
    const applied = manager.apply('/diyc/box', {
      ...resourcesFromFlags({ memory: '10M', pids: '20', cpus: '0.5' }),
      cpu: { shares: 1024, quota: 50_000, period: 100_000, cpus: '0' },
    });
    expect(read('diyc/cgroup.subtree_control')).toBe('+memory +pids +cpu +cpuset +io');
    expect(read('diyc/box/memory.max')).toBe(String(10 * 1024 * 1024));
    expect(read('diyc/box/memory.swap.max')).toBe('0');
    expect(read('diyc/box/pids.max')).toBe('20');
    expect(read('diyc/box/cpu.max')).toBe('50000 100000');
    expect(read('diyc/box/cpu.weight')).toBe('39');
    expect(read('diyc/box/cpuset.cpus')).toBe('0');
    expect(applied).toEqual({ applied: ['memory 10M', 'no swap', 'cpu weight 39', 'cpus 0.5', 'cpus 0', 'pids 20'], skipped: [] });
    expect(manager.procsFiles('/diyc/box')).toEqual([join(root, 'diyc/box/cgroup.procs')]);
  });

  it('says what was not applied when a controller is not delegated, and does not touch the root', () => {
    write('cgroup.subtree_control', 'cpu');
    write('diyc/cgroup.controllers', 'cpu\n');
    write('diyc/box/cgroup.controllers', 'cpu\n');
    const manager = new CgroupV2({ root, removeDir });
    manager.create('/diyc/box');
    const applied = manager.apply('/diyc/box', resourcesFromFlags({ memory: '1K', pids: '5' }));
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
    expect(new CgroupV2({ root, removeDir }).stats('/diyc/box')).toEqual({
      memoryBytes: 4096,
      memoryPeakBytes: 8192,
      oomKills: 1,
      pids: 2,
      cpuNanoseconds: 1_500_000,
    });
  });

  it('ignores, as runc does, what v2 has no place for (swappiness, disableOOMKiller, kernel memory): said, never refused', () => {
    write('diyc/box/cgroup.controllers', 'memory\n');
    const manager = new CgroupV2({ root, removeDir });
    const out = manager.apply('/diyc/box', {
      memory: { limit: 1024, swappiness: 0, disableOOMKiller: true, kernel: 1024, kernelTCP: 1024 },
    });
    expect(out.skipped).toEqual([]);
    expect(out.ignored?.map((i) => i.split(':')[0])).toEqual([
      'memory.swappiness',
      'memory.disableOOMKiller',
      'memory.kernel',
      'memory.kernelTCP',
    ]);
    const warned: string[] = [];
    const record = emptyRecord(['sh']);
    record.linux.cgroupsPath = '/diyc/box';
    record.linux.resources = { memory: { limit: 1024, swappiness: 0 } };
    cgroupStageWith(() => manager).apply(record, { name: 'box', root: '/r', trace: noTrace, warn: (m) => warned.push(m), strict: true });
    expect(warned).toEqual(['ignored: memory.swappiness: cgroup v2 has no per-cgroup swappiness']);
  });

  it('refuses to remove a populated cgroup without force', () => {
    write('diyc/box/cgroup.procs', '999999\n');
    const manager = new CgroupV2({ root, removeDir });
    expect(() => manager.remove('/diyc/box')).toThrow(/still has processes \(999999\)/);
    write('diyc/box/cgroup.procs', '');
    manager.remove('/diyc/box');
    manager.pruneParent();
    expect(() => read('diyc/cgroup.procs')).toThrow();
  });
  it('removes the sub-cgroups a container made, deepest first, and counts their processes', () => {
    write('diyc/box/cgroup.procs', '');
    write('diyc/box/foo/cgroup.procs', '999998\n');
    write('diyc/box/foo/bar/cgroup.procs', '');
    const removed: string[] = [];
    const manager = new CgroupV2({
      root,
      removeDir: (p) => {
        removed.push(p.slice(root.length));
        rmSync(p, { recursive: true });
      },
    });
    expect(manager.pids('/diyc/box')).toEqual([999998]);
    expect(() => manager.remove('/diyc/box')).toThrow(/still has processes \(999998\)/);
    write('diyc/box/foo/cgroup.procs', '');
    manager.remove('/diyc/box');
    expect(removed).toEqual(['/diyc/box/foo/bar', '/diyc/box/foo', '/diyc/box']);
  });

  it('sees a frozen cgroup, or one that would be made under a frozen parent', () => {
    write('pod/cgroup.freeze', '1');
    write('pod/cgroup.events', 'populated 0\nfrozen 1\n');
    write('other/cgroup.events', 'populated 0\nfrozen 0\n');
    const manager = new CgroupV2({ root, removeDir });
    expect(manager.frozen('/pod/box')).toBe(true);
    expect(manager.frozen('/other/box')).toBe(false);
    expect(manager.frozen('/new/box')).toBe(false);
  });
});

describe('CgroupV1 on a cgroupfs-shaped directory', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'diyc-cgv1-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes memsw as memory + swap, and says so when swap accounting is off', () => {
    const hierarchies = new Map([
      ['memory', join(root, 'memory')],
      ['pids', join(root, 'pids')],
    ]);
    for (const dir of ['memory', 'pids']) mkdirSync(join(root, dir));
    const manager = new CgroupV1({ hierarchies });
    manager.create('/diyc/a');
    writeFileSync(join(root, 'memory/diyc/a/memory.memsw.limit_in_bytes'), '');
    expect(manager.apply('/diyc/a', resourcesFromFlags({ memory: '1K', swap: '1K' })).applied).toEqual(['memory 1K', 'swap 1K']);
    expect(readFileSync(join(root, 'memory/diyc/a/memory.memsw.limit_in_bytes'), 'utf8')).toBe('2048');
    manager.create('/diyc/b');
    expect(manager.apply('/diyc/b', resourcesFromFlags({ memory: '1K' })).skipped).toEqual([
      expect.stringMatching(/^memory.swap: swap accounting is off/),
    ]);
    expect(manager.procsFiles('/diyc/a')).toEqual([join(root, 'memory/diyc/a/cgroup.procs'), join(root, 'pids/diyc/a/cgroup.procs')]);
  });

  it("gives a new cpuset its parent's CPUs and memory nodes, and reports controllers not mounted", () => {
    const hierarchies = new Map([['cpuset', join(root, 'cpuset')]]);
    mkdirSync(join(root, 'cpuset'));
    writeFileSync(join(root, 'cpuset/cpuset.cpus'), '0-1\n');
    writeFileSync(join(root, 'cpuset/cpuset.mems'), '0\n');
    // cgroupfs makes these files, empty, in a new directory; a plain directory does not.
    const manager = new CgroupV1({ hierarchies });
    mkdirSync(join(root, 'cpuset/pod'));
    for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(root, 'cpuset/pod', f), '');
    manager.create('/pod/box');
    expect(readFileSync(join(root, 'cpuset/pod/cpuset.cpus'), 'utf8')).toBe('0-1');
    const { skipped } = manager.apply('/pod/box', { hugepageLimits: [{ pageSize: '2MB', limit: 1 }], unified: { 'memory.high': '1' } });
    expect(skipped).toEqual(['hugepageLimits: the hugetlb controller is not mounted on this machine', 'unified: only cgroup v2 has it']);
  });
  it('on a hybrid machine joins the unified tree too, as runc places a container', () => {
    const hierarchies = new Map([
      ['memory', join(root, 'memory')],
      ['freezer', join(root, 'freezer')],
    ]);
    for (const dir of ['memory', 'freezer', 'unified']) mkdirSync(join(root, dir));
    const manager = new CgroupV1({ hierarchies, unified: join(root, 'unified') });
    manager.create('/pod/box');
    expect(manager.procsFiles('/pod/box')).toEqual(['memory', 'freezer', 'unified'].map((h) => join(root, h, 'pod/box/cgroup.procs')));
    // A cgroup made before diyc joined the unified tree still exists, and is removed.
    rmSync(join(root, 'unified/pod/box'), { recursive: true });
    expect(manager.exists('/pod/box')).toBe(true);
  });

  it('sees a frozen freezer (or a frozen parent), and removes sub-cgroups deepest first', () => {
    const hierarchies = new Map([
      ['memory', join(root, 'memory')],
      ['freezer', join(root, 'freezer')],
    ]);
    for (const dir of ['memory', 'freezer']) mkdirSync(join(root, dir));
    mkdirSync(join(root, 'freezer/pod'));
    writeFileSync(join(root, 'freezer/pod/freezer.state'), 'FROZEN\n');
    const removed: string[] = [];
    const manager = new CgroupV1({
      hierarchies,
      removeDir: (p) => {
        removed.push(p.slice(root.length));
        rmSync(p, { recursive: true });
      },
    });
    expect(manager.frozen('/pod/box')).toBe(true);
    writeFileSync(join(root, 'freezer/pod/freezer.state'), 'THAWED\n');
    expect(manager.frozen('/pod/box')).toBe(false);
    manager.create('/pod/box');
    mkdirSync(join(root, 'memory/pod/box/foo/bar'), { recursive: true });
    writeFileSync(join(root, 'memory/pod/box/foo/cgroup.procs'), '999997\n');
    expect(manager.pids('/pod/box')).toEqual([999997]);
    writeFileSync(join(root, 'memory/pod/box/foo/cgroup.procs'), '');
    manager.remove('/pod/box');
    expect(removed).toEqual(['/memory/pod/box/foo/bar', '/memory/pod/box/foo', '/memory/pod/box', '/freezer/pod/box']);
  });
});

describe('cgroup v1 removal', () => {
  const work = mkdtempSync(join(tmpdir(), 'diyc-cgroup-v1-rm-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('removes an emptied cgroup with one rmdir per hierarchy; one with a sub-cgroup the long way, deepest first', () => {
    const root = mkdtempSync(join(work, 't-'));
    const hierarchies = new Map(['memory', 'pids', 'freezer'].map((c) => [c, join(root, c)] as [string, string]));
    for (const dir of hierarchies.values()) mkdirSync(dir);
    const calls: string[] = [];
    // As the kernel's rmdir(2) of a cgroup: refused (EBUSY) while it has a child.
    const removeDir = (p: string): void => {
      calls.push(p.slice(root.length));
      if (readdirSync(p, { withFileTypes: true }).some((e) => e.isDirectory()))
        throw Object.assign(new Error(`EBUSY: ${p}`), { code: 'EBUSY' });
      rmSync(p, { recursive: true });
    };
    const manager = new CgroupV1({ hierarchies, removeDir });
    manager.create('/pod/box');
    manager.remove('/pod/box', { force: true });
    expect(calls).toEqual(['/memory/pod/box', '/pids/pod/box', '/freezer/pod/box']);
    expect(manager.exists('/pod/box')).toBe(false);

    manager.create('/pod/box');
    mkdirSync(join(root, 'pids/pod/box/sub'));
    calls.length = 0;
    manager.remove('/pod/box', { force: true });
    // Refused in pids: the long way from there, for all (memory's is gone already).
    expect(calls).toEqual([
      '/memory/pod/box',
      '/pids/pod/box',
      '/memory/pod/box',
      '/pids/pod/box/sub',
      '/pids/pod/box',
      '/freezer/pod/box',
    ]);
    expect(existsSync(join(root, 'pids/pod/box'))).toBe(false);
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
    expect(allows(defaults, 'c', 1, 3, 'rw')).toBe(true); // /dev/null
    expect(allows(defaults, 'c', 136, 7, 'rw')).toBe(true); // a pty
    expect(allows(defaults, 'c', 1, 11, 'w')).toBe(false); // /dev/kmsg
    expect(allows(defaults, 'b', 254, 0, 'r')).toBe(false); // a disk
    expect(allows(defaults, 'c', 1, 11, 'm')).toBe(true); // made, not used
    expect(allows(defaults, 'b', 254, 0, 'm')).toBe(false); // block nodes: not even made
  });

  it('reads the rules as v1 does: a rule for all resets, a later rule wins', () => {
    expect(allows([{ allow: true, access: 'rwm' }], 'b', 8, 0, 'rwm')).toBe(true);
    const denyOne: DeviceRule[] = [
      { allow: true, access: 'rwm' },
      { allow: false, type: 'c', major: 1, minor: 11, access: 'w' },
    ];
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

  it('reads access in any order, as runc does: mrw is rwm, wr is rw, an "a" adds nothing', () => {
    expect(normalizeAccess('mrw')).toBe('rwm');
    expect(normalizeAccess('wr')).toBe('rw');
    expect(normalizeAccess('rwa')).toBe('rw');
    expect(normalizeAccess(undefined)).toBe('rwm');
    const rules: DeviceRule[] = [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 11, access: 'wr' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'mrw' },
    ];
    expect(v1DeviceLines(rules).map((l) => l.line)).toEqual(['a', 'c 1:11 rw', 'c 1:3 rwm']);
    expect(allows(rules, 'c', 1, 11, 'rw')).toBe(true);
    expect(allows(rules, 'c', 1, 11, 'm')).toBe(false);
    expect(allows(rules, 'c', 1, 3, 'rwm')).toBe(true);
    // A rule of "a" alone names no access: the kernel would refuse the line, and it changes nothing.
    expect(v1DeviceLines([{ allow: true, type: 'c', major: 1, minor: 11, access: 'a' }])).toEqual([]);
  });

  it('an OCI config: the nodes it lists are made, not allowed; /dev/kmsg opens only when a rule allows it', () => {
    // runc's own test (dev.bats "device cgroup deny"): deny all, /dev/kmsg listed as a node.
    const denied = ociDeviceRules([{ allow: false, access: 'rwm' }], ['/dev/kmsg']);
    for (const access of ['r', 'w']) expect(allows(denied, 'c', 1, 11, access)).toBe(false);
    expect(v1DeviceLines(denied).map((l) => l.line)).not.toContain('c 1:11 rwm');
    expect(allows(denied, 'c', 1, 3, 'rw')).toBe(true); // /dev/null
    expect(allows(denied, 'c', 10, 200, 'rw')).toBe(true); // /dev/net/tun
    expect(allows(denied, 'c', 5, 1, 'w')).toBe(false); // the host's console
    // ...and "device cgroup allow rw char device": the config's own rule allows it.
    const allowedKmsg = ociDeviceRules(
      [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 11, access: 'rw' },
      ],
      ['/dev/kmsg'],
    );
    expect(allows(allowedKmsg, 'c', 1, 11, 'rw')).toBe(true);
    // The defaults come last, so a config cannot deny /dev/null (as with runc); one that lists
    // /dev/null itself drops runc's rule for it.
    expect(allows(ociDeviceRules([{ allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }]), 'c', 1, 3, 'r')).toBe(true);
    expect(allows(ociDeviceRules([], ['/dev/null']), 'c', 1, 3, 'r')).toBe(false);
  });

  it('a rule of type a resets the list whatever its access, in v1 and v2 alike', () => {
    const rules: DeviceRule[] = [
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: false, type: 'a', access: 'r' },
    ];
    expect(v1DeviceLines(rules).at(-1)).toEqual({ file: 'devices.deny', line: 'a' });
    expect(allows(rules, 'c', 1, 3, 'w')).toBe(false);
  });
});
