import { describe, expect, it } from 'vitest';
import { expandPublish, formatPublish, parsePublish, publishOfRule, publishOverlaps, publishRules, splitRuleLine } from '../src/index.js';

describe('parsePublish', () => {
  it('reads HOSTPORT:PORT[/proto]', () => {
    expect(parsePublish('8080:80')).toEqual({ hostPort: 8080, containerPort: 80, protocol: 'tcp' });
    expect(parsePublish('53:53/udp').protocol).toBe('udp');
    expect(() => parsePublish('80')).toThrow(/\[HOSTIP:\]HOSTPORT:PORT/);
    expect(() => parsePublish('0:80')).toThrow(/the host port must be a port from 1 to 65535/);
    expect(() => parsePublish('8080:70000')).toThrow(/container port/);
    expect(() => parsePublish('8080:80/sctp')).toThrow(/tcp or udp, not sctp/);
  });

  it('reads a host address: HOSTIP:HOSTPORT:PORT; 0.0.0.0 is every address', () => {
    expect(parsePublish('127.0.0.1:8080:80')).toEqual({ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' });
    expect(parsePublish('192.0.2.7:53:53/udp')).toEqual({ hostIp: '192.0.2.7', hostPort: 53, containerPort: 53, protocol: 'udp' });
    expect(parsePublish('0.0.0.0:8080:80')).toEqual({ hostPort: 8080, containerPort: 80, protocol: 'tcp' });
    expect(() => parsePublish('localhost:8080:80')).toThrow(/'localhost' is not an IPv4 address/);
    expect(() => parsePublish('[::1]:8080:80')).toThrow(/IPv6 host address/);
    expect(() => parsePublish('::1:8080:80')).toThrow(/IPv6 host address/);
  });

  it('reads port ranges of the same length, as docker does', () => {
    expect(parsePublish('8080-8090:80-90')).toEqual({ hostPort: 8080, containerPort: 80, protocol: 'tcp', count: 11 });
    expect(parsePublish('127.0.0.1:5000-5001:6000-6001/udp')).toEqual({
      hostIp: '127.0.0.1',
      hostPort: 5000,
      containerPort: 6000,
      protocol: 'udp',
      count: 2,
    });
    expect(parsePublish('8080-8080:80')).toEqual({ hostPort: 8080, containerPort: 80, protocol: 'tcp' });
    expect(() => parsePublish('8080-8090:80-85')).toThrow(
      "--publish 8080-8090:80-85: the host range has 11 ports and the container's 6: give ranges of the same length",
    );
    expect(() => parsePublish('8080-8090:80')).toThrow(/same length/);
    expect(() => parsePublish('8090-8080:90-80')).toThrow(/range must go up \(8080-8090\)/);
    expect(() => parsePublish('65535-65535:1-1')).not.toThrow();
  });

  it('formats what it parsed back to the same text (the record carries it)', () => {
    for (const spec of ['8080:80/tcp', '53:53/udp', '127.0.0.1:8080:80/tcp', '8080-8090:80-90/tcp', '10.0.0.1:5000-5001:6000-6001/udp']) {
      expect(formatPublish(parsePublish(spec))).toBe(spec);
    }
    expect(formatPublish(parsePublish('0.0.0.0:8080:80'))).toBe('8080:80/tcp');
  });

  it('expands a range into its ports', () => {
    expect(expandPublish(parsePublish('127.0.0.1:8080-8082:80-82')).map(formatPublish)).toEqual([
      '127.0.0.1:8080:80/tcp',
      '127.0.0.1:8081:81/tcp',
      '127.0.0.1:8082:82/tcp',
    ]);
  });
});

describe('publishRules', () => {
  const text = (spec: string) => publishRules(parsePublish(spec), '172.16.0.2').map((r) => `${r.table} ${r.chain} ${r.spec.join(' ')}`);

  it('on every address: DNATs local addresses from outside and from the host, and masquerades loopback sources', () => {
    expect(text('8080:80')).toEqual([
      'nat PREROUTING -p tcp -m addrtype --dst-type LOCAL --dport 8080 -j DNAT --to-destination 172.16.0.2:80',
      'nat OUTPUT -p tcp -m addrtype --dst-type LOCAL --dport 8080 -j DNAT --to-destination 172.16.0.2:80',
      'nat POSTROUTING -p tcp -s 127.0.0.0/8 -d 172.16.0.2/32 --dport 80 -j MASQUERADE',
    ]);
  });

  it("on 127.0.0.1: the host's own connections only (OUTPUT), never a packet that came in (PREROUTING)", () => {
    expect(text('127.0.0.1:8080:80/udp')).toEqual([
      'nat OUTPUT -p udp -d 127.0.0.1/32 --dport 8080 -j DNAT --to-destination 172.16.0.2:80',
      'nat POSTROUTING -p udp -s 127.0.0.0/8 -d 172.16.0.2/32 --dport 80 -j MASQUERADE',
    ]);
  });

  it('on another host address: that address only, from outside and from the host', () => {
    expect(text('192.0.2.7:8080:80')).toEqual([
      'nat PREROUTING -p tcp -d 192.0.2.7/32 --dport 8080 -j DNAT --to-destination 172.16.0.2:80',
      'nat OUTPUT -p tcp -d 192.0.2.7/32 --dport 8080 -j DNAT --to-destination 172.16.0.2:80',
    ]);
  });

  it('a range: the rules of each port', () => {
    const rules = text('8080-8081:80-81');
    expect(rules).toHaveLength(6);
    expect(rules[3]).toBe('nat PREROUTING -p tcp -m addrtype --dst-type LOCAL --dport 8081 -j DNAT --to-destination 172.16.0.2:81');
  });

  it('reads a publication back from its rule, as iptables-save prints it', () => {
    const all = splitRuleLine(
      '-A PREROUTING -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 8080 -m comment --comment "diyc:b:web" -j DNAT --to-destination 172.16.0.2:80',
    );
    expect(publishOfRule(all)).toEqual({ hostPort: 8080, containerPort: 80, protocol: 'tcp' });
    const one = splitRuleLine(
      '-A OUTPUT -d 127.0.0.1/32 -p udp -m udp --dport 53 -m comment --comment "diyc:b:dns" -j DNAT --to-destination 172.16.0.3:53',
    );
    expect(publishOfRule(one)).toEqual({ hostIp: '127.0.0.1', hostPort: 53, containerPort: 53, protocol: 'udp' });
    expect(
      publishOfRule(splitRuleLine('-A POSTROUTING -s 127.0.0.0/8 -d 172.16.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE')),
    ).toBeUndefined();
  });

  it('tells which publications catch the same packets', () => {
    const p = parsePublish;
    expect(publishOverlaps(p('8080:80'), p('8080:81'))).toBe(true);
    expect(publishOverlaps(p('8080:80'), p('127.0.0.1:8080:80'))).toBe(true);
    expect(publishOverlaps(p('127.0.0.1:8080:80'), p('192.0.2.7:8080:80'))).toBe(false);
    expect(publishOverlaps(p('8080:80'), p('8080:80/udp'))).toBe(false);
    expect(publishOverlaps(p('8080-8090:80-90'), p('8090:80'))).toBe(true);
    expect(publishOverlaps(p('8080-8090:80-90'), p('8091:80'))).toBe(false);
  });
});
