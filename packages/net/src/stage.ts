// The network stage of the pipeline: a container on the bridge gets a named network
// namespace with its veth, address and route, and the record joins it. The record says
// which bridge (org.diyc.net.bridge), and may ask for an address and published ports
// (org.diyc.net.ip, org.diyc.net.publish); the stage writes back what it got.
//
// IPv6 stays off inside (disable_ipv6, as linux.sysctl entries the container's first
// process writes in its own namespace) unless the record sets those keys itself: diyc
// gives containers IPv4 only, and an interface without IPv6 takes no router advertisement
// from a neighbour that plays router (Docker's CVE-2020-13401 fix, for the containers).
import { existsSync } from 'node:fs';
import { ANNOTATION, setNamespace, stageCopy, type ContainerRecord, type Stage, type StageContext } from '@diyc/record';
import { attach, detach } from './attach.js';
import { netConfig } from './config.js';
import { formatPublish, parsePublish } from './publish.js';

/** What the stage adds to linux.sysctl, unless the record sets the key. */
export const IPV6_OFF: Readonly<Record<string, string>> = {
  'net.ipv6.conf.all.disable_ipv6': '1',
  'net.ipv6.conf.default.disable_ipv6': '1',
};

/**
 * A record's sysctls with IPv6 turned off, first (so that a later key of the record's own
 * wins), where the record says nothing of disable_ipv6 for any interface; a record that
 * does has asked for IPv6 its own way. A kernel without IPv6 has no such keys to write.
 */
export function withIpv6Off(
  sysctl: Record<string, string> | undefined,
  kernelHasIpv6 = existsSync('/proc/sys/net/ipv6/conf/all/disable_ipv6'),
): Record<string, string> | undefined {
  if (!kernelHasIpv6 || Object.keys(sysctl ?? {}).some((key) => /^net\.ipv6\.conf\.[^.]+\.disable_ipv6$/.test(key))) return sysctl;
  return { ...IPV6_OFF, ...sysctl };
}

const publishOf = (record: ContainerRecord) => (record.annotations[ANNOTATION.publish] ?? '').split(',').filter(Boolean).map(parsePublish);

export const netStage: Stage = {
  name: 'net',
  package: '@diyc/net',
  applies: (record) => record.annotations[ANNOTATION.bridge] !== undefined,
  apply(record: ContainerRecord, ctx: StageContext): ContainerRecord {
    const config = netConfig({ bridge: record.annotations[ANNOTATION.bridge] });
    const ip = record.annotations[ANNOTATION.ip];
    const attachment = attach(config, ctx.name, { ...(ip !== undefined ? { ip } : {}), publish: publishOf(record), root: ctx.root });
    ctx.trace(
      `net: ${attachment.ip}/${attachment.prefix} on ${config.bridge}, netns ${attachment.netns}, host end ${attachment.hostInterface}`,
    );
    const next = stageCopy(record);
    setNamespace(next, 'network', attachment.netnsPath);
    const sysctl = withIpv6Off(next.linux.sysctl);
    if (sysctl !== undefined) next.linux.sysctl = sysctl;
    next.annotations[ANNOTATION.ip] = attachment.ip;
    next.annotations[ANNOTATION.gateway] = attachment.gateway;
    next.annotations[ANNOTATION.netns] = attachment.netns;
    if (attachment.published.length > 0) next.annotations[ANNOTATION.publish] = attachment.published.join(',');
    return next;
  },
  undo(record: ContainerRecord, ctx: StageContext): void {
    const bridge = record.annotations[ANNOTATION.bridge];
    if (bridge !== undefined) detach(netConfig({ bridge }), ctx.name, { root: ctx.root });
  },
  command(record: ContainerRecord, ctx: Pick<StageContext, 'name'>) {
    const args = ['attach', ctx.name];
    const ip = record.annotations[ANNOTATION.ip];
    if (ip !== undefined) args.push('--ip', ip);
    for (const p of publishOf(record)) args.push('--publish', formatPublish(p));
    return { bin: 'diyc-net', args };
  },
};
