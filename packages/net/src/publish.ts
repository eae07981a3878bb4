// Published ports: HOSTPORT on the host reaches PORT in the container, from other hosts
// (PREROUTING) and from the host itself (OUTPUT), 127.0.0.1 included (the bridge has
// route_localnet, and the source is masqueraded so the reply comes back through it).
// Published on one host address (HOSTIP:HOSTPORT:PORT), only that address is DNAT'd; on a
// loopback address, only the host's own connections are (OUTPUT): a packet to 127.0.0.1
// that came in from the network is not the host's to forward.
import { DiycError } from '@diyc/record';
import type { Rule } from './iptables.js';
import { formatIp, isLoopback, parseIp } from './ipv4.js';

export interface Publish {
  /** The host address the port is published on; absent: every address of the host. */
  hostIp?: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** A range: this many consecutive ports from hostPort and from containerPort (8080-8090:80-90 is 11); absent, 1. */
  count?: number;
}

const USAGE = 'use [HOSTIP:]HOSTPORT:PORT, each port or a range (8080-8090:80-90), optionally with /tcp or /udp';

function port(text: string, what: string, spec: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new DiycError('usage', `--publish ${spec}: ${what} must be a port from 1 to 65535`);
  return n;
}

/** FIRST or FIRST-LAST, as [first, count]. */
function portRange(text: string, what: string, spec: string): [number, number] {
  const [first, last] = text.split('-') as [string, string | undefined];
  const from = port(first, what, spec);
  if (last === undefined) return [from, 1];
  const to = port(last, what, spec);
  if (to < from) throw new DiycError('usage', `--publish ${spec}: ${what} range must go up (${to}-${from})`);
  return [from, to - from + 1];
}

/**
 * [HOSTIP:]HOSTPORT:PORT[/tcp|udp], each port or a range FIRST-LAST, as docker takes them:
 * `8080:80`, `127.0.0.1:8080:80`, `8080-8090:80-90/udp`. HOSTIP 0.0.0.0 is every address.
 */
export function parsePublish(spec: string): Publish {
  if (spec.startsWith('[') || (spec.split('/')[0] as string).split(':').length > 3) {
    throw new DiycError(
      'usage',
      `--publish ${spec}: an IPv6 host address cannot be published on (containers have IPv4 only): give an IPv4 one, or none`,
    );
  }
  const m = /^(?:([^:/]+):)?([^:/]+):([^:/]+)(?:\/([^:/]+))?$/.exec(spec);
  if (!m) throw new DiycError('usage', `--publish ${spec}: ${USAGE}`);
  const [, host, hostPorts, containerPorts, protocol] = m as unknown as [string, string | undefined, string, string, string | undefined];
  if (protocol !== undefined && protocol !== 'tcp' && protocol !== 'udp')
    throw new DiycError('usage', `--publish ${spec}: the protocol is tcp or udp, not ${protocol}`);
  let hostIp: string | undefined;
  if (host !== undefined) {
    let address: number;
    try {
      address = parseIp(host);
    } catch {
      throw new DiycError('usage', `--publish ${spec}: '${host}' is not an IPv4 address: ${USAGE}`);
    }
    if (address !== 0) hostIp = formatIp(address);
  }
  const [hostPort, hostCount] = portRange(hostPorts, 'the host port', spec);
  const [containerPort, count] = portRange(containerPorts, 'the container port', spec);
  if (hostCount !== count) {
    throw new DiycError(
      'usage',
      `--publish ${spec}: the host range has ${hostCount} port${hostCount === 1 ? '' : 's'} and the container's ${count}: give ranges of the same length`,
    );
  }
  if (hostPort + count - 1 > 65535 || containerPort + count - 1 > 65535)
    throw new DiycError('usage', `--publish ${spec}: a range ends past port 65535`);
  return {
    ...(hostIp !== undefined ? { hostIp } : {}),
    hostPort,
    containerPort,
    protocol: protocol ?? 'tcp',
    ...(count > 1 ? { count } : {}),
  };
}

const range = (first: number, count: number): string => (count > 1 ? `${first}-${first + count - 1}` : String(first));

export const formatPublish = (p: Publish): string =>
  `${p.hostIp !== undefined ? `${p.hostIp}:` : ''}${range(p.hostPort, p.count ?? 1)}:${range(p.containerPort, p.count ?? 1)}/${p.protocol}`;

/** A range as its single ports, in order. */
export function expandPublish(p: Publish): Publish[] {
  return Array.from({ length: p.count ?? 1 }, (_, i) => ({
    ...(p.hostIp !== undefined ? { hostIp: p.hostIp } : {}),
    hostPort: p.hostPort + i,
    containerPort: p.containerPort + i,
    protocol: p.protocol,
  }));
}

/** Do two publications catch the same packets (same protocol and port, and an address in common)? */
export function publishOverlaps(a: Publish, b: Publish): boolean {
  if (a.protocol !== b.protocol) return false;
  const [aFrom, aTo, bFrom, bTo] = [a.hostPort, a.hostPort + (a.count ?? 1) - 1, b.hostPort, b.hostPort + (b.count ?? 1) - 1];
  if (aTo < bFrom || bTo < aFrom) return false;
  return a.hostIp === undefined || b.hostIp === undefined || a.hostIp === b.hostIp;
}

/** The iptables rules that make `p` (each port of a range) reach `ip`. */
export function publishRules(p: Publish, ip: string): Rule[] {
  return expandPublish(p).flatMap((one) => {
    const to = ['-j', 'DNAT', '--to-destination', `${ip}:${one.containerPort}`];
    const match =
      one.hostIp === undefined
        ? ['-p', one.protocol, '-m', 'addrtype', '--dst-type', 'LOCAL', '--dport', String(one.hostPort)]
        : ['-p', one.protocol, '-d', `${one.hostIp}/32`, '--dport', String(one.hostPort)];
    const loopback = one.hostIp !== undefined && isLoopback(parseIp(one.hostIp));
    const rules: Rule[] = [];
    // A loopback address is the host's own: no packet from the network may be sent on.
    if (!loopback) rules.push({ table: 'nat', chain: 'PREROUTING', spec: [...match, ...to] });
    rules.push({ table: 'nat', chain: 'OUTPUT', spec: [...match, ...to] });
    // The host's connections to 127.0.0.1 leave with that source: masqueraded to the
    // gateway's address, so the container's reply comes back over the bridge.
    if (one.hostIp === undefined || loopback)
      rules.push({
        table: 'nat',
        chain: 'POSTROUTING',
        spec: ['-p', one.protocol, '-s', '127.0.0.0/8', '-d', `${ip}/32`, '--dport', String(one.containerPort), '-j', 'MASQUERADE'],
      });
    return rules;
  });
}

/**
 * What a container's published ports are, read back from its DNAT rules in iptables-save
 * words (`-d A.B.C.D/32` for one address, `--dst-type LOCAL` for all of them).
 */
export function publishOfRule(words: string[]): Publish | undefined {
  const at = (flag: string): string | undefined => {
    const i = words.indexOf(flag);
    return i >= 0 ? words[i + 1] : undefined;
  };
  const protocol = at('-p');
  const dport = Number(at('--dport'));
  const target = at('--to-destination');
  if (!words.includes('DNAT') || (protocol !== 'tcp' && protocol !== 'udp') || !Number.isInteger(dport) || target === undefined)
    return undefined;
  const dest = at('-d');
  return {
    ...(dest !== undefined ? { hostIp: dest.replace(/\/32$/, '') } : {}),
    hostPort: dport,
    containerPort: Number(target.split(':')[1]),
    protocol,
  };
}
