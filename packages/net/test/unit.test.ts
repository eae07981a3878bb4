import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  findRules,
  formatIp,
  macOf,
  netConfig,
  netnsName,
  parseIp,
  parseSubnet,
  restoreBatch,
  roundsScript,
  runRounds,
  systemRunner,
  ruleComment,
  splitRuleLine,
  vethName,
  withIpv6Off,
} from '../src/index.js';

describe('addresses', () => {
  it('parses and formats IPv4 and subnets', () => {
    expect(formatIp(parseIp('172.16.0.1'))).toBe('172.16.0.1');
    expect(parseSubnet('172.16.0.77/24')).toEqual({ network: parseIp('172.16.0.0'), prefix: 24 });
    expect(() => parseIp('1.2.3')).toThrow(/not an IPv4 address/);
    expect(() => parseIp('1.2.3.256')).toThrow();
    expect(() => parseSubnet('10.0.0.0/31')).toThrow(/N from 8 to 30/);
  });

  it("takes the bridge and subnet from flags, then the environment, then diyC's defaults", () => {
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

  it("names a state root's kernel objects apart from another root's: netns, veth, rule comments", () => {
    // The default root keeps diyC's names (and the veth names diyc always gave it).
    expect(netnsName('web', '/var/lib/diyc')).toBe('diyc-web');
    expect(vethName('diyc0', 'web', '/var/lib/diyc')).toBe(`dv${createHash('sha256').update('diyc0\0web').digest('hex').slice(0, 11)}`);
    expect(netnsName('web', '/tmp/a')).toMatch(/^diyc-[0-9a-f]{8}-web$/);
    expect(netnsName('web', '/tmp/a')).not.toBe(netnsName('web', '/tmp/b'));
    expect(vethName('diyc0', 'web', '/tmp/a')).not.toBe(vethName('diyc0', 'web', '/tmp/b'));
    expect(vethName('diyc0', 'web', '/tmp/a')).not.toBe(vethName('diyc0', 'web', '/var/lib/diyc'));
    expect(ruleComment('diyc0', 'web')).toBe('diyc:diyc0:web');
    expect(ruleComment('diyc0', 'web', '0badcafe')).toBe('diyc:diyc0:0badcafe:web');
    expect(ruleComment('diyc0')).toBe('diyc:diyc0');
  });

  it("gives eth0 a MAC made of 02:42 and the address's bytes, as docker does", () => {
    expect(macOf('172.16.0.2')).toBe('02:42:ac:10:00:02');
    expect(macOf('10.231.255.254')).toBe('02:42:0a:e7:ff:fe');
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

  it('writes an iptables-restore batch, table by table, quoting what needs it', () => {
    expect(
      restoreBatch([
        { table: 'nat', line: ['-A', 'OUTPUT', '-p', 'tcp', '-m', 'comment', '--comment', 'diyc:b:web', '-j', 'DNAT'] },
        {
          table: 'filter',
          line: ['-I', 'INPUT', '1', '!', '--ctstate', 'RELATED,ESTABLISHED', '-m', 'comment', '--comment', 'a "b"', '-j', 'DROP'],
        },
        { table: 'nat', line: ['-D', 'POSTROUTING', '-s', '127.0.0.0/8', '-j', 'MASQUERADE'] },
      ]),
    ).toBe(
      [
        '*nat',
        '-A OUTPUT -p tcp -m comment --comment diyc:b:web -j DNAT',
        '-D POSTROUTING -s 127.0.0.0/8 -j MASQUERADE',
        'COMMIT',
        '*filter',
        '-I INPUT 1 ! --ctstate RELATED,ESTABLISHED -m comment --comment "a \\"b\\"" -j DROP',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });
});

describe("the net stage's sysctls", () => {
  it('turns IPv6 off in the container unless the record speaks of disable_ipv6 itself', () => {
    expect(withIpv6Off(undefined, true)).toEqual({ 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1' });
    expect(Object.keys(withIpv6Off({ 'net.ipv4.ip_unprivileged_port_start': '0' }, true) ?? {})).toEqual([
      'net.ipv6.conf.all.disable_ipv6',
      'net.ipv6.conf.default.disable_ipv6',
      'net.ipv4.ip_unprivileged_port_start',
    ]);
    expect(withIpv6Off({ 'net.ipv6.conf.all.disable_ipv6': '0' }, true)).toEqual({ 'net.ipv6.conf.all.disable_ipv6': '0' });
    expect(withIpv6Off({ 'net.ipv6.conf.eth0.disable_ipv6': '0' }, true)).toEqual({ 'net.ipv6.conf.eth0.disable_ipv6': '0' });
    expect(withIpv6Off(undefined, false)).toBeUndefined();
  });
});

describe('runRounds', () => {
  const echo = (text: string, status = 0) => ({ command: 'sh', args: ['-c', `cat >&2; exit ${status}`], input: text });

  it('runs a round at once, the rounds in turn, and stops after a round with a failure', () => {
    const started = performance.now();
    const results = systemRunner.runRounds?.([
      [
        { command: 'sleep', args: ['0.3'] },
        { command: 'sleep', args: ['0.3'] },
      ],
      [echo('a\nb\n'), echo('DIYC_INPUT_0 is not the line itself\n', 3)],
      [echo('never')],
    ]);
    // Two sleeps of 0.3 s at once: less than 0.6 s.
    expect(performance.now() - started).toBeLessThan(550);
    expect(results?.map((round) => round.map((r) => r.status))).toEqual([
      [0, 0],
      [0, 3],
    ]);
    expect(results?.[1]?.map((r) => r.stderr)).toEqual(['a\nb\n', 'DIYC_INPUT_0 is not the line itself\n']);
  });

  it('quotes every word: nothing is expanded by sh, and an input is given as it is', () => {
    const results = systemRunner.runRounds?.([
      [{ command: 'sh', args: ['-c', 'printf "%s|" "$@" >&2', 'sh', "it's", '$HOME', '`id`', '*'] }, echo("'$x'\n\n")],
    ]);
    expect(results?.[0]?.map((r) => r.stderr)).toEqual(["it's|$HOME|`id`|*|", "'$x'\n\n"]);
  });

  it('refuses an input that holds its own end line', () => {
    expect(() => roundsScript([[{ argv: ['/bin/cat'], input: 'a\nDIYC_INPUT_0\nb\n' }]])).toThrow(/DIYC_INPUT_0/);
  });

  it('runs one command at a time through a runner without runRounds, stopping after a failure', () => {
    const ran: string[] = [];
    const runner = {
      run(command: string, args: string[]) {
        ran.push(`${command} ${args.join(' ')}`);
        return { status: args[0] === 'fail' ? 1 : 0, stdout: '', stderr: '' };
      },
    };
    const results = runRounds(runner, [
      [
        { command: 'a', args: ['ok'] },
        { command: 'b', args: ['fail'] },
      ],
      [{ command: 'c', args: ['ok'] }],
    ]);
    expect(ran).toEqual(['a ok', 'b fail']);
    expect(results.map((round) => round.map((r) => r.status))).toEqual([[0, 1]]);
  });
});
