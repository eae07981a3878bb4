// Published ports: HOSTPORT on the host reaches PORT in the container, from other hosts
// (PREROUTING), from the host itself (OUTPUT), 127.0.0.1 included (the bridge has
// route_localnet, and the source is masqueraded so the reply comes back through it).
import { DiycError } from '@diyc/record';
import type { Rule } from './iptables.js';

export interface Publish {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

function port(text: string, what: string, spec: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new DiycError('usage', `--publish ${spec}: ${what} must be a port from 1 to 65535`);
  return n;
}

/** HOSTPORT:PORT[/tcp|udp] */
export function parsePublish(spec: string): Publish {
  const m = /^(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(spec);
  if (!m) throw new DiycError('usage', `--publish ${spec}: use HOSTPORT:PORT, optionally with /tcp or /udp`);
  return { hostPort: port(m[1] as string, 'the host port', spec), containerPort: port(m[2] as string, 'the container port', spec), protocol: (m[3] as 'tcp' | 'udp' | undefined) ?? 'tcp' };
}

export const formatPublish = (p: Publish): string => `${p.hostPort}:${p.containerPort}/${p.protocol}`;

export function publishRules(p: Publish, ip: string): Rule[] {
  const dnat = ['-p', p.protocol, '-m', 'addrtype', '--dst-type', 'LOCAL', '--dport', String(p.hostPort), '-j', 'DNAT', '--to-destination', `${ip}:${p.containerPort}`];
  return [
    { table: 'nat', chain: 'PREROUTING', spec: dnat },
    { table: 'nat', chain: 'OUTPUT', spec: dnat },
    { table: 'nat', chain: 'POSTROUTING', spec: ['-p', p.protocol, '-s', '127.0.0.0/8', '-d', ip, '--dport', String(p.containerPort), '-j', 'MASQUERADE'] },
  ];
}
