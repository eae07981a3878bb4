import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  findRules, formatIp, LeaseStore, netConfig, parseIp, parsePublish, parseSubnet, publishRules, splitRuleLine, vethName,
} from '../src/index.js';

describe('addresses', () => {
  it('parses and formats IPv4 and subnets', () => {
    expect(formatIp(parseIp('172.16.0.1'))).toBe('172.16.0.1');
    expect(parseSubnet('172.16.0.77/24')).toEqual({ network: parseIp('172.16.0.0'), prefix: 24 });
    expect(() => parseIp('1.2.3')).toThrow(/not an IPv4 address/);
    expect(() => parseIp('1.2.3.256')).toThrow();
    expect(() => parseSubnet('10.0.0.0/31')).toThrow(/N from 8 to 30/);
  });

  it('takes the bridge and subnet from flags, then the environment, then diyC\'s defaults', () => {
    expect(formatIp(netConfig({}, {}).gateway)).toBe('172.16.0.1');
    expect(netConfig({}, {}).bridge).toBe('diyc0');
    expect(netConfig({}, { DIYC_BRIDGE: 'b1', DIYC_SUBNET: '10.9.0.0/16' }).bridge).toBe('b1');
    expect(netConfig({ bridge: 'b2' }, { DIYC_BRIDGE: 'b1' }).bridge).toBe('b2');
    expect(() => netConfig({ bridge: 'a-bridge-name-too-long' }, {})).toThrow(/1 to 15 characters/);
  });

  it('names host veth ends within IFNAMSIZ, distinct per bridge and name', () => {
    const a = vethName('diyc0', 'x'.repeat(32));
    expect(a.length).toBeLessThanOrEqual(15);
    expect(vethName('diyc0', 'a')).not.toBe(vethName('diyc0', 'b'));
    expect(vethName('diyc0', 'a')).not.toBe(vethName('other', 'a'));
  });
});

describe('published ports', () => {
  it('reads HOSTPORT:PORT[/proto]', () => {
    expect(parsePublish('8080:80')).toEqual({ hostPort: 8080, containerPort: 80, protocol: 'tcp' });
    expect(parsePublish('53:53/udp').protocol).toBe('udp');
    expect(() => parsePublish('80')).toThrow(/HOSTPORT:PORT/);
    expect(() => parsePublish('0:80')).toThrow(/1 to 65535/);
    expect(() => parsePublish('8080:70000')).toThrow(/container port/);
  });

  it('DNATs local addresses from outside and from the host, and masquerades loopback sources', () => {
    const rules = publishRules(parsePublish('8080:80'), '172.16.0.2');
    expect(rules.map((r) => `${r.table} ${r.chain}`)).toEqual(['nat PREROUTING', 'nat OUTPUT', 'nat POSTROUTING']);
    expect(rules[0]?.spec.join(' ')).toContain('--dport 8080 -j DNAT --to-destination 172.16.0.2:80');
    expect(rules[2]?.spec.join(' ')).toBe('-p tcp -s 127.0.0.0/8 -d 172.16.0.2 --dport 80 -j MASQUERADE');
  });
});

describe('iptables-save parsing', () => {
  const saved = [
    '*nat',
    ':POSTROUTING ACCEPT [0:0]',
    '-A POSTROUTING -s 172.16.0.0/24 ! -o diyc0 -m comment --comment "diyc:diyc0" -j MASQUERADE',
    '-A POSTROUTING -s 10.0.0.0/8 -m comment --comment "someone else" -j MASQUERADE',
    '-A OUTPUT -p tcp -m comment --comment "diyc:diyc0:web" -j DNAT --to-destination 172.16.0.2:80',
    '-A OUTPUT -p tcp -m comment --comment "diyc:diyc0x" -j ACCEPT',
    'COMMIT',
  ].join('\n');

  it('splits quoted words', () => {
    expect(splitRuleLine('-A X -m comment --comment "a b" -j Y')).toEqual(['-A', 'X', '-m', 'comment', '--comment', 'a b', '-j', 'Y']);
  });

  it('finds exactly the rules of a comment, and of its containers with a prefix', () => {
    expect(findRules(saved, 'diyc:diyc0').map((r) => r.words[1])).toEqual(['POSTROUTING']);
    expect(findRules(saved, 'diyc:diyc0', true).map((r) => r.words[1])).toEqual(['POSTROUTING', 'OUTPUT']);
    expect(findRules(saved, 'diyc:diyc0:web')).toHaveLength(1);
  });
});

describe('LeaseStore', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'diyc-lease-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const store = () => new LeaseStore(netConfig({ bridge: 'tb', subnet: '10.1.2.0/29' }, {}), root);

  it('gives the lowest free address, skipping network, gateway and broadcast', () => {
    const s = store();
    expect(['a', 'b', 'c', 'd', 'e'].map((n) => s.lease(n))).toEqual(['10.1.2.2', '10.1.2.3', '10.1.2.4', '10.1.2.5', '10.1.2.6']);
    expect(() => s.lease('f')).toThrow(/no free address left in 10.1.2.0\/29/);
    s.release('c');
    expect(s.lease('f')).toBe('10.1.2.4');
  });

  it('gives a container its own address back, and refuses taken or impossible ones', () => {
    const s = store();
    expect(s.lease('a', '10.1.2.5')).toBe('10.1.2.5');
    expect(s.lease('a')).toBe('10.1.2.5');
    expect(() => s.lease('b', '10.1.2.5')).toThrow('10.1.2.5 is in use by container a');
    expect(() => s.lease('b', '10.1.2.1')).toThrow(/is the gateway/);
    expect(() => s.lease('b', '10.1.2.0')).toThrow(/network address/);
    expect(() => s.lease('b', '10.1.2.7')).toThrow(/broadcast address/);
    expect(() => s.lease('b', '10.1.3.2')).toThrow(/outside the subnet 10.1.2.0\/29/);
    expect(s.release('zzz')).toBeUndefined();
  });
});
