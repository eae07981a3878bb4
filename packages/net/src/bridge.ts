// The bridge and its rules: diyC's `make setup` and `make net-clean`.
//
//   setup: bridge BRIDGE with the gateway address, up; IPv4 forwarding on; iptables
//          FORWARD accepts to and from the bridge; MASQUERADE for the subnet leaving
//          by another interface; INPUT drops what the bridge sends to 127.0.0.0/8, and
//          mangle FORWARD what comes in that is neither a reply nor DNAT'd. IPv6
//          router advertisements are not taken from the bridge. Every rule carries the
//          comment diyc:BRIDGE.
//          The bridge's nftables table, where each container's port gets its filter.
//   clean: exactly the inverse, from what setup wrote down in /run/diyc/net/BRIDGE.setup.json,
//          and the bridge's nftables table (the containers' port filters).
//
// A bridge belongs to the machine, not to a state root: what setup found, the leases and
// the lock that keeps two setups (two containers starting at once) apart live in
// /run/diyc/net, which goes when the machine restarts, as the bridge and its rules do.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiycError, runDir, stateRoot, withLock } from '@diyc/record';
import type { NetConfig } from './config.js';
import { mustRun, systemRunner, which, type Runner } from './exec.js';
import { ensureRules, findRules, removeRules, ruleComment, ruleExists, tableIsEmpty, tablesIn, type Rule } from './iptables.js';
import { formatIp, formatSubnet } from './ipv4.js';
import { LeaseStore, NET_RUN_DIR } from './leases.js';
import { dropTableRuleset, nftBatch, tableRuleset } from './nft.js';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
const routeLocalnet = (bridge: string): string => `/proc/sys/net/ipv4/conf/${bridge}/route_localnet`;
const acceptRa = (bridge: string): string => `/proc/sys/net/ipv6/conf/${bridge}/accept_ra`;

/** What setup found and changed, so that clean undoes exactly that. */
interface SetupState {
  bridge: string;
  subnet: string;
  createdBridge: boolean;
  ipForwardBefore: string;
  tablesBefore: string[];
  /** The bridge's own settings, when it was there before setup (clean leaves it). */
  routeLocalnetBefore?: string;
  acceptRaBefore?: string;
}

export function bridgeRules(config: NetConfig): Rule[] {
  const { bridge, subnet } = config;
  return [
    { table: 'filter', chain: 'FORWARD', spec: ['-i', bridge, '-j', 'ACCEPT'], insert: true },
    { table: 'filter', chain: 'FORWARD', spec: ['-o', bridge, '-j', 'ACCEPT'], insert: true },
    { table: 'nat', chain: 'POSTROUTING', spec: ['-s', formatSubnet(subnet), '!', '-o', bridge, '-j', 'MASQUERADE'] },
    // route_localnet (below) lets the host's own connections to 127.0.0.1 be DNAT'd to a
    // container; it also lets a container send to 127.0.0.1 through the gateway's MAC,
    // which reached the host's loopback-only servers (CVE-2020-8558). Dropped here, as
    // kube-proxy drops it, unless the connection is one the host made (ESTABLISHED, the
    // replies to a published port's connections) or one diyc DNAT'd.
    {
      table: 'filter',
      chain: 'INPUT',
      spec: ['-i', bridge, '-d', '127.0.0.0/8', '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', '-j', 'DROP'],
      insert: true,
    },
    // Into the bridge, a connection is let in only if it is a reply or was DNAT'd to a
    // published port: not from a container of another bridge (Docker's ISOLATION chains),
    // nor from the LAN to a port nobody published (as Docker 28). The host's own
    // connections go out by OUTPUT, not FORWARD. In mangle, which the kernel walks before
    // filter: an ACCEPT another bridge's setup inserts at the top of filter's FORWARD later
    // cannot come before it.
    {
      table: 'mangle',
      chain: 'FORWARD',
      spec: ['!', '-i', bridge, '-o', bridge, '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', '-j', 'DROP'],
      insert: true,
    },
  ];
}

export interface NetOptions {
  runner?: Runner;
  /** The state root: where an older diyc kept its setup state. */
  root?: string;
  /** The machine-wide network state (default /run/diyc/net). */
  runDir?: string;
}

const stateFile = (config: NetConfig, dir: string): string => join(dir, `${config.bridge}.setup.json`);
/** Where diyc kept the setup state before it was machine-wide: read by clean, then removed. */
const oldStateFile = (config: NetConfig, root: string): string => join(runDir(root), 'net', `${config.bridge}.json`);

function readSetupState(file: string): SetupState | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SetupState) : undefined;
}

/**
 * Forwarding as the machine had it before diyc: what this bridge's clean may put back. When
 * another diyc bridge (still there) turned forwarding on, its record says; else it is what
 * it is now. Without this, with two bridges cleaned in the order they were made, the second
 * one's record said "1" (the first had turned it on) and forwarding stayed on.
 */
function forwardingBefore(dir: string, bridge: string): string {
  const now = readFileSync(IP_FORWARD, 'utf8').trim();
  if (now === '0') return now;
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    const other = name.endsWith('.setup.json') ? name.slice(0, -'.setup.json'.length) : undefined;
    if (other === undefined || other === bridge || !linkExists(other)) continue;
    if (readSetupState(join(dir, name))?.ipForwardBefore === '0') return '0';
  }
  return now;
}

/** Runs `fn` holding the bridge's setup lock: one setup or clean of a bridge at a time. */
function withSetupLock<T>(config: NetConfig, dir: string, fn: () => T): T {
  mkdirSync(dir, { recursive: true });
  return withLock(join(dir, `${config.bridge}.setup.lock`), fn, 60_000);
}

const readSetting = (file: string): string | undefined => (existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined);

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

/**
 * Makes the bridge, turns on forwarding, adds the rules. Running it twice adds nothing;
 * two processes running it at once take turns (a lock).
 */
export function setupNetwork(config: NetConfig, options: NetOptions = {}): SetupResult {
  const runner = options.runner ?? systemRunner;
  const dir = options.runDir ?? NET_RUN_DIR;
  return withSetupLock(config, dir, () => {
    const file = stateFile(config, dir);
    const created = !linkExists(config.bridge);
    // What the machine was like before the first setup: what clean restores.
    if (!readSetupState(file)) {
      const state: SetupState = {
        bridge: config.bridge,
        subnet: formatSubnet(config.subnet),
        createdBridge: created,
        ipForwardBefore: forwardingBefore(dir, config.bridge),
        tablesBefore: tablesIn(mustRun(runner, 'iptables-save', [])),
      };
      if (!created) {
        const [localnet, ra] = [readSetting(routeLocalnet(config.bridge)), readSetting(acceptRa(config.bridge))];
        if (localnet !== undefined) state.routeLocalnetBefore = localnet;
        if (ra !== undefined) state.acceptRaBefore = ra;
      }
      writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);
    }
    const commands: string[] = [];
    if (created) commands.push(`link add ${config.bridge} type bridge`);
    if (created || !bridgeHasAddress(runner, config))
      commands.push(`addr add ${formatIp(config.gateway)}/${config.subnet.prefix} dev ${config.bridge}`);
    commands.push(`link set ${config.bridge} up`);
    mustRun(runner, 'ip', ['-batch', '-'], `${commands.join('\n')}\n`);
    writeFileSync(IP_FORWARD, '1');
    // Lets DNAT to a container work for the host's connections to 127.0.0.1 (published
    // ports): their packets leave by the bridge with that source. The INPUT rule of
    // bridgeRules keeps the other direction shut.
    writeFileSync(routeLocalnet(config.bridge), '1');
    // IPv6 router advertisements from the bridge, that is from any container, would give
    // the host addresses and routes (CVE-2020-13401): not taken. (No IPv6 at all in the
    // kernel: nothing to refuse.)
    if (existsSync(acceptRa(config.bridge))) writeFileSync(acceptRa(config.bridge), '0');
    const rulesAdded = ensureRules(runner, bridgeRules(config), ruleComment(config.bridge));
    // The ports' filter table, once for the bridge: each attach then only adds its port.
    // (Without nft, attach says what to install.)
    if (which('nft')) nftBatch(runner, tableRuleset(config.bridge));
    return { createdBridge: created, rulesAdded };
  });
}

export interface EnsureResult extends SetupResult {
  /** Whether anything was made: the caller says so, once. */
  changed: boolean;
}

/**
 * What a container on the bridge needs before it attaches: the bridge set up. The bridge
 * there and set up by diyc (its state in /run/diyc/net) costs two stat(2) calls and no
 * process; otherwise it is `diyc-net setup`, under the same lock, so two containers that
 * start at once set it up once.
 */
export function ensureNetwork(config: NetConfig, options: NetOptions = {}): EnsureResult {
  if (linkExists(config.bridge) && existsSync(stateFile(config, options.runDir ?? NET_RUN_DIR)))
    return { createdBridge: false, rulesAdded: 0, changed: false };
  const result = setupNetwork(config, options);
  return { ...result, changed: result.createdBridge || result.rulesAdded > 0 };
}

export interface CleanResult {
  rulesRemoved: number;
  removedBridge: boolean;
}

/**
 * Removes what setup made: the rules tagged diyc:BRIDGE (containers' too, of every state
 * root), the port filters (nftables), the leases, the bridge.
 */
export function cleanNetwork(config: NetConfig, options: NetOptions = {}): CleanResult {
  const runner = options.runner ?? systemRunner;
  const dir = options.runDir ?? NET_RUN_DIR;
  const root = options.root ?? stateRoot();
  return withSetupLock(config, dir, () => {
    const file = stateFile(config, dir);
    const state = readSetupState(file) ?? readSetupState(oldStateFile(config, root));
    const rulesRemoved = removeRules(runner, ruleComment(config.bridge), true);
    if (which('nft')) nftBatch(runner, dropTableRuleset(config.bridge));
    let removedBridge = false;
    if (linkExists(config.bridge) && state?.createdBridge !== false) {
      mustRun(runner, 'ip', ['link', 'del', 'dev', config.bridge]);
      removedBridge = true;
    } else if (linkExists(config.bridge) && state) {
      // Not ours: its settings as they were.
      if (state.routeLocalnetBefore !== undefined) writeFileSync(routeLocalnet(config.bridge), state.routeLocalnetBefore);
      if (state.acceptRaBefore !== undefined && existsSync(acceptRa(config.bridge)))
        writeFileSync(acceptRa(config.bridge), state.acceptRaBefore);
    }
    if (state) {
      const saved = mustRun(runner, 'iptables-save', []);
      // Forwarding goes back off only when no other diyc bridge still has rules that need it.
      const othersNeedForwarding = findRules(saved, 'diyc', true).length > 0;
      if (state.ipForwardBefore === '0' && !othersNeedForwarding) writeFileSync(IP_FORWARD, '0');
      dropTablesWeMade(runner, state.tablesBefore, saved);
    }
    rmSync(file, { force: true });
    rmSync(oldStateFile(config, root), { force: true });
    rmSync(join(runDir(root), 'net', `${config.bridge}.leases.json`), { force: true });
    // The bridge is gone, and with it every address it gave, whichever root asked.
    new LeaseStore(config, dir).drop();
    return { rulesRemoved, removedBridge };
  });
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
  for (const [tool, pkg] of [
    ['ip', 'iproute2'],
    ['iptables', 'iptables'],
    ['nft', 'nftables'],
  ] as const) {
    const ok = which(tool) !== undefined;
    items.push({ ok, what: `${tool} installed`, ...(ok ? {} : { fix: `apt-get install ${pkg}` }) });
    if (!ok) return items;
  }
  const bridge = linkExists(config.bridge);
  items.push({ ok: bridge, what: `bridge ${config.bridge}`, ...(bridge ? {} : { fix: setup }) });
  if (bridge) {
    const addr = bridgeHasAddress(runner, config);
    items.push({
      ok: addr,
      what: `gateway ${formatIp(config.gateway)}/${config.subnet.prefix} on ${config.bridge}`,
      ...(addr ? {} : { fix: setup }),
    });
    const up = /state (UP|UNKNOWN)|<[^>]*\bUP\b/.test(runner.run('ip', ['link', 'show', 'dev', config.bridge]).stdout);
    items.push({ ok: up, what: `${config.bridge} up`, ...(up ? {} : { fix: setup }) });
  }
  if (bridge && existsSync(acceptRa(config.bridge))) {
    const ra = readSetting(acceptRa(config.bridge)) === '0';
    items.push({ ok: ra, what: `IPv6 router advertisements ignored on ${config.bridge} (accept_ra 0)`, ...(ra ? {} : { fix: setup }) });
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
