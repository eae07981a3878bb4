// Each container's veth accepts only what its container may send: frames from its own MAC,
// IPv4 from its own address, ARP that speaks for that MAC and address, and no IPv6 router
// advertisement or redirect. Anything else is dropped before the bridge sees it, so a
// container can neither move the host's or another container's neighbour entry to its
// MAC (ARP spoofing), nor send as another container's address (IP spoofing), nor teach
// the bridge's forwarding table a MAC that is not its own.
//
// An nftables table of the bridge family (nft(8), "ADDRESS FAMILIES: bridge"), diyc's own,
// one per bridge: `diyc_BRIDGE`. Its base chain is on the bridge's prerouting hook, which
// every frame a port receives goes through, whether the bridge then delivers it to the
// host or forwards it to another port. A verdict map sends each port's frames to its own
// chain; attach adds a port (chain and element) in one `nft -f -` batch, detach removes
// it. The table, its map and its base chain are made once, by `diyc-net setup` (or by the
// attach that finds them missing), and go with `diyc-net clean`: a batch that only adds is
// quick, where one that rewrites the base chain, or removes anything, waits out an RCU
// grace period (10-20 ms) before nft can exit.
import { DiycError } from '@diyc/record';
import type { NetConfig } from './config.js';
import { mustRun, which, type Runner } from './exec.js';

/** The bridge's table: `diyc_BRIDGE` (nft names take letters, digits, '_', '.', '-'). */
export const nftTable = (bridge: string): string => `diyc_${bridge}`;
/** A port's chain, named for its host veth. */
export const portChain = (veth: string): string => `port_${veth}`;

export interface Port {
  /** The host end of the veth: the bridge port. */
  veth: string;
  /** The container's eth0 MAC (macOf its address). */
  mac: string;
  ip: string;
}

/** The batch that makes the table, its prerouting chain and its map of ports, or leaves them as they are. */
export function tableRuleset(bridge: string): string {
  const t = `bridge ${nftTable(bridge)}`;
  return [
    `add table ${t}`,
    `add map ${t} ports { type ifname : verdict; }`,
    // priority filter (-200), as bridge filtering is; the chain holds one rule, written
    // again by each batch (flush, add) so that running it twice does not double it.
    `add chain ${t} prerouting { type filter hook prerouting priority filter; policy accept; }`,
    `flush chain ${t} prerouting`,
    `add rule ${t} prerouting iifname vmap @ports`,
    '',
  ].join('\n');
}

/**
 * The batch that filters `port` (replacing whatever an earlier attach left for it), in
 * the bridge's table: it fails, and adds nothing, when the table or its map is missing.
 */
export function portRuleset(bridge: string, port: Port): string {
  const t = `bridge ${nftTable(bridge)}`;
  const c = portChain(port.veth);
  return [
    `add chain ${t} ${c}`,
    `flush chain ${t} ${c}`,
    `add rule ${t} ${c} ether saddr != ${port.mac} drop`,
    `add rule ${t} ${c} ether type ip ip saddr ${port.ip} accept`,
    `add rule ${t} ${c} ether type arp arp htype 1 arp ptype ip arp hlen 6 arp plen 4 arp saddr ether ${port.mac} arp saddr ip ${port.ip} accept`,
    // IPv6 is off in a container unless it asks; one that asks still cannot be a router.
    `add rule ${t} ${c} ether type ip6 icmpv6 type { nd-router-advert, nd-redirect } drop`,
    `add rule ${t} ${c} ether type ip6 accept`,
    // Anything else (an IPv4 or ARP frame that failed the checks above, a VLAN tag that
    // would carry one past them, another protocol): dropped.
    `add rule ${t} ${c} drop`,
    `add element ${t} ports { "${port.veth}" : jump ${c} }`,
    '',
  ].join('\n');
}

/** The table (made if missing) and the filter of `port`: one transaction. */
export const attachRuleset = (bridge: string, port: Port): string => tableRuleset(bridge) + portRuleset(bridge, port);

/**
 * The batch that removes `veth`'s filter. It never makes the table (a table without its
 * base chain would let the next port through unfiltered), so it fails when the filter is
 * not there: isGone() tells that failure from another.
 */
export function detachRuleset(bridge: string, veth: string): string {
  const t = `bridge ${nftTable(bridge)}`;
  const c = portChain(veth);
  return [`delete element ${t} ports { "${veth}" }`, `flush chain ${t} ${c}`, `delete chain ${t} ${c}`, ''].join('\n');
}

/** Whether nft failed because what it was to delete is not there (ENOENT). */
export const isGone = (stderr: string): boolean => /No such file or directory/.test(stderr);

/** The batch that removes the bridge's table, whether or not it is there. */
export const dropTableRuleset = (bridge: string): string =>
  `add table bridge ${nftTable(bridge)}\ndelete table bridge ${nftTable(bridge)}\n`;

/** Runs one batch: one `nft` process, one transaction (all of it or nothing). */
export function nftBatch(runner: Runner, batch: string): void {
  mustRun(runner, 'nft', ['-f', '-'], batch);
}

/** Throws the one-line error a user needs when nft is missing: checked before anything is made. */
export function requireNft(config: NetConfig): void {
  if (!which('nft'))
    throw new DiycError(
      'missing',
      `nft is not installed: install it with \`apt-get install nftables\` (diyc filters each container's port on ${config.bridge} with it)`,
    );
}
