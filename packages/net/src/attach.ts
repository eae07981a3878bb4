// A container's network: a named network namespace (`ip netns` style, a bind mount
// under /run/netns), a veth pair whose host end joins the bridge and whose other end
// is eth0 inside, lo up, a leased address and a default route via the gateway.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { checkName, DiycError, stateRoot } from '@diyc/record';
import { linkExists, requireBridge } from './bridge.js';
import type { NetConfig } from './config.js';
import { commandError, mustRun, systemRunner, type Runner } from './exec.js';
import { ensureRules, findRules, removeRules, ruleComment } from './iptables.js';
import { formatIp } from './ipv4.js';
import { LeaseStore } from './leases.js';
import { formatPublish, publishRules, type Publish } from './publish.js';

// node:crypto costs about 3 ms to load: only when an interface is named.
const require = createRequire(import.meta.url);
const crypto = (): typeof import('node:crypto') => require('node:crypto') as typeof import('node:crypto');

export const netnsName = (name: string): string => `diyc-${name}`;
export const netnsPath = (name: string): string => `/run/netns/${netnsName(name)}`;

/**
 * The host end's name: unique per bridge and container, within IFNAMSIZ (15 chars):
 * "dv" and 11 hex digits of a hash, since a container name can be 32 characters.
 */
export function vethName(bridge: string, name: string): string {
  return `dv${crypto().createHash('sha256').update(`${bridge}\0${name}`).digest('hex').slice(0, 11)}`;
}

export interface Attachment {
  name: string;
  ip: string;
  gateway: string;
  prefix: number;
  netns: string;
  netnsPath: string;
  hostInterface: string;
  published: string[];
}

export interface AttachOptions {
  ip?: string;
  publish?: Publish[];
  runner?: Runner;
  root?: string;
}

function hostPortsInUse(runner: Runner, config: NetConfig, except: string): Set<string> {
  const saved = mustRun(runner, 'iptables-save', ['-t', 'nat']);
  const used = new Set<string>();
  for (const { words } of findRules(saved, 'diyc', true)) {
    const comment = words[words.indexOf('--comment') + 1];
    if (comment === ruleComment(config.bridge, except) || !words.includes('DNAT') || !words.includes('PREROUTING')) continue;
    const proto = words[words.indexOf('-p') + 1];
    const dport = words[words.indexOf('--dport') + 1];
    used.add(`${dport}/${proto}`);
  }
  return used;
}

/** Attaches NAME to the bridge. On failure, whatever it made is undone. */
export function attach(config: NetConfig, name: string, options: AttachOptions = {}): Attachment {
  checkName(name, 'container name');
  const runner = options.runner ?? systemRunner;
  const root = options.root ?? stateRoot();
  requireBridge(config);
  const publish = options.publish ?? [];
  // iptables is only asked when there are ports to publish: each call is a process.
  const inUse = publish.length > 0 ? hostPortsInUse(runner, config, name) : new Set<string>();
  for (const p of publish) {
    if (inUse.has(`${p.hostPort}/${p.protocol}`)) throw new DiycError('exists', `host port ${p.hostPort}/${p.protocol} is already published by another container`);
  }
  const leases = new LeaseStore(config, root);
  const ip = leases.lease(name, options.ip);
  const ns = netnsName(name);
  const host = vethName(config.bridge, name);
  const gw = formatIp(config.gateway);
  try {
    // The host end is enslaved to the bridge last: when it has a master, the attach
    // was whole, and attaching again changes nothing (the container may be running).
    // Anything less is what a killed attach left: cleared, and made again.
    if (!existsSync(`/sys/class/net/${host}/master`)) {
      clearLinks(runner, name, config);
      mustRun(runner, 'ip', ['-batch', '-'], [
        `netns add ${ns}`,
        `link add ${host} type veth peer name eth0 netns ${ns}`,
      ].join('\n') + '\n');
      mustRun(runner, 'ip', ['-n', ns, '-batch', '-'], [
        'link set lo up',
        `addr add ${ip}/${config.subnet.prefix} dev eth0`,
        'link set eth0 up',
        `route add default via ${gw}`,
      ].join('\n') + '\n');
      mustRun(runner, 'ip', ['link', 'set', host, 'master', config.bridge, 'up']);
    }
    if (publish.length > 0) {
      // Rules of an earlier run of NAME that was killed are replaced, not doubled.
      const comment = ruleComment(config.bridge, name);
      removeRules(runner, comment);
      ensureRules(runner, publish.flatMap((p) => publishRules(p, ip)), comment);
    }
  } catch (err) {
    detach(config, name, { runner, root });
    throw err;
  }
  return { name, ip, gateway: gw, prefix: config.subnet.prefix, netns: ns, netnsPath: netnsPath(name), hostInterface: host, published: publish.map(formatPublish) };
}

function clearLinks(runner: Runner, name: string, config: NetConfig): void {
  const host = vethName(config.bridge, name);
  if (linkExists(host)) runner.run('ip', ['link', 'del', 'dev', host]);
  if (existsSync(netnsPath(name))) {
    const r = runner.run('ip', ['netns', 'del', netnsName(name)]);
    if (r.status !== 0 && existsSync(netnsPath(name))) throw commandError(`ip netns del ${netnsName(name)}`, r);
  }
}

/** Removes NAME's veth, namespace, published ports and lease. Idempotent. */
export function detach(config: NetConfig, name: string, options: { runner?: Runner; root?: string } = {}): void {
  checkName(name, 'container name');
  const runner = options.runner ?? systemRunner;
  removeRules(runner, ruleComment(config.bridge, name));
  clearLinks(runner, name, config);
  new LeaseStore(config, options.root ?? stateRoot()).release(name);
}
