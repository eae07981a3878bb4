// diyc-net setup | clean | status | attach NAME [--ip IP] [--publish [HOSTIP:]H:P]... | detach NAME
import { createTrace, defineCli, many, one } from '@diyc/cli';
import { ANNOTATION, checkName, DiycError, formatRecord, readRecordInput, stateRoot } from '@diyc/record';
import { detach } from './attach.js';
import { cleanNetwork, networkStatus, setupNetwork } from './bridge.js';
import { describeConfig, netConfig, type NetConfig } from './config.js';
import { formatPublish, parsePublish } from './publish.js';
import { netStage } from './stage.js';

const common = {
  bridge: { type: 'string', valueHint: 'NAME', description: 'the bridge (default $DIYC_BRIDGE or diyc0)' },
  subnet: {
    type: 'string',
    valueHint: 'CIDR',
    description: 'its subnet (default $DIYC_SUBNET or 172.16.0.0/24; the gateway is its first address)',
  },
} as const;

function configFrom(flags: Record<string, unknown>): NetConfig {
  return netConfig({ bridge: one(flags.bridge as string | undefined), subnet: one(flags.subnet as string | undefined) });
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new DiycError('missing', "diyc-net changes the machine's network: run it with sudo");
}

const setup = defineCli({
  meta: {
    name: 'setup',
    description:
      'Make the bridge with the gateway address, turn on IPv4 forwarding, add the FORWARD, MASQUERADE and INPUT rules, ignore IPv6 router advertisements on it (twice adds nothing)',
  },
  args: { ...common },
  main({ flags }) {
    requireRoot();
    const config = configFrom(flags);
    const r = setupNetwork(config);
    process.stdout.write(
      `${describeConfig(config)}: ${r.createdBridge ? 'bridge created' : 'bridge was there'}, ${r.rulesAdded} rule${r.rulesAdded === 1 ? '' : 's'} added\n`,
    );
  },
});

const clean = defineCli({
  meta: {
    name: 'clean',
    description:
      "Remove exactly what setup made: the rules tagged diyc:BRIDGE (and containers' published ports), the ports' filters (nft table diyc_BRIDGE), the leases, the bridge",
  },
  args: { ...common },
  main({ flags }) {
    requireRoot();
    const config = configFrom(flags);
    const r = cleanNetwork(config);
    process.stdout.write(
      `${config.bridge}: ${r.rulesRemoved} rule${r.rulesRemoved === 1 ? '' : 's'} removed${r.removedBridge ? ', bridge removed' : ''}\n`,
    );
  },
});

const status = defineCli({
  meta: { name: 'status', description: 'What exists and what is missing, with what to run' },
  args: { ...common, json: { type: 'boolean', description: 'print JSON' } },
  main({ flags }) {
    const items = networkStatus(configFrom(flags));
    if (flags.json === true) process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
    else
      for (const item of items)
        process.stdout.write(`${item.ok ? 'ok     ' : 'missing'}  ${item.what}${item.fix ? `  (run: ${item.fix})` : ''}\n`);
    return items.every((i) => i.ok) ? 0 : 1;
  },
});

const attachCommand = defineCli({
  meta: {
    name: 'attach',
    description:
      'Give a container a named network namespace with eth0 on the bridge (only its own MAC and address let through), an address and a default route; prints the record',
  },
  args: {
    name: { type: 'positional', description: 'the container' },
    ip: { type: 'string', valueHint: 'A.B.C.D', description: 'its address (default: the next free one)' },
    publish: {
      type: 'string',
      alias: 'p',
      valueHint: '[HOSTIP:]HOSTPORT:PORT[/tcp|udp]',
      description:
        'make HOSTPORT on the host (on HOSTIP only, if given) reach PORT in the container; ports or ranges (8080-8090:80-90); repeatable',
    },
    ...common,
  },
  async main({ flags, operands }) {
    requireRoot();
    const name = checkName(operands[0] as string, 'container name');
    const publish = many(flags.publish).map(parsePublish);
    const record = await readRecordInput();
    const ip = one(flags.ip);
    // The flags over what the record on stdin asks for.
    record.annotations[ANNOTATION.bridge] = configFrom(flags).bridge;
    if (ip !== undefined) record.annotations[ANNOTATION.ip] = ip;
    if (publish.length > 0) record.annotations[ANNOTATION.publish] = publish.map(formatPublish).join(',');
    const next = netStage.apply(record, { name, root: stateRoot(), trace: createTrace(false), warn: () => {} });
    const [address, gateway, netns] = [
      next.annotations[ANNOTATION.ip],
      next.annotations[ANNOTATION.gateway],
      next.annotations[ANNOTATION.netns],
    ];
    if (process.stdout.isTTY) process.stdout.write(`${name}: ${address} via ${gateway} in netns ${netns}\n`);
    else process.stdout.write(formatRecord(next));
  },
});

const detachCommand = defineCli({
  meta: { name: 'detach', description: "Remove a container's veth, network namespace, published ports and address lease (idempotent)" },
  args: { name: { type: 'positional', description: 'the container' }, ...common },
  main({ flags, operands }) {
    requireRoot();
    detach(configFrom(flags), checkName(operands[0] as string, 'container name'));
  },
});

export const netCommand = defineCli({
  meta: {
    name: 'diyc-net',
    description: "The containers' network: a bridge with NAT, a veth pair and network namespace per container, published ports",
  },
  subCommands: { setup, clean, status, attach: attachCommand, detach: detachCommand },
});
