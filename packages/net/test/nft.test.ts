import { describe, expect, it } from 'vitest';
import {
  attachRuleset,
  detachRuleset,
  dropTableRuleset,
  isGone,
  macOf,
  nftTable,
  portChain,
  portRuleset,
  tableRuleset,
} from '../src/index.js';

describe("the bridge's port filter (nftables, bridge family)", () => {
  const port = { veth: 'dv0123456789a', mac: macOf('10.9.0.5'), ip: '10.9.0.5' };

  it('lets a port send only from its MAC, IPv4 from its address, ARP for both, and no router advertisement', () => {
    expect(attachRuleset('br-0.x', port)).toBe(
      [
        'add table bridge diyc_br-0.x',
        'add map bridge diyc_br-0.x ports { type ifname : verdict; }',
        'add chain bridge diyc_br-0.x prerouting { type filter hook prerouting priority filter; policy accept; }',
        'flush chain bridge diyc_br-0.x prerouting',
        'add rule bridge diyc_br-0.x prerouting iifname vmap @ports',
        'add chain bridge diyc_br-0.x port_dv0123456789a',
        'flush chain bridge diyc_br-0.x port_dv0123456789a',
        'add rule bridge diyc_br-0.x port_dv0123456789a ether saddr != 02:42:0a:09:00:05 drop',
        'add rule bridge diyc_br-0.x port_dv0123456789a ether type ip ip saddr 10.9.0.5 accept',
        'add rule bridge diyc_br-0.x port_dv0123456789a ether type arp arp htype 1 arp ptype ip arp hlen 6 arp plen 4 arp saddr ether 02:42:0a:09:00:05 arp saddr ip 10.9.0.5 accept',
        'add rule bridge diyc_br-0.x port_dv0123456789a ether type ip6 icmpv6 type { nd-router-advert, nd-redirect } drop',
        'add rule bridge diyc_br-0.x port_dv0123456789a ether type ip6 accept',
        'add rule bridge diyc_br-0.x port_dv0123456789a drop',
        'add element bridge diyc_br-0.x ports { "dv0123456789a" : jump port_dv0123456789a }',
        '',
      ].join('\n'),
    );
  });

  it("adds a port without touching the table's own objects: a batch that only adds", () => {
    const table = tableRuleset('br-0.x');
    expect(attachRuleset('br-0.x', port)).toBe(table + portRuleset('br-0.x', port));
    const lines = portRuleset('br-0.x', port).split('\n');
    expect(lines.filter((l) => l.startsWith('add ') || l === '' || l === 'flush chain bridge diyc_br-0.x port_dv0123456789a')).toEqual(
      lines,
    );
    // Without the table's map, it fails: the attach then makes the table with it.
    expect(lines.some((l) => /prerouting|add table|add map/.test(l))).toBe(false);
  });

  it('removes a port and never makes the table: missing, it fails as gone (ENOENT)', () => {
    expect(detachRuleset('b', 'dv0123456789a')).toBe(
      [
        'delete element bridge diyc_b ports { "dv0123456789a" }',
        'flush chain bridge diyc_b port_dv0123456789a',
        'delete chain bridge diyc_b port_dv0123456789a',
        '',
      ].join('\n'),
    );
    expect(isGone('Error: Could not process rule: No such file or directory\ndelete element ...')).toBe(true);
    expect(isGone('Error: Could not process rule: Device or resource busy')).toBe(false);
  });

  it('the table goes with clean, whether or not it is there', () => {
    expect(dropTableRuleset('b')).toBe('add table bridge diyc_b\ndelete table bridge diyc_b\n');
    expect([nftTable('diyc0'), portChain('dvabc')]).toEqual(['diyc_diyc0', 'port_dvabc']);
  });
});
