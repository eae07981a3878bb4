// diyc-net on a bridge and subnet of the test's own, removed afterwards whatever
// happens. Traffic stays on this machine: between the host and namespaces made here.
// (No -T for busybox wget: Debian's static busybox crashes with it; spawnSync's timeout
// bounds the wait instead.)
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attach, detach, ensureNetwork, NET_RUN_DIR, netConfig, netnsName, netnsPath, systemRunner, type Runner } from '@diyc/net';
import { isRoot, rootReason, runBin, tempDir, testNetwork } from './helpers.js';

const snapshot = () => ({
  links: execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(':')[1]?.trim())
    .filter((l): l is string => Boolean(l))
    .sort(),
  // Rules and chains, without the comment lines that carry dates and counters.
  iptables: execFileSync('iptables-save', { encoding: 'utf8' })
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/, ''))
    .join('\n'),
  netns: existsSync('/run/netns') ? readdirSync('/run/netns').sort() : [],
});
const nftTables = () => execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).split('\n');

describe.skipIf(!isRoot)(`diyc-net (${rootReason})`, () => {
  const { bridge, subnet, prefix } = testNetwork('n');
  const work = tempDir('diyc-net-e2e-');
  const env = { ...process.env, DIYC_ROOT: work.path, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet };
  const net = (...args: string[]) => runBin('diyc-net', args, { env });
  const inNs = (name: string, ...cmd: string[]) =>
    spawnSync('ip', ['netns', 'exec', netnsName(name, work.path), ...cmd], { encoding: 'utf8', timeout: 10_000 });
  const before = snapshot();
  const servers: ChildProcess[] = [];
  const names = new Set<string>();

  afterAll(async () => {
    for (const s of servers) s.kill('SIGKILL');
    for (const name of names) await net('detach', name);
    await net('clean');
    work.remove();
  });

  it('setup twice, then clean, leaves ip link and iptables-save as they were', async () => {
    const first = await net('setup');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('bridge created, 5 rules added');
    const rules = execFileSync('iptables-save', { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(`"diyc:${bridge}"`));
    expect(rules).toHaveLength(5);
    expect(readFileSync(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, 'utf8')).toBe('1\n');
    expect(readFileSync(`/proc/sys/net/ipv6/conf/${bridge}/accept_ra`, 'utf8')).toBe('0\n');
    expect((await net('setup')).stdout).toContain('bridge was there, 0 rules added');
    expect(
      execFileSync('iptables-save', { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(`"diyc:${bridge}"`)),
    ).toEqual(rules);
    expect((await net('status')).code).toBe(0);
    expect((await net('clean')).code).toBe(0);
    expect((await net('clean')).code).toBe(0);
    expect(snapshot()).toEqual(before);
    expect(existsSync(join(NET_RUN_DIR, `${bridge}.setup.json`))).toBe(false);
    const status = await net('status');
    expect(status.code).toBe(1);
    expect(status.stdout).toContain(`missing  bridge ${bridge}  (run: sudo diyc-net setup --bridge ${bridge} --subnet ${subnet})`);
  });

  // Forwarding was off before diyc (off now, or a diyc bridge still up says so: CI's quick
  // start leaves diyc0 up during the tests).
  const offBeforeDiyc = (): boolean =>
    readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8') === '0\n' ||
    (existsSync(NET_RUN_DIR) ? readdirSync(NET_RUN_DIR) : [])
      .filter((f) => f.endsWith('.setup.json') && existsSync(`/sys/class/net/${f.slice(0, -'.setup.json'.length)}`))
      .some((f) => JSON.parse(readFileSync(join(NET_RUN_DIR, f), 'utf8')).ipForwardBefore === '0');
  it.skipIf(!offBeforeDiyc())(
    'two bridges set up, then cleaned in the order they were made, leave forwarding as it was before diyc',
    async () => {
      const forwarding = () => readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
      const was = forwarding();
      const other = testNetwork('n2');
      const otherNet = (...args: string[]) =>
        runBin('diyc-net', args, { env: { ...env, DIYC_BRIDGE: other.bridge, DIYC_SUBNET: other.subnet } });
      try {
        expect((await net('setup')).code).toBe(0);
        expect((await otherNet('setup')).code).toBe(0);
        expect(forwarding()).toBe('1\n');
        // The second bridge's record: forwarding as the machine had it, not as the first left it.
        const record = JSON.parse(readFileSync(join(NET_RUN_DIR, `${other.bridge}.setup.json`), 'utf8'));
        expect(record.ipForwardBefore).toBe('0');
        expect((await net('clean')).code).toBe(0);
        // The other bridge still forwards.
        expect(forwarding()).toBe('1\n');
        expect((await otherNet('clean')).code).toBe(0);
        expect(forwarding()).toBe(was);
      } finally {
        await otherNet('clean');
      }
    },
  );

  it('setup from five processes at once makes the bridge once; ensureNetwork sets it up, then costs no process', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => net('setup')));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(results.filter((r) => r.stdout.includes('bridge created, 5 rules added'))).toHaveLength(1);
    expect(
      execFileSync('iptables-save', { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(`"diyc:${bridge}"`)),
    ).toHaveLength(5);
    const commands: string[] = [];
    const runner: Runner = {
      run: (command, args, input) => {
        commands.push(command);
        return systemRunner.run(command, args, input);
      },
    };
    const config = netConfig({ bridge, subnet });
    expect(ensureNetwork(config, { runner })).toEqual({ createdBridge: false, rulesAdded: 0, changed: false });
    expect(commands).toEqual([]);
    expect((await net('clean')).code).toBe(0);
    expect(ensureNetwork(config, { runner })).toEqual({ createdBridge: true, rulesAdded: 5, changed: true });
    expect((await net('status')).code).toBe(0);
    expect((await net('clean')).code).toBe(0);
    expect(snapshot()).toEqual(before);
  });

  it('says to run setup when attaching without a bridge', async () => {
    const r = await net('attach', 'nobridge');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `diyc-net attach: bridge ${bridge} does not exist: run \`sudo diyc-net setup --bridge ${bridge} --subnet ${subnet}\` first`,
    );
  });

  it('connects two namespaces with fixed addresses to each other, the gateway and the host; a published port reaches one from 127.0.0.1', async () => {
    expect((await net('setup')).code).toBe(0);
    for (const [name, ip, extra] of [
      ['web', `${prefix}.10`, ['-p', '18080:80']],
      ['client', `${prefix}.11`, []],
    ] as const) {
      names.add(name);
      const r = await net('attach', name, '--ip', ip, ...extra);
      expect(r.code, r.stderr).toBe(0);
      const record = JSON.parse(r.stdout);
      expect(record.linux.namespaces).toContainEqual({ type: 'network', path: netnsPath(name, work.path) });
      expect(record.annotations['org.diyc.net.ip']).toBe(ip);
      expect(record.linux.sysctl).toEqual({ 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1' });
    }
    expect(inNs('client', 'busybox', 'ping', '-c1', '-W2', `${prefix}.10`).stdout).toContain(' 0% packet loss');
    expect(inNs('web', 'busybox', 'ping', '-c1', '-W2', `${prefix}.1`).stdout).toContain(' 0% packet loss');
    expect(inNs('web', 'ip', '-o', 'route').stdout).toContain(`default via ${prefix}.1 dev eth0`);
    const www = join(work.path, 'www');
    execFileSync('mkdir', ['-p', www]);
    writeFileSync(join(www, 'index.html'), 'served from a namespace\n');
    const server = spawn('ip', ['netns', 'exec', netnsName('web', work.path), 'busybox', 'httpd', '-f', '-p', '80', '-h', www], {
      stdio: 'ignore',
    });
    servers.push(server);
    const get = (url: string) => spawnSync('busybox', ['wget', '-q', '-O', '-', url], { encoding: 'utf8', timeout: 5000 }).stdout;
    let page = '';
    for (let i = 0; i < 50 && page === ''; i++) {
      page = get(`http://${prefix}.10/`);
      if (page === '') await new Promise((r) => setTimeout(r, 50));
    }
    expect(page).toBe('served from a namespace\n');
    expect(get('http://127.0.0.1:18080/')).toBe('served from a namespace\n');
    expect(inNs('client', 'busybox', 'wget', '-q', '-O', '-', `http://${prefix}.10/`).stdout).toBe('served from a namespace\n');
    server.kill('SIGKILL');
  });

  it('refuses addresses outside the subnet, the gateway, network, broadcast, or in use; a host port twice', async () => {
    // A value that is not an address or a port is a usage error (2); one the network
    // cannot give is a failure (1).
    const cases: [string[], string, number][] = [
      [['--ip', '192.0.2.77'], `192.0.2.77 is outside the subnet ${subnet}`, 1],
      [['--ip', `${prefix}.1`], `${prefix}.1 is the gateway`, 1],
      [['--ip', `${prefix}.0`], `${prefix}.0 is the network address`, 1],
      [['--ip', `${prefix}.255`], `${prefix}.255 is the broadcast address`, 1],
      [['--ip', `${prefix}.10`], `${prefix}.10 is in use by container web`, 1],
      [['--ip', 'ten'], "'ten' is not an IPv4 address", 2],
      [['-p', '18080:80'], 'host port 18080/tcp is already published by another container', 1],
      [['-p', '99999:80'], 'the host port must be a port from 1 to 65535', 2],
    ];
    for (const [args, message, code] of cases) {
      const r = await net('attach', 'refused', ...args);
      expect(r.code, message).toBe(code);
      expect(r.stderr).toContain(message);
    }
    expect(existsSync(netnsPath('refused', work.path))).toBe(false);
  });

  it('gives 20 parallel attaches 20 distinct, working addresses; 20 detaches leave nothing', async () => {
    const batch = Array.from({ length: 20 }, (_, i) => `par${i}`);
    for (const n of batch) names.add(n);
    const results = await Promise.all(batch.map((n) => net('attach', n)));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const ips = results.map((r) => JSON.parse(r.stdout).annotations['org.diyc.net.ip'] as string);
    expect(new Set(ips).size).toBe(20);
    // Each port filtered, with the MAC its address gives (and web's and client's).
    const table = execFileSync('nft', ['list', 'table', 'bridge', `diyc_${bridge}`], { encoding: 'utf8' });
    expect(table.match(/^\tchain port_dv[0-9a-f]{11} \{$/gm)).toHaveLength(22);
    expect(inNs('par0', 'cat', '/sys/class/net/eth0/address').stdout.trim()).toBe(
      `02:42:${ips[0]
        ?.split('.')
        .map((b) => Number(b).toString(16).padStart(2, '0'))
        .join(':')}`,
    );
    for (const name of batch) expect(inNs(name, 'busybox', 'ping', '-c1', '-W2', `${prefix}.1`).stdout, name).toContain(' 0% packet loss');
    const detached = await Promise.all(batch.map((n) => net('detach', n)));
    for (const r of detached) expect(r.code, r.stderr).toBe(0);
    for (const name of ['web', 'client']) expect((await net('detach', name)).code).toBe(0);
    expect((await net('detach', 'web')).code).toBe(0); // idempotent
    // The last lease gone, the lease file goes, and every port's filter; the table, the
    // bridge's own, stays until clean.
    expect(existsSync(join(NET_RUN_DIR, `${bridge}.leases.json`))).toBe(false);
    expect(execFileSync('nft', ['list', 'table', 'bridge', `diyc_${bridge}`], { encoding: 'utf8' })).not.toMatch(/chain port_|elements/);
    const after = snapshot();
    expect(after.netns.filter((n) => [...batch, 'web', 'client'].some((name) => n === netnsName(name, work.path)))).toEqual([]);
    expect(after.links.filter((l) => l.startsWith('dv'))).toEqual(before.links.filter((l) => l.startsWith('dv')));
    expect(execFileSync('iptables-save', { encoding: 'utf8' })).not.toContain(`diyc:${bridge}:`);
    expect((await net('clean')).code).toBe(0);
    expect(snapshot()).toEqual(before);
    expect(nftTables()).not.toContain(`table bridge diyc_${bridge}`);
  });

  it("makes the ports' table at setup; an attach that finds it gone makes it again, filtering; a detach never makes it", async () => {
    const table = () => spawnSync('nft', ['list', 'table', 'bridge', `diyc_${bridge}`], { encoding: 'utf8' });
    expect((await net('setup')).code).toBe(0);
    expect(table().stdout).toContain('iifname vmap @ports');
    execFileSync('nft', ['delete', 'table', 'bridge', `diyc_${bridge}`]);
    names.add('remade');
    const r = await net('attach', 'remade');
    expect(r.code, r.stderr).toBe(0);
    const ip = JSON.parse(r.stdout).annotations['org.diyc.net.ip'] as string;
    const listed = table().stdout;
    expect(listed).toContain('type filter hook prerouting priority filter; policy accept;');
    expect(listed.match(/iifname vmap @ports/g)).toHaveLength(1);
    expect(listed).toContain(`ip saddr ${ip} accept`);
    // Filtering: a frame from another source address does not reach the gateway.
    expect(inNs('remade', 'busybox', 'ping', '-c1', '-W2', `${prefix}.1`).stdout).toContain(' 0% packet loss');
    expect(inNs('remade', 'ip', 'addr', 'add', `${prefix}.99/24`, 'dev', 'eth0').status).toBe(0);
    expect(inNs('remade', 'busybox', 'ping', '-c1', '-W1', '-I', `${prefix}.99`, `${prefix}.1`).stdout).toContain(' 100% packet loss');
    expect((await net('detach', 'remade')).code).toBe(0);
    expect(table().stdout).not.toMatch(/chain port_/);
    expect((await net('clean')).code).toBe(0);
    // A detach after clean (a container the bridge outlived): no table, which would take
    // the next port without its prerouting chain.
    expect((await net('detach', 'remade')).code).toBe(0);
    expect(nftTables()).not.toContain(`table bridge diyc_${bridge}`);
    expect(snapshot()).toEqual(before);
  });

  it('orders the commands so that a port never carries a frame unfiltered: filter before it joins, down before its filter goes', async () => {
    expect((await net('setup')).code).toBe(0);
    const rounds: string[][] = [];
    const runner: Runner = {
      run: (command, args, input) => {
        rounds.push([`${command} ${args.join(' ')}`]);
        return systemRunner.run(command, args, input);
      },
      runRounds: (commands) => {
        const results = systemRunner.runRounds?.(commands) ?? [];
        for (const round of commands.slice(0, results.length)) rounds.push(round.map((c) => `${c.command} ${c.args.join(' ')}`));
        return results;
      },
    };
    const config = netConfig({ bridge, subnet });
    names.add('ordered');
    const a = attach(config, 'ordered', { runner, root: work.path });
    expect(rounds).toEqual([
      ['nft -f -', 'ip -batch -'],
      [`ip -n ${a.netns} -batch -`, `ip link set ${a.hostInterface} master ${bridge} up`],
    ]);
    rounds.length = 0;
    detach(config, 'ordered', { runner, root: work.path });
    expect(rounds).toEqual([[`ip link set dev ${a.hostInterface} down`], ['ip -force -batch -', 'nft -f -']]);
    expect(existsSync(`/sys/class/net/${a.hostInterface}`)).toBe(false);
    expect(execFileSync('nft', ['list', 'table', 'bridge', `diyc_${bridge}`], { encoding: 'utf8' })).not.toContain(a.hostInterface);
    expect((await net('clean')).code).toBe(0);
  });
});
