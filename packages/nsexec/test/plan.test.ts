// planFromRecord is pure: a record in, a spawn plan out. No root needed.
import { ANNOTATION, DiycError, emptyRecord, type ContainerRecord } from '@diyc/record';
import { MS } from '@diyc/syscalls';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheName, decodeCached, encodeCached } from '../src/plan-process.js';
import {
  containerDevices,
  containerMounts,
  DEFAULT_CAPABILITIES,
  describeMountStep,
  hasOwnNamespace,
  sysctlProblem,
  defaultSeccompProfile,
  parseMountOptions,
  planFromRecord,
  recordFromOptions,
  seccompPlan,
} from '../src/index.js';

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

/** A container's record as diyc-run makes it: its own mount namespace, root /r, the default mounts and devices. */
function containerRecord(): ContainerRecord {
  const record = emptyRecord(['sh']);
  record.linux.namespaces = [{ type: 'mount' }];
  record.root = { path: '/r' };
  record.mounts = containerMounts();
  record.linux.devices = containerDevices();
  return record;
}

describe('describeMountStep (the -v trace)', () => {
  it('says what each step of the default container does to its filesystem', () => {
    const record = containerRecord();
    record.linux.maskedPaths = ['/proc/kcore'];
    record.linux.readonlyPaths = ['/proc/sys'];
    const lines = (planFromRecord(record).mounts ?? []).map(describeMountStep).filter((l) => l !== null);
    expect(lines).toContain('mount proc on /proc');
    expect(lines).toContain('mask /proc/kcore');
    expect(lines).toContain('rbind /proc/sys on /proc/sys');
    expect(lines).toContain('remount /proc/sys read-only');
    expect(lines.join('\n')).not.toMatch(/ {2}|\?/); // every step names what it mounts
  });

  it('names binds, remounts and propagation changes', () => {
    expect(describeMountStep({ op: 'mount', source: '/a', target: '/b', flags: MS.BIND })).toBe('bind /a on /b');
    expect(describeMountStep({ op: 'mount', target: '/b', flags: MS.REMOUNT | MS.BIND })).toBe('remount /b read-write');
    expect(describeMountStep({ op: 'mount', target: '/', flags: MS.PRIVATE | MS.REC })).toBe('make / rprivate');
    expect(describeMountStep({ op: 'mkdir', target: '/x' })).toBeNull();
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
    const record = containerRecord();
    const plan = planFromRecord(record);
    expect(plan.root).toBe('/r');
    // Targets are paths inside the root: the child resolves them there.
    const targets = (plan.mounts ?? []).map((m) => `${m.op} ${m.target}`);
    expect(targets.slice(0, 6)).toEqual(['mkdir /proc', 'mount /proc', 'mkdir /dev', 'mount /dev', 'mknod /dev/null', 'mknod /dev/zero']);
    expect(targets).toContain('symlink /dev/ptmx');
    expect(targets.indexOf('symlink /dev/ptmx')).toBeLessThan(targets.indexOf('mount /dev/pts'));
  });

  it('remounts a read-only bind mount, as mount(2) needs', () => {
    const record = emptyRecord(['sh']);
    record.linux.namespaces = [{ type: 'mount' }];
    record.mounts = [{ destination: '/mnt', source: '/src', options: ['rbind', 'ro'] }];
    const mounts = planFromRecord(record).mounts ?? [];
    expect(mounts.filter((m) => m.op === 'mount')).toEqual([
      { op: 'mount', target: '/mnt', source: '/src', flags: MS.BIND | MS.REC | MS.RDONLY },
      { op: 'mount', target: '/mnt', flags: MS.REMOUNT | MS.BIND | MS.RDONLY, keepFlags: true },
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
    expect(() => planFromRecord(record)).toThrow(DiycError);
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

describe('isolation in the plan', () => {
  const base = () => {
    const record = emptyRecord(['sh']);
    record.linux.namespaces = [{ type: 'mount' }, { type: 'ipc' }];
    record.root = { path: '/r' };
    return record;
  };

  it('masks and makes read-only the paths asked, after the mounts, skipping those absent', () => {
    const record = base();
    record.mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }];
    record.linux.maskedPaths = ['/proc/kcore'];
    record.linux.readonlyPaths = ['/proc/sys'];
    record.root = { path: '/r', readonly: true };
    expect(planFromRecord(record).mounts).toEqual([
      { op: 'mkdir', target: '/proc', mode: 0o755 },
      { op: 'mount', target: '/proc', source: 'proc', fstype: 'proc', flags: 0 },
      { op: 'mask', target: '/proc/kcore', optional: true },
      { op: 'mount', source: '/proc/sys', target: '/proc/sys', flags: MS.BIND | MS.REC, sourceInRoot: true, optional: true },
      { op: 'mount', target: '/proc/sys', flags: MS.REMOUNT | MS.BIND | MS.RDONLY, keepFlags: true, optional: true },
      { op: 'mount', target: '/', flags: MS.REMOUNT | MS.BIND | MS.RDONLY, keepFlags: true },
    ]);
  });

  it('sets only the sysctls of namespaces the container has: the others would change the host', () => {
    const record = base();
    record.linux.sysctl = { 'kernel.shmmax': '100000' };
    expect(planFromRecord(record).mounts).toContainEqual({ op: 'write', target: '/proc/sys/kernel/shmmax', data: '100000' });
    record.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
    expect(() => planFromRecord(record)).toThrow('needs a network namespace');
    record.linux.sysctl = { 'vm.stat_interval': '2' };
    expect(() => planFromRecord(record)).toThrow('is not namespaced');
    record.linux.sysctl = { 'kernel/../../x': '1' };
    expect(() => planFromRecord(record)).toThrow('is not a sysctl name');
  });

  it("takes a namespace joined by path that is the host's own as the host's: no sysctl, hostname or pivot there", () => {
    // /proc/self/ns/* are this test process's namespaces: the host's, as far as a config can tell.
    const record = base();
    record.linux.namespaces.push({ type: 'network', path: '/proc/self/ns/net' });
    record.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
    expect(() => planFromRecord(record)).toThrow("sysctl net.ipv4.ip_forward needs a network namespace of the container's own");
    expect(sysctlProblem('net.ipv4.ip_forward', record, () => false)).toBeNull(); // another netns, joined
    const named = emptyRecord(['true']);
    named.linux.namespaces = [{ type: 'uts', path: '/proc/self/ns/uts' }];
    named.hostname = 'renamed';
    expect(() => planFromRecord(named)).toThrow('a hostname needs a UTS namespace, or it would rename the host');
    const pivoting = emptyRecord(['true']);
    pivoting.linux.namespaces = [{ type: 'mount', path: '/proc/self/ns/mnt' }];
    pivoting.root = { path: '/r' };
    expect(() => planFromRecord(pivoting)).toThrow('mounts and root.path need a mount namespace');
    expect(hasOwnNamespace(pivoting, 'mount')).toBe(false);
    expect(hasOwnNamespace(pivoting, 'mount', () => false)).toBe(true);
  });

  it('refuses an unknown capability, rlimit or a soft limit above the hard one, by name', () => {
    const record = base();
    record.process.capabilities = { bounding: ['CAP_CHOWN', 'CAP_TEST'] };
    expect(() => planFromRecord(record)).toThrow('process.capabilities.bounding: unknown capability CAP_TEST');
    record.process.capabilities = { bounding: ['CAP_CHOWN'], effective: ['CAP_CHOWN'] };
    expect(planFromRecord(record).capabilities).toEqual({
      bounding: ['CAP_CHOWN'],
      effective: ['CAP_CHOWN'],
      permitted: [],
      inheritable: [],
      ambient: [],
    });
    record.process.rlimits = [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }];
    expect(() => planFromRecord(record)).toThrow('unknown resource RLIMIT_BOGUS');
    record.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 2048, hard: 1024 }];
    expect(() => planFromRecord(record)).toThrow('soft 2048 is above hard 1024');
  });

  it("mounts the container's cgroup once, even when a spec lists it twice (cgroup2 refuses a second mount on itself)", () => {
    const record = base();
    record.linux.namespaces.push({ type: 'cgroup' });
    record.linux.cgroupsPath = '/diyc/box';
    const cgroup = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'ro'] };
    record.mounts = [cgroup];
    const once = planFromRecord(record).mounts?.length;
    record.mounts = [cgroup, { ...cgroup }];
    expect(planFromRecord(record).mounts?.length).toBe(once);
    // Without a cgroup of its own and without a cgroup namespace: nothing of the host's tree.
    record.linux.namespaces = record.linux.namespaces.filter((ns) => ns.type !== 'cgroup');
    delete record.linux.cgroupsPath;
    expect(planFromRecord(record).mounts ?? []).toEqual([]);
  });

  it("makes a file to bind a file onto, and passes a bind mount's data on as runc does (mount(2) ignores it)", () => {
    const record = base();
    record.mounts = [{ destination: '/etc/hostname', source: '/etc/hostname', options: ['bind', 'ro'] }];
    expect(planFromRecord(record).mounts?.[0]).toEqual({ op: 'mkfile', target: '/etc/hostname' });
    record.mounts = [{ destination: '/data', source: '/tmp', options: ['bind', 'size=1m'] }];
    expect(planFromRecord(record).mounts?.[1]).toEqual({ op: 'mount', target: '/data', source: '/tmp', flags: MS.BIND, data: 'size=1m' });
  });

  it("becomes root of a new user namespace only with its maps, and binds the host's device nodes there", () => {
    const record = base();
    record.linux.namespaces.push({ type: 'user' });
    record.mounts = [{ destination: '/dev', type: 'tmpfs', source: 'tmpfs' }];
    record.linux.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 3 }];
    expect(() => planFromRecord(record)).toThrow('needs linux.uidMappings and linux.gidMappings');
    record.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 100 }];
    record.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 100 }];
    const plan = planFromRecord(record);
    expect(plan.uidMappings).toEqual(record.linux.uidMappings);
    expect(plan.mounts?.filter((m) => m.target === '/dev/null')).toEqual([
      { op: 'mkfile', target: '/dev/null', mode: 0o644 },
      { op: 'mount', source: '/dev/null', target: '/dev/null', flags: MS.BIND },
    ]);
  });
});

describe('the default seccomp profile', () => {
  const allowed = (caps: readonly string[]) =>
    new Set(
      defaultSeccompProfile(caps)
        .syscalls?.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args)
        .flatMap((r) => r.names),
    );

  it("allows what programs use and keeps out the calls that reach the kernel's shared state", () => {
    const names = allowed(DEFAULT_CAPABILITIES);
    for (const name of ['read', 'openat', 'execve', 'chown', 'setuid', 'capset', 'prctl', 'ptrace'])
      expect(names.has(name), name).toBe(true);
    for (const name of [
      'io_uring_setup',
      'io_uring_enter',
      'io_uring_register',
      'keyctl',
      'add_key',
      'request_key',
      'bpf',
      'userfaultfd',
      'perf_event_open',
      'kexec_load',
      'open_by_handle_at',
      'init_module',
      'mount',
      'unshare',
      'setns',
      'settimeofday',
      'reboot',
    ])
      expect(names.has(name), name).toBe(false);
  });

  it('follows the capabilities: CAP_SYS_ADMIN brings mount and a free clone, CAP_SYS_TIME settimeofday', () => {
    const names = allowed([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_TIME']);
    expect(names.has('mount') && names.has('unshare') && names.has('clone') && names.has('settimeofday')).toBe(true);
    const plain = defaultSeccompProfile(DEFAULT_CAPABILITIES).syscalls ?? [];
    expect(plain.find((r) => r.names.includes('clone'))?.args).toEqual([
      { index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' },
    ]);
    expect(plain.find((r) => r.names.includes('clone3'))).toMatchObject({ action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  });

  it('compiles with libseccomp into a BPF program', () => {
    const compiled = seccompPlan(defaultSeccompProfile(DEFAULT_CAPABILITIES));
    // struct sock_filter is 8 bytes; the allowlist makes a program of some hundreds.
    expect(compiled?.program.length).toBeGreaterThan(8 * 100);
    expect((compiled?.program.length ?? 0) % 8).toBe(0);
  });

  it('keeps a compiled filter in the cache under its whole key, and uses it only for that key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-seccomp-cache-'));
    try {
      const profile = defaultSeccompProfile(DEFAULT_CAPABILITIES);
      const first = seccompPlan(profile, { cacheDir: dir });
      const [file] = readdirSync(dir);
      expect(file).toMatch(/^[0-9a-f]{16}\.filter$/);
      expect(seccompPlan(profile, { cacheDir: dir })?.program).toEqual(first?.program);
      // Another key's file under this name (a hash collision, or a torn write) is a miss,
      // never a wrong filter: the profile is compiled again and the file replaced.
      writeFileSync(join(dir, file as string), encodeCached('another profile', Buffer.alloc(16)));
      expect(seccompPlan(profile, { cacheDir: dir })?.program).toEqual(first?.program);
      expect(readFileSync(join(dir, file as string)).length).toBeGreaterThan(first?.program.length ?? 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads back only the program of the key a cache file holds', () => {
    const program = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(decodeCached(encodeCached('key', program), 'key')).toEqual(program);
    expect(decodeCached(encodeCached('key', program), 'kez')).toBeUndefined();
    expect(decodeCached(encodeCached('key', program).subarray(0, 9), 'key')).toBeUndefined();
    expect(decodeCached(Buffer.alloc(2), 'key')).toBeUndefined();
    expect(cacheName('a')).not.toBe(cacheName('b'));
    expect(cacheName('a')).toMatch(/^[0-9a-f]{16}$/);
  });
});
