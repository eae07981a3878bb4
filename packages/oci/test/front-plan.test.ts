// front.plan (front-plan.ts): what diyc-oci's native front may do for a container, decided
// from its record at create. Pure: the record is made here; the cgroup driver is cgroupfs
// (DIYC_CGROUP_DRIVER unset), as on this machine.
import { beforeEach, describe, expect, it } from 'vitest';
import { ANNOTATION, emptyRecord, type ContainerRecord } from '@diyc/record';
import { frontPlan, writeFrontPlan } from '../src/front-plan.js';

const hook = { path: '/bin/true' };

function made(change: (r: ContainerRecord) => void = () => {}): ContainerRecord {
  const record = emptyRecord();
  record.linux.cgroupsPath = '/engine/c1';
  record.linux.namespaces = [{ type: 'mount' }, { type: 'pid' }];
  record.annotations[ANNOTATION.cgroupProcs] = '/sys/fs/cgroup/pids/engine/c1/cgroup.procs:/sys/fs/cgroup/memory/engine/c1/cgroup.procs';
  change(record);
  return record;
}

describe('frontPlan', () => {
  beforeEach(() => {
    delete process.env.DIYC_CGROUP_DRIVER;
  });

  it("an ordinary container: start, its cgroup's directories, delete", () => {
    expect(frontPlan('c1', made(), undefined)).toEqual([
      'start',
      'cgroup /sys/fs/cgroup/pids/engine/c1',
      'cgroup /sys/fs/cgroup/memory/engine/c1',
      'delete',
    ]);
  });

  it("makes no plan for a cgroupfs cgroupsPath with a ':' in it: its cgroup.procs files would split into other directories", () => {
    const colon = made((r) => {
      r.linux.cgroupsPath = '/engine/cgroup.procs:/sys/fs/cgroup/pids/engine';
      r.annotations[ANNOTATION.cgroupProcs] = '/sys/fs/cgroup/pids/engine/cgroup.procs:/sys/fs/cgroup/pids/engine/cgroup.procs';
    });
    expect(frontPlan('c1', colon, undefined)).toEqual([]);
  });

  it("takes engines' IDs, which need not be diyc names (a UUID is 36 characters)", () => {
    const id = 'd1f45087-9470-446b-82fd-69d39f330696';
    expect(frontPlan(id, made(), undefined)).toContain('delete');
  });

  it("prunes the --root's own parent, only where create put the cgroup right under it", () => {
    const tagged = made((r) => {
      r.linux.cgroupsPath = '/diyc-oci-abc/c1';
      r.annotations[ANNOTATION.cgroupProcs] = '/sys/fs/cgroup/pids/diyc-oci-abc/c1/cgroup.procs';
    });
    expect(frontPlan('c1', tagged, 'diyc-oci-abc')).toEqual([
      'start',
      'cgroup /sys/fs/cgroup/pids/diyc-oci-abc/c1',
      'delete',
      'prune /sys/fs/cgroup/pids/diyc-oci-abc',
    ]);
    const deeper = made((r) => {
      r.linux.cgroupsPath = '/diyc-oci-abc/x/c1';
    });
    expect(frontPlan('c1', deeper, 'diyc-oci-abc')).not.toContain('delete');
  });

  it('leaves to Node a start with hooks, and a delete with more than the cgroup to undo', () => {
    expect(
      frontPlan(
        'c1',
        made((r) => (r.hooks = { poststart: [hook] })),
        undefined,
      ),
    ).not.toContain('start');
    expect(
      frontPlan(
        'c1',
        made((r) => (r.hooks = { startContainer: [hook] })),
        undefined,
      ),
    ).not.toContain('start');
    const cases: Array<[string, (r: ContainerRecord) => void]> = [
      ['poststop hooks', (r) => (r.hooks = { poststop: [hook] })],
      ['a bridge', (r) => (r.annotations[ANNOTATION.bridge] = 'diyc0')],
      ['an image layer', (r) => (r.annotations[ANNOTATION.image] = 'busybox')],
      [
        "the host's mount namespace, with a root",
        (r) => {
          r.linux.namespaces = [];
          r.root = { path: '/tmp/rootfs' };
        },
      ],
      [
        'a joined mount namespace, with a root',
        (r) => {
          r.linux.namespaces = [{ type: 'mount', path: '/proc/1/ns/mnt' }];
          r.root = { path: '/r' };
        },
      ],
      ['no cgroup known', (r) => delete r.annotations[ANNOTATION.cgroupProcs]],
    ];
    for (const [what, change] of cases) expect(frontPlan('c1', made(change), undefined), what).not.toContain('delete');
    process.env.DIYC_CGROUP_DRIVER = 'systemd';
    expect(frontPlan('c1', made(), undefined), 'systemd').not.toContain('delete');
  });

  it('gives no plan at all when a path holds a line break (a hostile cgroupsPath)', () => {
    const hostile = made((r) => {
      r.annotations[ANNOTATION.cgroupProcs] = '/sys/fs/cgroup/pids/x\ndelete\nprune /sys/fs/cgroup/pids/c1/cgroup.procs';
    });
    expect(frontPlan('c1', hostile, undefined)).toEqual([]);
  });

  it('is only a shortcut: one that cannot be written never fails the create', () => {
    expect(() => writeFrontPlan('/nonexistent/diyc-front-plan-test', 'c1', made(), undefined)).not.toThrow();
  });
});
