// The bridge and its rules: diyC's `make setup` and `make net-clean`.
//
//   setup: bridge BRIDGE with the gateway address, up; IPv4 forwarding on; iptables
//          FORWARD accepts to and from the bridge; MASQUERADE for the subnet leaving
//          by another interface. Every rule carries the comment diyc:BRIDGE.
//   clean: exactly the inverse, from what setup wrote down in run/net/BRIDGE.json.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiycError, runDir, stateRoot } from '@diyc/record';
import type { NetConfig } from './config.js';
import { mustRun, systemRunner, which, type Runner } from './exec.js';
import { ensureRules, findRules, removeRules, ruleComment, ruleExists, tableIsEmpty, tablesIn, type Rule } from './iptables.js';
import { formatIp, formatSubnet } from './ipv4.js';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/** What setup found and changed, so that clean undoes exactly that. */
interface SetupState {
  bridge: string;
  subnet: string;
  createdBridge: boolean;
  ipForwardBefore: string;
  tablesBefore: string[];
}

export function bridgeRules(config: NetConfig): Rule[] {
  const { bridge, subnet } = config;
  return [
    { table: 'filter', chain: 'FORWARD', spec: ['-i', bridge, '-j', 'ACCEPT'], insert: true },
    { table: 'filter', chain: 'FORWARD', spec: ['-o', bridge, '-j', 'ACCEPT'], insert: true },
    { table: 'nat', chain: 'POSTROUTING', spec: ['-s', formatSubnet(subnet), '!', '-o', bridge, '-j', 'MASQUERADE'] },
  ];
}

export interface NetOptions {
  runner?: Runner;
  root?: string;
}

const stateFile = (config: NetConfig, root: string): string => join(runDir(root), 'net', `${config.bridge}.json`);

function readSetupState(file: string): SetupState | undefined {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as SetupState : undefined;
}

/**
 * Whether an interface exists in this process's network namespace: sysfs lists them
 * under /sys/class/net, which spares an `ip link show` process per question.
 */
export function linkExists(name: string): boolean {
  return existsSync(join('/sys/class/net', name));
}

function bridgeHasAddress(runner: Runner, config: NetConfig): boolean {
  const out = runner.run('ip', ['-o', '-4', 'addr', 'show', 'dev', config.bridge]).stdout;
  return out.includes(` ${formatIp(config.gateway)}/${config.subnet.prefix} `);
}

export interface SetupResult {
  createdBridge: boolean;
  rulesAdded: number;
}

/** Makes the bridge, turns on forwarding, adds the rules. Running it twice adds nothing. */
export function setupNetwork(config: NetConfig, options: NetOptions = {}): SetupResult {
  const runner = options.runner ?? systemRunner;
  const root = options.root ?? stateRoot();
  const file = stateFile(config, root);
  const created = !linkExists(config.bridge);
  // What the machine was like before the first setup: what clean restores.
  if (!readSetupState(file)) {
    const state: SetupState = {
      bridge: config.bridge,
      subnet: formatSubnet(config.subnet),
      createdBridge: created,
      ipForwardBefore: readFileSync(IP_FORWARD, 'utf8').trim(),
      tablesBefore: tablesIn(mustRun(runner, 'iptables-save', [])),
    };
    mkdirSync(join(runDir(root), 'net'), { recursive: true });
    writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);
  }
  const commands: string[] = [];
  if (created) commands.push(`link add ${config.bridge} type bridge`);
  if (created || !bridgeHasAddress(runner, config)) commands.push(`addr add ${formatIp(config.gateway)}/${config.subnet.prefix} dev ${config.bridge}`);
  commands.push(`link set ${config.bridge} up`);
  mustRun(runner, 'ip', ['-batch', '-'], `${commands.join('\n')}\n`);
  writeFileSync(IP_FORWARD, '1');
  // Lets DNAT to a container work for connections to 127.0.0.1 (published ports).
  writeFileSync(`/proc/sys/net/ipv4/conf/${config.bridge}/route_localnet`, '1');
  const rulesAdded = ensureRules(runner, bridgeRules(config), ruleComment(config.bridge));
  return { createdBridge: created, rulesAdded };
}

export interface CleanResult {
  rulesRemoved: number;
  removedBridge: boolean;
}

/** Removes what setup made: the rules tagged diyc:BRIDGE (containers' too), the bridge. */
export function cleanNetwork(config: NetConfig, options: NetOptions = {}): CleanResult {
  const runner = options.runner ?? systemRunner;
  const root = options.root ?? stateRoot();
  const file = stateFile(config, root);
  const state = readSetupState(file);
  const rulesRemoved = removeRules(runner, ruleComment(config.bridge), true);
  let removedBridge = false;
  if (linkExists(config.bridge) && state?.createdBridge !== false) {
    mustRun(runner, 'ip', ['link', 'del', 'dev', config.bridge]);
    removedBridge = true;
  }
  if (state) {
    const saved = mustRun(runner, 'iptables-save', []);
    // Forwarding goes back off only when no other diyc bridge (of any state root)
    // still has rules that need it.
    const othersNeedForwarding = findRules(saved, 'diyc', true).length > 0;
    if (state.ipForwardBefore === '0' && !othersNeedForwarding) writeFileSync(IP_FORWARD, '0');
    dropTablesWeMade(runner, state.tablesBefore, saved);
  }
  rmSync(file, { force: true });
  rmSync(join(runDir(root), 'net', `${config.bridge}.leases.json`), { force: true });
  return { rulesRemoved, removedBridge };
}

/**
 * With iptables' nf_tables backend, adding a rule creates its table, and deleting the
 * rule leaves the table behind, empty. A table that did not exist before setup and is
 * empty now is removed with nft, so iptables-save reads as it did before.
 */
function dropTablesWeMade(runner: Runner, before: string[], saved: string): void {
  if (!which('nft') || !/nf_tables/.test(runner.run('iptables', ['--version']).stdout)) return;
  for (const table of tablesIn(saved)) {
    if (before.includes(table) || !tableIsEmpty(saved, table)) continue;
    runner.run('nft', ['delete', 'table', 'ip', table]);
  }
}

export interface StatusItem {
  ok: boolean;
  what: string;
  fix?: string;
}

/** What exists and what is missing, each with what to run. */
export function networkStatus(config: NetConfig, options: NetOptions = {}): StatusItem[] {
  const runner = options.runner ?? systemRunner;
  const items: StatusItem[] = [];
  const setup = `sudo diyc-net setup${config.bridge === 'diyc0' ? '' : ` --bridge ${config.bridge} --subnet ${formatSubnet(config.subnet)}`}`;
  for (const tool of ['ip', 'iptables']) {
    const ok = which(tool) !== undefined;
    items.push({ ok, what: `${tool} installed`, ...(ok ? {} : { fix: `apt-get install ${tool === 'ip' ? 'iproute2' : 'iptables'}` }) });
    if (!ok) return items;
  }
  const bridge = linkExists(config.bridge);
  items.push({ ok: bridge, what: `bridge ${config.bridge}`, ...(bridge ? {} : { fix: setup }) });
  if (bridge) {
    const addr = bridgeHasAddress(runner, config);
    items.push({ ok: addr, what: `gateway ${formatIp(config.gateway)}/${config.subnet.prefix} on ${config.bridge}`, ...(addr ? {} : { fix: setup }) });
    const up = /state (UP|UNKNOWN)|<[^>]*\bUP\b/.test(runner.run('ip', ['link', 'show', 'dev', config.bridge]).stdout);
    items.push({ ok: up, what: `${config.bridge} up`, ...(up ? {} : { fix: setup }) });
  }
  const forward = readFileSync(IP_FORWARD, 'utf8').trim() === '1';
  items.push({ ok: forward, what: 'IPv4 forwarding', ...(forward ? {} : { fix: setup }) });
  for (const rule of bridgeRules(config)) {
    const ok = ruleExists(runner, rule, ruleComment(config.bridge));
    items.push({ ok, what: `iptables -t ${rule.table} ${rule.chain} ${rule.spec.join(' ')}`, ...(ok ? {} : { fix: setup }) });
  }
  return items;
}

/** Throws the one-line error a user needs when the bridge is missing. */
export function requireBridge(config: NetConfig): void {
  if (!linkExists(config.bridge)) {
    const flags = config.bridge === 'diyc0' ? '' : ` --bridge ${config.bridge} --subnet ${formatSubnet(config.subnet)}`;
    throw new DiycError('missing', `bridge ${config.bridge} does not exist: run \`sudo diyc-net setup${flags}\` first`);
  }
}
