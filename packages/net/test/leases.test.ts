import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rootTag } from '@diyc/record';
import { leaseOwner, LeaseStore, netConfig } from '../src/index.js';

describe('LeaseStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'diyc-lease-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const store = () => new LeaseStore(netConfig({ bridge: 'tb', subnet: '10.1.2.0/29' }, {}), dir);
  const a = (name: string) => leaseOwner(name, '/tmp/root-a');
  const b = (name: string) => leaseOwner(name, '/tmp/root-b');

  it('gives the lowest free address, skipping network, gateway and broadcast', () => {
    const s = store();
    expect(['a', 'b', 'c', 'd', 'e'].map((n) => s.lease(a(n)))).toEqual(['10.1.2.2', '10.1.2.3', '10.1.2.4', '10.1.2.5', '10.1.2.6']);
    expect(() => s.lease(a('f'))).toThrow(/no free address left in 10.1.2.0\/29/);
    s.release(a('c'));
    expect(s.lease(a('f'))).toBe('10.1.2.4');
  });

  it('gives a container its own address back, and refuses taken or impossible ones', () => {
    const s = store();
    expect(s.lease(a('a'), '10.1.2.5')).toBe('10.1.2.5');
    expect(s.lease(a('a'))).toBe('10.1.2.5');
    expect(() => s.lease(a('b'), '10.1.2.5')).toThrow('10.1.2.5 is in use by container a');
    expect(() => s.lease(a('b'), '10.1.2.1')).toThrow(/is the gateway/);
    expect(() => s.lease(a('b'), '10.1.2.0')).toThrow(/network address/);
    expect(() => s.lease(a('b'), '10.1.2.7')).toThrow(/broadcast address/);
    expect(() => s.lease(a('b'), '10.1.3.2')).toThrow(/outside the subnet 10.1.2.0\/29/);
    expect(s.release(a('zzz'))).toBeUndefined();
  });

  it('is one store for every state root: the same NAME in two roots gets two addresses, and each root gives back only its own', () => {
    const s = store();
    expect(s.lease(a('web'))).toBe('10.1.2.2');
    expect(s.lease(b('web'))).toBe('10.1.2.3');
    expect(new LeaseStore(netConfig({ bridge: 'tb', subnet: '10.1.2.0/29' }, {}), dir).lease(b('web'))).toBe('10.1.2.3');
    expect(s.read()).toEqual({
      '10.1.2.2': { name: 'web', tag: rootTag('/tmp/root-a'), root: '/tmp/root-a' },
      '10.1.2.3': { name: 'web', tag: rootTag('/tmp/root-b'), root: '/tmp/root-b' },
    });
    expect(() => s.lease(a('other'), '10.1.2.3')).toThrow('10.1.2.3 is in use by container web of state root /tmp/root-b');
    let left = -1;
    expect(
      s.release(b('web'), (n) => {
        left = n;
      })?.address,
    ).toBe('10.1.2.3');
    expect(left).toBe(1);
    expect(s.release(b('web'))).toBeUndefined();
    expect(s.holder(a('web'))?.address).toBe('10.1.2.2');
    expect(s.holder(b('web'))).toBeUndefined();
  });

  it('remembers that a container published ports, until its lease goes; the last lease takes the file along', () => {
    const s = store();
    s.lease(a('web'), undefined, { published: true });
    expect(s.lease(a('web'))).toBe('10.1.2.2');
    expect(s.holder(a('web'))?.published).toBe(true);
    let left = -1;
    s.release(a('web'), (n) => {
      left = n;
    });
    expect(left).toBe(0);
    expect(existsSync(s.file)).toBe(false);
    expect(s.lease(a('web'))).toBe('10.1.2.2');
    expect(s.holder(a('web'))?.published).toBeUndefined();
  });
});
