// diyc network ls, inspect: the three networks a container can join, as docker names them.
// `bridge` is diyc's bridge (diyc0, or DIYC_BRIDGE: the one `--network bridge` joins),
// `host` the host's own stack, `none` a namespace with only loopback. diyc makes no other
// networks (`network create` is docker's, not diyc's): each has a fixed ID, so that a
// script that keeps one finds it again.
import { existsSync } from 'node:fs';
import { defineCli, many, one, writeErr, writeOut } from '@diyc/cli';
import { formatIp, formatSubnet, netConfig, sha256Hex } from '@diyc/net';
import { DiycError, stateRoot } from '@diyc/record';
import { anyOf, nameMatches, parseFilters } from '../filters.js';
import { formatList, printInspected, type Columns } from '../output.js';
import { allViews } from './common.js';

interface Network {
  Name: 'bridge' | 'host' | 'none';
  Id: string;
  Driver: 'bridge' | 'host' | 'null';
  Scope: 'local';
  /** The Linux bridge, for `bridge`. */
  Interface?: string;
  Subnet?: string;
  Gateway?: string;
}

/** The networks, their IDs a hash of their name and the bridge's (the same on every call). */
export function networks(env: NodeJS.ProcessEnv = process.env): Network[] {
  const config = netConfig({}, env);
  const id = (name: string): string => sha256Hex(`diyc network ${name} ${config.bridge}`);
  return [
    {
      Name: 'bridge',
      Id: id('bridge'),
      Driver: 'bridge',
      Scope: 'local',
      Interface: config.bridge,
      Subnet: formatSubnet(config.subnet),
      Gateway: formatIp(config.gateway),
    },
    { Name: 'host', Id: id('host'), Driver: 'host', Scope: 'local' },
    { Name: 'none', Id: id('none'), Driver: 'null', Scope: 'local' },
  ];
}

const COLUMNS: Columns<Network> = {
  headers: { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE' },
  fields: ['ID', 'Name', 'Driver', 'Scope'],
  cell: (n, field) => String(row(n)[field] ?? ''),
};

function row(n: Network): Record<string, unknown> {
  return { ID: n.Id.slice(0, 12), Name: n.Name, Driver: n.Driver, Scope: n.Scope, IPv6: 'false', Internal: 'false', Labels: '' };
}

/** docker's network inspect shape: IPAM with the subnet, Options with the bridge's name, the containers on it. */
function inspectNetwork(n: Network): object {
  const root = stateRoot();
  const containers = Object.fromEntries(
    allViews(root)
      .filter((v) => (v.status === 'running' || v.status === 'paused') && (v.state.net ?? 'bridge') === n.Name)
      .map((v) => [v.id, { Name: v.name, IPv4Address: v.state.ip !== undefined ? `${v.state.ip}/${n.Subnet?.split('/')[1] ?? ''}` : '' }]),
  );
  return {
    Name: n.Name,
    Id: n.Id,
    Scope: n.Scope,
    Driver: n.Driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: n.Subnet ? [{ Subnet: n.Subnet, Gateway: n.Gateway }] : [] },
    Internal: false,
    Attachable: false,
    Containers: containers,
    Options: n.Interface
      ? { 'com.docker.network.bridge.name': n.Interface, 'diyc.bridge.up': String(existsSync(`/sys/class/net/${n.Interface}`)) }
      : {},
    Labels: {},
  };
}

function findNetwork(text: string): Network | undefined {
  return networks().find((n) => n.Name === text || (text.length > 0 && n.Id.startsWith(text)));
}

const lsCommand = defineCli({
  meta: { name: 'ls', description: 'List the networks: bridge (diyc0, or DIYC_BRIDGE), host and none' },
  args: {
    quiet: { type: 'boolean', alias: 'q', description: 'print only the IDs' },
    filter: { type: 'string', alias: 'f', valueHint: 'KEY=VALUE', description: 'name=, id=, driver= (repeatable)' },
    format: { type: 'string', valueHint: 'FORMAT', description: "table (the default), json, or a Go template: '{{.Name}}'" },
    'no-trunc': { type: 'boolean', description: 'the whole ID' },
  },
  main({ flags }) {
    const filters = parseFilters(many(flags.filter), ['name', 'id', 'driver']);
    const rows = networks().filter(
      (n) =>
        anyOf(filters, 'name', (f) => nameMatches(n.Name, f)) &&
        anyOf(filters, 'id', (f) => n.Id.startsWith(f)) &&
        anyOf(filters, 'driver', (f) => f === n.Driver),
    );
    const full = flags['no-trunc'] === true;
    if (flags.quiet === true) writeOut(rows.map((n) => `${full ? n.Id : n.Id.slice(0, 12)}\n`).join(''));
    else
      writeOut(
        formatList(rows, one(flags.format), full ? { ...COLUMNS, cell: (n, f) => (f === 'ID' ? n.Id : COLUMNS.cell(n, f)) } : COLUMNS, row),
      );
    return 0;
  },
});

const inspectCommand = defineCli({
  meta: { name: 'inspect', description: "Show networks as docker's JSON (a list), or --format TEMPLATE for each" },
  manyOperands: true,
  args: {
    format: { type: 'string', alias: 'f', valueHint: 'FORMAT', description: 'a Go template for each' },
    networks: { type: 'positional', description: 'bridge, host, none, or an ID' },
  },
  main({ flags, operands }) {
    if (operands.length === 0) throw new DiycError('usage', '"diyc network inspect" requires at least 1 argument: NETWORK [NETWORK...]');
    const found: object[] = [];
    let failed = false;
    for (const text of operands) {
      const n = findNetwork(text);
      if (n) found.push(inspectNetwork(n));
      else {
        failed = true;
        writeErr(`Error: No such network: ${text}\n`);
      }
    }
    printInspected(found, one(flags.format));
    return failed ? 1 : 0;
  },
});

export const networkCommand = defineCli({
  meta: { name: 'network', description: 'The networks a container joins: bridge, host and none (diyc makes no others)' },
  subCommands: { ls: lsCommand, inspect: inspectCommand },
});
