// Which bridge and subnet: flags, then DIYC_BRIDGE / DIYC_SUBNET, then diyC's own
// defaults (diyc0, 172.16.0.0/24 with the gateway at 172.16.0.1).
import { DiycError } from '@diyc/record';
import { formatIp, gatewayOf, parseSubnet, type Subnet } from './ipv4.js';

export const DEFAULT_BRIDGE = 'diyc0';
export const DEFAULT_SUBNET = '172.16.0.0/24';
/** IFNAMSIZ is 16 bytes with the NUL. */
export const IFNAMSIZ = 16;

export interface NetConfig {
  bridge: string;
  subnet: Subnet;
  gateway: number;
}

export function bridgeProblem(name: string): string | null {
  if (name.length === 0 || name.length >= IFNAMSIZ) return `bridge name '${name}' must be 1 to ${IFNAMSIZ - 1} characters`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return `bridge name '${name}' may hold only letters, digits, '_', '.' and '-'`;
  return null;
}

export function netConfig(
  options: { bridge?: string | undefined; subnet?: string | undefined } = {},
  env: NodeJS.ProcessEnv = process.env,
): NetConfig {
  const bridge = options.bridge ?? env.DIYC_BRIDGE ?? DEFAULT_BRIDGE;
  const problem = bridgeProblem(bridge);
  if (problem) throw new DiycError('usage', problem);
  const subnet = parseSubnet(options.subnet ?? env.DIYC_SUBNET ?? DEFAULT_SUBNET);
  return { bridge, subnet, gateway: gatewayOf(subnet) };
}

export const describeConfig = (c: NetConfig): string => `${c.bridge} (${formatIp(c.gateway)}/${c.subnet.prefix})`;
