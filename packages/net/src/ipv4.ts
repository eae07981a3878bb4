// IPv4 addresses and subnets as numbers.
import { DiycError } from '@diyc/record';

export interface Subnet {
  /** The network address, as a number. */
  network: number;
  prefix: number;
}

export function parseIp(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255))
    throw new DiycError('usage', `'${text}' is not an IPv4 address`);
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function parseSubnet(text: string): Subnet {
  const [ip, bits] = text.split('/');
  const prefix = Number(bits);
  if (ip === undefined || bits === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
    throw new DiycError('usage', `'${text}' is not a subnet: use A.B.C.D/N with N from 8 to 30 (172.16.0.0/24)`);
  }
  const size = 2 ** (32 - prefix);
  const addr = parseIp(ip);
  return { network: addr - (addr % size), prefix };
}

export const subnetSize = (s: Subnet): number => 2 ** (32 - s.prefix);
export const broadcastOf = (s: Subnet): number => s.network + subnetSize(s) - 1;
/** The gateway: the subnet's first host address, as diyC's 172.16.0.1. */
export const gatewayOf = (s: Subnet): number => s.network + 1;
export const formatSubnet = (s: Subnet): string => `${formatIp(s.network)}/${s.prefix}`;
export const contains = (s: Subnet, ip: number): boolean => ip >= s.network && ip <= broadcastOf(s);

/** True for 127.0.0.0/8, the host's loopback. */
export const isLoopback = (ip: number): boolean => Math.floor(ip / 2 ** 24) === 127;

/**
 * The MAC address of a container's eth0, fixed by its address as Docker makes it: 02:42
 * (a locally administered unicast prefix) and the four bytes of the IPv4 address. Known
 * before the container exists, so the bridge's filter can name it at attach.
 */
export function macOf(ip: string): string {
  const n = parseIp(ip);
  return ['02', '42', ...[24, 16, 8, 0].map((shift) => (Math.floor(n / 2 ** shift) % 256).toString(16).padStart(2, '0'))].join(':');
}
