// A container's network: a named network namespace (`ip netns` style, a bind mount
// under /run/netns), a veth pair whose host end joins the bridge and whose other end
// is eth0 inside, lo up, a leased address and a default route via the gateway; the
// port's filter (nft.ts) in place before the port joins the bridge.
//
// Every kernel object it makes is named for the container AND its state root
// (rootTag, kernelName of @diyc/record): two roots may each run a container NAME on one
// bridge, and detaching one never touches the other's namespace, veth, rules or lease.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { checkName, DiycError, kernelName, rootTag, stateRoot } from '@diyc/record';
import { linkExists, requireBridge } from './bridge.js';
import type { NetConfig } from './config.js';
import { commandError, mustRun, systemRunner, which, type Runner } from './exec.js';
import { requireFreeHostPorts, requireHostAddress } from './host-ports.js';
import { addRules, findRules, removeRules, ruleComment } from './iptables.js';
import { formatIp, macOf } from './ipv4.js';
import { leaseOwner, LeaseStore, NET_RUN_DIR } from './leases.js';
import { attachRuleset, detachRuleset, nftBatch, requireNft } from './nft.js';
import { formatPublish, publishOfRule, publishOverlaps, publishRules, type Publish } from './publish.js';

// node:crypto costs about 3 ms to load: only when an interface is named.
const require = createRequire(import.meta.url);
const crypto = (): typeof import('node:crypto') => require('node:crypto') as typeof import('node:crypto');

/** The namespace's name under /run/netns: `diyc-NAME`, `diyc-TAG-NAME` for another root. */
export const netnsName = (name: string, root: string = stateRoot()): string => kernelName(name, root);
export const netnsPath = (name: string, root: string = stateRoot()): string => `/run/netns/${netnsName(name, root)}`;

/**
 * The host end's name: unique per bridge, state root and container, within IFNAMSIZ (15
 * chars): "dv" and 11 hex digits of a hash, since a container name can be 32 characters.
 * (The default root's names are hashed as they always were.)
 */
export function vethName(bridge: string, name: string, root: string = stateRoot()): string {
  const tag = rootTag(root);
  return `dv${crypto()
    .createHash('sha256')
    .update(tag === '' ? `${bridge}\0${name}` : `${bridge}\0${tag}\0${name}`)
    .digest('hex')
    .slice(0, 11)}`;
}

export interface Attachment {
  name: string;
  ip: string;
  gateway: string;
  prefix: number;
  /** eth0's MAC: macOf(ip), the only one its port lets through. */
  mac: string;
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
  /** The machine-wide network state (default /run/diyc/net): leases. */
  runDir?: string;
}

/** Refuses a port that another diyc container (of any root) publishes, or a host program listens on. */
function checkHostPorts(publish: Publish[], savedNat: string, ownComment: string): void {
  const others = findRules(savedNat, 'diyc', true)
    .filter(({ words }) => words[words.indexOf('--comment') + 1] !== ownComment)
    .map(({ words }) => publishOfRule(words))
    .filter((p): p is Publish => p !== undefined);
  for (const p of publish) {
    const taken = others.find((o) => publishOverlaps(p, o));
    if (taken) {
      const port = Math.max(p.hostPort, taken.hostPort);
      throw new DiycError(
        'exists',
        `host port ${port}/${p.protocol} is already published by another container${taken.hostIp ? ` (on ${taken.hostIp})` : ''}`,
      );
    }
  }
  requireFreeHostPorts(publish);
}

/** Attaches NAME to the bridge. On failure, whatever it made is undone. */
export function attach(config: NetConfig, name: string, options: AttachOptions = {}): Attachment {
  checkName(name, 'container name');
  const runner = options.runner ?? systemRunner;
  const root = options.root ?? stateRoot();
  const tag = rootTag(root);
  requireBridge(config);
  requireNft(config);
  const publish = options.publish ?? [];
  const comment = ruleComment(config.bridge, name, tag);
  // iptables is only asked when there are ports to publish: each call is a process.
  let savedNat: string | undefined;
  if (publish.length > 0) {
    for (const p of publish) if (p.hostIp !== undefined) requireHostAddress(p.hostIp, formatPublish(p));
    savedNat = mustRun(runner, 'iptables-save', ['-t', 'nat']);
    checkHostPorts(publish, savedNat, comment);
  }
  const leases = new LeaseStore(config, options.runDir ?? NET_RUN_DIR);
  const ip = leases.lease(leaseOwner(name, root), options.ip, { published: publish.length > 0 });
  const ns = netnsName(name, root);
  const host = vethName(config.bridge, name, root);
  const gw = formatIp(config.gateway);
  const mac = macOf(ip);
  try {
    // The host end is enslaved to the bridge last: when it has a master, the attach
    // was whole, and attaching again changes nothing (the container may be running).
    // Anything less is what a killed attach left: cleared, and made again.
    if (!existsSync(`/sys/class/net/${host}/master`)) {
      clearLinks(runner, config, name, root);
      // The port's filter first: the port never carries a frame unfiltered.
      nftBatch(runner, attachRuleset(config.bridge, { veth: host, mac, ip }));
      mustRun(
        runner,
        'ip',
        ['-batch', '-'],
        `${[`netns add ${ns}`, `link add ${host} type veth peer name eth0 address ${mac} netns ${ns}`].join('\n')}\n`,
      );
      mustRun(
        runner,
        'ip',
        ['-n', ns, '-batch', '-'],
        `${['link set lo up', `addr add ${ip}/${config.subnet.prefix} dev eth0`, 'link set eth0 up', `route add default via ${gw}`].join(
          '\n',
        )}\n`,
      );
      mustRun(runner, 'ip', ['link', 'set', host, 'master', config.bridge, 'up']);
    }
    if (publish.length > 0) {
      // Rules of an earlier run of NAME that was killed are replaced, not doubled.
      removeRules(runner, comment, false, savedNat);
      addRules(
        runner,
        publish.flatMap((p) => publishRules(p, ip)),
        comment,
      );
    }
  } catch (err) {
    detach(config, name, { runner, root, ...(options.runDir ? { runDir: options.runDir } : {}) });
    throw err;
  }
  return {
    name,
    ip,
    gateway: gw,
    prefix: config.subnet.prefix,
    mac,
    netns: ns,
    netnsPath: netnsPath(name, root),
    hostInterface: host,
    published: publish.map(formatPublish),
  };
}

/** Deletes NAME's veth and namespace, those that exist, in one `ip` process. */
function clearLinks(runner: Runner, config: NetConfig, name: string, root: string): void {
  const host = vethName(config.bridge, name, root);
  const ns = netnsName(name, root);
  const commands = [
    ...(linkExists(host) ? [`link del dev ${host}`] : []),
    ...(existsSync(netnsPath(name, root)) ? [`netns del ${ns}`] : []),
  ];
  if (commands.length === 0) return;
  // -force: on through a failed line (a veth its namespace took along), judged below.
  const r = runner.run('ip', ['-force', '-batch', '-'], `${commands.join('\n')}\n`);
  if (r.status !== 0 && (existsSync(netnsPath(name, root)) || linkExists(host)))
    throw commandError(`ip -batch (${commands.join('; ')})`, r);
}

/**
 * Removes NAME's veth, namespace, port filter, published ports and lease: NAME of this
 * state root only. Idempotent.
 */
export function detach(config: NetConfig, name: string, options: { runner?: Runner; root?: string; runDir?: string } = {}): void {
  checkName(name, 'container name');
  const runner = options.runner ?? systemRunner;
  const root = options.root ?? stateRoot();
  const owner = leaseOwner(name, root);
  const leases = new LeaseStore(config, options.runDir ?? NET_RUN_DIR);
  // Its lease says whether it published ports; without one (detached already, or an
  // attach killed early), the rules are looked for anyway.
  const held = leases.holder(owner);
  if (held === undefined || held.published === true)
    removeRules(runner, ruleComment(config.bridge, name, rootTag(root)), false, mustRun(runner, 'iptables-save', ['-t', 'nat']));
  clearLinks(runner, config, name, root);
  const host = vethName(config.bridge, name, root);
  // Under the leases' lock: with the bridge's last lease, its table goes, and no attach
  // can add a port to it in between.
  leases.release(owner, (left) => {
    if (which('nft')) nftBatch(runner, detachRuleset(config.bridge, host, left === 0));
  });
}
