// The network stage of the pipeline: a container on the bridge gets a named network
// namespace with its veth, address and route, and the record joins it. The record says
// which bridge (org.diyc.net.bridge), and may ask for an address and published ports
// (org.diyc.net.ip, org.diyc.net.publish); the stage writes back what it got.
import { ANNOTATION, setNamespace, type ContainerRecord, type Stage, type StageContext } from '@diyc/record';
import { attach, detach } from './attach.js';
import { netConfig } from './config.js';
import { formatPublish, parsePublish } from './publish.js';

const publishOf = (record: ContainerRecord) => (record.annotations[ANNOTATION.publish] ?? '').split(',').filter(Boolean).map(parsePublish);

export const netStage: Stage = {
  name: 'net',
  applies: (record) => record.annotations[ANNOTATION.bridge] !== undefined,
  apply(record: ContainerRecord, ctx: StageContext): ContainerRecord {
    const config = netConfig({ bridge: record.annotations[ANNOTATION.bridge] });
    const ip = record.annotations[ANNOTATION.ip];
    const attachment = attach(config, ctx.name, { ...(ip !== undefined ? { ip } : {}), publish: publishOf(record), root: ctx.root });
    ctx.trace(`net: ${attachment.ip}/${attachment.prefix} on ${config.bridge}, netns ${attachment.netns}, host end ${attachment.hostInterface}`);
    const next = structuredClone(record);
    setNamespace(next, 'network', attachment.netnsPath);
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
