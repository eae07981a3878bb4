// A container's network: a named network namespace (`ip netns` style, a bind mount
// under /run/netns), a veth pair whose host end joins the bridge and whose other end
// is eth0 inside, lo up, a leased address and a default route via the gateway; the
// port's filter (nft.ts) in place before the port joins the bridge.
//
// Every kernel object it makes is named for the container AND its state root
// (rootTag, kernelName of @diyc/record): two roots may each run a container NAME on one
// bridge, and detaching one never touches the other's namespace, veth, rules or lease.
import { existsSync } from 'node:fs';
import { checkName, DiycError, kernelName, rootTag, sha256Hex, stateRoot } from '@diyc/record';
import { linkExists, requireBridge } from './bridge.js';
import type { NetConfig } from './config.js';
import { commandError, mustRun, runRounds, systemRunner, which, type Command, type CommandResult, type Runner } from './exec.js';
import { requireFreeHostPorts, requireHostAddress } from './host-ports.js';
import { addRules, findRules, removeRules, ruleComment } from './iptables.js';
import { formatIp, macOf } from './ipv4.js';
import { leaseOwner, LeaseStore, NET_RUN_DIR } from './leases.js';
import { attachRuleset, detachRuleset, isGone, nftBatch, portRuleset, requireNft } from './nft.js';
import { formatPublish, publishOfRule, publishOverlaps, publishRules, type Publish } from './publish.js';

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
  return `dv${sha256Hex(tag === '' ? `${bridge}\0${name}` : `${bridge}\0${tag}\0${name}`).slice(0, 11)}`;
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
      const port = { veth: host, mac, ip };
      const filter: Command = { command: 'nft', args: ['-f', '-'], input: portRuleset(config.bridge, port) };
      const create: Command = {
        command: 'ip',
        args: ['-batch', '-'],
        input: `${[`netns add ${ns}`, `link add ${host} type veth peer name eth0 address ${mac} netns ${ns}`].join('\n')}\n`,
      };
      const inside: Command = {
        command: 'ip',
        args: ['-n', ns, '-batch', '-'],
        input: `${['link set lo up', `addr add ${ip}/${config.subnet.prefix} dev eth0`, 'link set eth0 up', `route add default via ${gw}`].join('\n')}\n`,
      };
      const join: Command = { command: 'ip', args: ['link', 'set', host, 'master', config.bridge, 'up'] };
      // Two rounds, each of commands that do not wait on each other: the port's filter
      // and the veth; then the namespace's side and the host's. The port joins the bridge
      // only after its filter is in place: it never carries a frame unfiltered.
      const [first = [], second] = runRounds(runner, [
        [filter, create],
        [inside, join],
      ]);
      must(create, first[1]);
      let last = second;
      if (first[0]?.status !== 0) {
        // The bridge's table is missing (set up by an older diyc, or removed by hand): made
        // with the port's filter, in one transaction.
        nftBatch(runner, attachRuleset(config.bridge, port));
        last = runRounds(runner, [[inside, join]])[0];
      }
      must(inside, last?.[0]);
      must(join, last?.[1]);
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

/** Throws commandError unless `command` ran and exited 0. */
function must(command: Command, result: CommandResult | undefined): void {
  const what = `${command.command} ${command.args.join(' ')}`;
  if (result === undefined) throw new DiycError('system', `${what} did not run`);
  if (result.status !== 0) throw commandError(what, result);
}

/** The `ip` batch that deletes NAME's veth and namespace, those that exist; undefined when neither does. */
function clearCommand(config: NetConfig, name: string, root: string): Command | undefined {
  const host = vethName(config.bridge, name, root);
  const commands = [
    ...(linkExists(host) ? [`link del dev ${host}`] : []),
    ...(existsSync(netnsPath(name, root)) ? [`netns del ${netnsName(name, root)}`] : []),
  ];
  if (commands.length === 0) return undefined;
  // -force: on through a failed line (a veth its namespace took along), judged by checkCleared.
  return { command: 'ip', args: ['-force', '-batch', '-'], input: `${commands.join('\n')}\n` };
}

/** Throws unless the veth and the namespace are gone. */
function checkCleared(command: Command, result: CommandResult, config: NetConfig, name: string, root: string): void {
  if (result.status !== 0 && (existsSync(netnsPath(name, root)) || linkExists(vethName(config.bridge, name, root))))
    throw commandError(`ip -batch (${(command.input ?? '').trim().split('\n').join('; ')})`, result);
}

/** Deletes NAME's veth and namespace, those that exist, in one `ip` process. */
function clearLinks(runner: Runner, config: NetConfig, name: string, root: string): void {
  const command = clearCommand(config, name, root);
  if (command) checkCleared(command, runner.run(command.command, command.args, command.input), config, name, root);
}

/** Throws unless the port's filter is gone: removed now, or not there (ENOENT). */
function checkUnfiltered(command: Command, result: CommandResult): void {
  if (result.status !== 0 && !isGone(result.stderr)) throw commandError(`${command.command} ${command.args.join(' ')}`, result);
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
  const host = vethName(config.bridge, name, root);
  const links = clearCommand(config, name, root);
  const unfilter: Command | undefined = which('nft')
    ? { command: 'nft', args: ['-f', '-'], input: detachRuleset(config.bridge, host) }
    : undefined;
  // The veth and its filter go at the same time (each waits out an RCU grace period in the
  // kernel), so the port is first set down: the bridge disables a port that is down, and a
  // veth whose peer is down drops what the container sends. (A bridge port state set to
  // disabled, bridge(8), would not do: a container with CAP_NET_ADMIN that took its eth0
  // down and up again would have the bridge enable the port.)
  // In this process when the runner can (an ioctl), else by ip in a round of its own.
  const onBridge = links !== undefined && unfilter !== undefined && existsSync(`/sys/class/net/${host}/master`);
  const setDownHere = onBridge && runner.linkDown?.(host) === true;
  const both = [links, unfilter].filter((c): c is Command => c !== undefined);
  const rounds = onBridge && !setDownHere ? [[{ command: 'ip', args: ['link', 'set', 'dev', host, 'down'] }], both] : [both];
  const results = runRounds(runner, rounds);
  // Undefined when the port could not be set down: the second round did not run.
  const done = results[rounds.length - 1];
  const resultOf = (command: Command): CommandResult => done?.[both.indexOf(command)] as CommandResult;
  if (done === undefined)
    clearLinks(runner, config, name, root); // The port could not be set down: the veth goes first.
  else if (links) checkCleared(links, resultOf(links), config, name, root);
  // The veth and namespace gone, the address is free, whatever became of the filter: a
  // filter that could not be removed is said after.
  leases.release(owner);
  if (unfilter)
    checkUnfiltered(unfilter, done === undefined ? runner.run(unfilter.command, unfilter.args, unfilter.input) : resultOf(unfilter));
}
