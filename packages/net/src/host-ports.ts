// Is a host port free to publish? A DNAT rule takes a port's traffic whether or not a
// program of the host listens on it: the program would go quiet, its clients would talk
// to the container. docker refuses, because its proxy binds the port; diyc reads the
// sockets the kernel lists for the host's network namespace (/proc/net/tcp, tcp6, udp,
// udp6: proc(5)), which is what a bind(2) would run into, without a process or a socket.
// Synchronous, as a stage is, and a few hundred microseconds.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DiycError } from '@diyc/record';
import { isLoopback, parseIp } from './ipv4.js';
import { expandPublish, type Publish } from './publish.js';

// node:os costs about 0.3 ms to load: only when a port is published.
const require = createRequire(import.meta.url);
const os = (): typeof import('node:os') => require('node:os') as typeof import('node:os');
const littleEndian = (): boolean => os().endianness() === 'LE';

export interface HostSocket {
  protocol: 'tcp' | 'udp';
  /** The local address: IPv4 dotted, or IPv6 text ('::' for every address). */
  address: string;
  port: number;
  inode: number;
}

/** A 32-bit word of /proc/net, printed in host byte order, as its four bytes in network order. */
function word(hex: string, little: boolean): number[] {
  const bytes = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  return little ? bytes.reverse() : bytes;
}

/** /proc/net's hex address (8 or 32 digits) as text. IPv4-mapped IPv6 reads as IPv4. */
export function procAddress(hex: string, little = littleEndian()): string {
  if (hex.length === 8) return word(hex, little).join('.');
  const bytes = [0, 8, 16, 24].flatMap((i) => word(hex.slice(i, i + 8), little));
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] as number) * 256 + (bytes[2 * i + 1] as number)).toString(16));
  const text = groups.join(':');
  // The longest run of zero groups as '::' is enough for the two this module compares ('::').
  return text === '0:0:0:0:0:0:0:0' ? '::' : text;
}

/**
 * The sockets of a /proc/net/{tcp,udp}[6] table that take new traffic: TCP ones in LISTEN
 * (state 0A), UDP ones bound and not connected (state 07, no remote port).
 */
export function listeningSockets(table: string, protocol: 'tcp' | 'udp', little = littleEndian()): HostSocket[] {
  const sockets: HostSocket[] = [];
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [local, remote, state, inode] = [f[1] as string, f[2] as string, f[3] as string, f[9] as string];
    const [address, port] = local.split(':') as [string, string];
    if (protocol === 'tcp' ? state !== '0A' : state !== '07' || !remote.endsWith(':0000')) continue;
    sockets.push({ protocol, address: procAddress(address, little), port: Number.parseInt(port, 16), inode: Number(inode) });
  }
  return sockets;
}

/** The host's listening sockets (in this process's network namespace). */
export function hostSockets(): HostSocket[] {
  const read = (file: string): string => {
    try {
      return readFileSync(`/proc/net/${file}`, 'utf8');
    } catch {
      return ''; // IPv6 off: no tcp6, udp6
    }
  };
  return [
    ...listeningSockets(read('tcp'), 'tcp'),
    ...listeningSockets(read('tcp6'), 'tcp'),
    ...listeningSockets(read('udp'), 'udp'),
    ...listeningSockets(read('udp6'), 'udp'),
  ];
}

/**
 * Would a host socket take packets that `p` DNATs away? An IPv4 publication catches its
 * port on one address or on all; a socket on 0.0.0.0 or :: (dual-stack, the default)
 * listens on every address.
 */
export function socketClashes(p: Publish, s: HostSocket): boolean {
  if (s.protocol !== p.protocol || s.port < p.hostPort || s.port >= p.hostPort + (p.count ?? 1)) return false;
  if (s.address === '0.0.0.0' || s.address === '::') return true;
  if (s.address.includes(':')) return false; // another IPv6 address: not what an IPv4 DNAT takes
  return p.hostIp === undefined || p.hostIp === s.address;
}

/** Which program holds socket `inode`: "NAME, pid N", or undefined. Read only for an error. */
function socketOwner(inode: number): string | undefined {
  const link = `socket:[${inode}]`;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== link) continue;
        return `${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}, pid ${pid}`;
      } catch {
        /* gone */
      }
    }
  }
  return undefined;
}

/** Throws the one-line error a user needs when a host program listens on a port of `publish`. */
export function requireFreeHostPorts(publish: Publish[], sockets: HostSocket[] = hostSockets()): void {
  for (const p of publish) {
    const taken = sockets.find((s) => socketClashes(p, s));
    if (!taken) continue;
    const one = expandPublish(p).find((q) => q.hostPort === taken.port) ?? p;
    const owner = taken.inode > 0 ? socketOwner(taken.inode) : undefined;
    const where = taken.address.includes(':') ? `[${taken.address}]:${taken.port}` : `${taken.address}:${taken.port}`;
    throw new DiycError(
      'exists',
      `host port ${one.hostPort}/${p.protocol} is already in use by another program (${owner ? `${owner}, ` : ''}listening on ${where}): stop it, or publish another port`,
    );
  }
}

/** Throws unless `ip` is an address of this host (all of 127.0.0.0/8 is). */
export function requireHostAddress(ip: string, spec: string): void {
  if (isLoopback(parseIp(ip))) return;
  const local = Object.values(os().networkInterfaces()).some((addresses) =>
    addresses?.some((a) => a.family === 'IPv4' && a.address === ip),
  );
  if (!local) throw new DiycError('invalid', `--publish ${spec}: ${ip} is not an address of this host`);
}
