// The bridge as an attacker inside a default container sees it (issue 17, rows 5 to 7,
// and its host-port and state-root items): frames written whole with an AF_PACKET socket
// (CAP_NET_RAW is in the default capabilities) by test-e2e/netprobe.c, each attack
// checked from the host (its neighbour table, its addresses, a server of its own) and
// from another container. Where it is safe, the same attack runs with the control off,
// to show that the control is what stops it: the INPUT rule removed, a port's nftables
// chain flushed, accept_ra back on. Everything happens on the test's own bridge, subnet,
// state roots and cgroup parents, and is removed afterwards, whatever happens.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { macOf, NET_RUN_DIR, netnsName, netnsPath, vethName } from '@diyc/net';
import { rootTag } from '@diyc/record';
import { busyboxTarball, isRoot, repo, rootReason, runBin, tempDir, testNetwork } from './helpers.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Deletes the bridge's entry for `mac` on port `dev`. The bridge may have learned the
 * address back on its own port already (its traffic since): then nothing is left to delete.
 */
function forgetFdbEntry(mac: string, dev: string): void {
  const r = spawnSync('bridge', ['fdb', 'del', mac, 'dev', dev, 'master'], { encoding: 'utf8' });
  if (r.status !== 0 && !r.stderr.includes('No such file or directory')) throw new Error(`bridge fdb del ${mac} dev ${dev}: ${r.stderr}`);
}

describe.skipIf(!isRoot)(`net isolation: a container on the bridge reaches only what is its own (${rootReason})`, () => {
  const work = tempDir('diyc-netiso-');
  const root = join(work.path, 'state');
  const rootB = join(work.path, 'state-b');
  const parent = `diyc-e2e-netiso-${process.pid}`;
  const parentB = `diyc-e2e-netiso-b-${process.pid}`;
  const { bridge, subnet, prefix } = testNetwork('i');
  const gateway = `${prefix}.1`;
  const env = { ...process.env, DIYC_ROOT: root, DIYC_CGROUP_PARENT: parent, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet };
  const envB = { ...env, DIYC_ROOT: rootB, DIYC_CGROUP_PARENT: parentB };
  // A second bridge, of the same root: its containers are another network's.
  const second = testNetwork('k');
  const envK = { ...env, DIYC_BRIDGE: second.bridge, DIYC_SUBNET: second.subnet };
  const netprobe = join(work.path, 'netprobe');
  // Ports of this run's own, away from the usual ones.
  const port = 21000 + (process.pid % 1000) * 10;
  const names = new Set<string>();
  const namesB = new Set<string>();
  const servers: ChildProcess[] = [];
  const sockets: Socket[] = [];
  const run = (args: string[], e = env) => runBin('diyc-run', args, { env: e, timeoutMs: 60_000 });
  const exec = (container: string, ...cmd: string[]) => runBin('diyc-exec', [container, ...cmd], { env, timeoutMs: 30_000 });
  const probe = async (container: string, ...args: string[]) => {
    const r = await exec(container, '/bin/netprobe', ...args);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  /** A TCP SYN from `container` to DST:PORT through the gateway's MAC: what came back. A lost first try (ARP) is retried. */
  const syn = async (container: string, ip: string, dst: string, dport: number) => {
    let answer = '';
    for (let i = 0; i < 3 && answer !== 'syn-ack' && answer !== 'rst'; i++)
      answer = await probe(container, 'syn', 'eth0', macOf(ip), gatewayMac(), ip, dst, String(dport));
    return answer;
  };
  const gatewayMac = () => readFileSync(`/sys/class/net/${bridge}/address`, 'utf8').trim();
  /** A container of the attack image, running: `-i IP` puts it on the bridge. */
  const start = async (name: string, ip: string, flags: string[] = [], cmd = ['sleep', '600']) => {
    names.add(name);
    const r = await run(['-d', '-i', ip, ...flags, name, 'attack', ...cmd]);
    expect(r.code, r.stderr).toBe(0);
  };
  const leases = (): Record<string, { name: string; tag: string }> => {
    const file = join(NET_RUN_DIR, `${bridge}.leases.json`);
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  };
  const hostNeighbour = (ip: string) => execFileSync('ip', ['neigh', 'show', ip, 'dev', bridge], { encoding: 'utf8' }).trim();
  const nsNeighbour = (name: string, ip: string) =>
    execFileSync('ip', ['-n', netnsName(name, root), 'neigh', 'show', ip], { encoding: 'utf8' }).trim();
  /** A host UDP server on the gateway address: what it received, and from whom. */
  const hostUdp = async (udpPort: number) => {
    const got: string[] = [];
    const socket = createSocket('udp4');
    sockets.push(socket);
    socket.on('message', (msg, from) => got.push(`${msg.toString()} from ${from.address}`));
    await new Promise<void>((resolve) => socket.bind(udpPort, gateway, resolve));
    return { got, close: () => socket.close() };
  };
  /** What a container's eth0 receives (ARP, UDP, RAs) while `fn` runs, watched from the host. */
  const watch = async (name: string, fn: () => Promise<void>) => {
    const child = spawn('ip', ['netns', 'exec', netnsName(name, root), netprobe, 'listen', 'eth0', '60000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    servers.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const closed = new Promise((r) => child.on('close', r));
    for (let i = 0; i < 100 && !out.includes('listening'); i++) await pause(20);
    try {
      await fn();
      await pause(300);
    } finally {
      child.kill('SIGTERM');
      await closed;
    }
    return out.split('\n').filter((l) => l !== '' && l !== 'listening');
  };
  /** A host server on a loopback (or gateway) address: busybox httpd. */
  const hostHttpd = async (address: string, httpPort: number) => {
    const www = join(work.path, 'www');
    mkdirSync(www, { recursive: true });
    execFileSync('sh', ['-c', `echo host-only > ${www}/index.html`]);
    const server = spawn('busybox', ['httpd', '-f', '-p', `${address}:${httpPort}`, '-h', www], { stdio: 'ignore' });
    servers.push(server);
    for (
      let i = 0;
      i < 100 &&
      !readFileSync('/proc/net/tcp', 'utf8').includes(`:${httpPort.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A`);
      i++
    )
      await pause(20);
    return server;
  };
  const get = (url: string) => spawnSync('busybox', ['wget', '-q', '-O', '-', url], { encoding: 'utf8', timeout: 5000 }).stdout;

  beforeAll(async () => {
    // The attack image: busybox and the static probe.
    const tree = join(work.path, 'tree');
    mkdirSync(tree);
    execFileSync('tar', ['-xpf', busyboxTarball(), '-C', tree]);
    execFileSync('gcc', ['-static', '-O2', '-o', netprobe, join(repo, 'test-e2e', 'netprobe.c')]);
    execFileSync('cp', [netprobe, join(tree, 'bin', 'netprobe')]);
    execFileSync('tar', ['-cf', join(work.path, 'attack.tar'), '-C', tree, '.']);
    for (const e of [env, envB]) {
      const r = await runBin('diyc-image', ['unpack', join(work.path, 'attack.tar'), '--name', 'attack'], { env: e });
      expect(r.code, r.stderr).toBe(0);
    }
    const setup = await runBin('diyc-net', ['setup'], { env });
    expect(setup.code, setup.stderr).toBe(0);
    // The attacker, a container with the port filter turned off (the control off), victims.
    await start('atk', `${prefix}.10`);
    await start('atkoff', `${prefix}.11`);
    execFileSync('nft', ['flush', 'chain', 'bridge', `diyc_${bridge}`, `port_${vethName(bridge, 'atkoff', root)}`]);
    await start('vic', `${prefix}.12`);
    // A container that asked for IPv6 (what the stage leaves off by default).
    await start('vic6', `${prefix}.13`, [
      '--sysctl',
      'net.ipv6.conf.all.disable_ipv6=0',
      '--sysctl',
      'net.ipv6.conf.default.disable_ipv6=0',
    ]);
    // Every neighbour entry in place: the host's of each container, each container's of the gateway.
    for (const n of ['atk', 'atkoff', 'vic', 'vic6']) {
      const r = await exec(n, 'ping', '-c1', '-W2', gateway);
      expect(r.code, `${n}: ${r.stderr}${r.stdout}`).toBe(0);
    }
  }, 180_000);

  afterAll(async () => {
    for (const s of servers) s.kill('SIGKILL');
    for (const s of sockets) {
      try {
        s.close();
      } catch {
        /* closed */
      }
    }
    for (const n of names) await runBin('diyc-rm', ['-f', n], { env });
    for (const n of namesB) await runBin('diyc-rm', ['-f', n], { env: envB });
    await runBin('diyc-net', ['clean'], { env });
    await runBin('diyc-net', ['clean'], { env: envK });
    for (const p of [parent, parentB]) {
      const cgroups = createCgroupManager({ parent: p });
      for (const n of cgroups.list()) cgroups.remove(cgroups.pathOf(n), { force: true });
      cgroups.pruneParent();
    }
    work.remove();
  }, 120_000);

  it('eth0 has the MAC its address gives (02:42 + the IPv4 bytes), and IPv6 is off unless asked for', async () => {
    expect((await exec('atk', 'cat', '/sys/class/net/eth0/address')).stdout.trim()).toBe(macOf(`${prefix}.10`));
    expect(macOf(`${prefix}.10`)).toMatch(/^02:42:0a:/);
    const v4only = await exec(
      'vic',
      'sh',
      '-c',
      'cat /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/eth0/disable_ipv6; ip -6 addr | grep -c inet6',
    );
    expect(v4only.stdout).toBe('1\n1\n0\n');
    expect((await exec('vic6', 'cat', '/proc/sys/net/ipv6/conf/eth0/disable_ipv6')).stdout).toBe('0\n');
  });

  it("row 5: a host server on 127.0.0.1 does not answer a SYN sent to it through the gateway's MAC (route_localnet), unless the INPUT rule is removed", async () => {
    const [loopback, onGateway] = [port, port + 1];
    await hostHttpd('127.0.0.1', loopback);
    await hostHttpd(gateway, onGateway);
    const ip = `${prefix}.10`;
    // The probe works: the host answers on its gateway address, and refuses a closed port.
    expect(await syn('atk', ip, gateway, onGateway)).toBe('syn-ack');
    expect(await syn('atk', ip, gateway, loopback)).toBe('rst');
    // The attack: the loopback-only server, through the gateway's MAC.
    expect(await syn('atk', ip, '127.0.0.1', loopback)).toBe('silence');
    expect(await syn('atk', ip, '127.0.0.2', loopback)).toBe('silence');
    // The control off: without the INPUT rule, the server answers (what issue 17 saw).
    const rule = [
      'INPUT',
      '-i',
      bridge,
      '-d',
      '127.0.0.0/8',
      '-m',
      'conntrack',
      '!',
      '--ctstate',
      'RELATED,ESTABLISHED,DNAT',
      '-m',
      'comment',
      '--comment',
      `diyc:${bridge}`,
      '-j',
      'DROP',
    ];
    execFileSync('iptables', ['-w', '-D', ...rule]);
    try {
      expect(await syn('atk', ip, '127.0.0.1', loopback)).toBe('syn-ack');
    } finally {
      const again = await runBin('diyc-net', ['setup'], { env });
      expect(again.stdout).toContain('1 rule added');
    }
    expect(await syn('atk', ip, '127.0.0.1', loopback)).toBe('silence');
  });

  it('row 6: a router advertisement from a container gives neither the host nor another container an address or a route; off, each control lets it through', async () => {
    const raFrom = (container: string, toMac: string, pfx: string, lifetime: number) =>
      probe(container, 'ra', 'eth0', macOf(`${prefix}.${container === 'atk' ? 10 : 11}`), toMac, pfx, String(lifetime));
    const allNodes = '33:33:00:00:00:01';
    const hostHas = (pfx: string) =>
      execFileSync('ip', ['-6', 'addr', 'show', 'dev', bridge], { encoding: 'utf8' }).includes(pfx.replace(/::$/, ':'));
    const inNs = (name: string, ...args: string[]) =>
      execFileSync('ip', ['-n', netnsName(name, root), '-6', ...args], { encoding: 'utf8' });
    const tag = (process.pid % 0xffff).toString(16);
    const [p1, p2, p3] = [`2001:db8:${tag}:1::`, `2001:db8:${tag}:2::`, `2001:db8:${tag}:3::`];
    // Every control on: the attacker's port drops its RAs (a router lifetime of 0 for the
    // host, so that the control off below cannot give the host a default route).
    await raFrom('atk', allNodes, p1, 0);
    await raFrom('atk', macOf(`${prefix}.13`), p1, 1800);
    await pause(800);
    expect(hostHas(p1)).toBe(false);
    expect(inNs('vic6', 'addr')).not.toContain(p1.replace(/::$/, ':'));
    expect(inNs('vic6', 'route', 'show', 'default')).toBe('');
    // The port filter off (atkoff): the host still ignores it (accept_ra 0) and so does a
    // default container (no IPv6); one that asked for IPv6 takes the attacker as its router.
    const seen = await watch('vic', async () => {
      await raFrom('atkoff', allNodes, p2, 0);
      await raFrom('atkoff', macOf(`${prefix}.13`), p2, 1800);
      await pause(800);
    });
    expect(seen.filter((l) => l.startsWith('ra ')).length).toBeGreaterThan(0); // it did reach vic's eth0
    expect(hostHas(p2)).toBe(false);
    expect(readFileSync(`/proc/sys/net/ipv6/conf/${bridge}/accept_ra`, 'utf8')).toBe('0\n');
    expect((await exec('vic', 'sh', '-c', 'ip -6 addr | grep -c inet6')).stdout).toBe('0\n');
    expect(inNs('vic6', 'addr')).toContain(p2.replace(/::$/, ':'));
    expect(inNs('vic6', 'route', 'show', 'default')).toContain('via fe80::');
    // accept_ra back on (the control off): the host takes the prefix (lifetime 0: no route).
    writeFileSync(`/proc/sys/net/ipv6/conf/${bridge}/accept_ra`, '1');
    try {
      await raFrom('atkoff', allNodes, p3, 0);
      let taken = false;
      for (let i = 0; i < 40 && !taken; i++) {
        taken = hostHas(p3);
        if (!taken) await pause(50);
      }
      expect(taken).toBe(true);
    } finally {
      writeFileSync(`/proc/sys/net/ipv6/conf/${bridge}/accept_ra`, '0');
      execFileSync('ip', ['-6', 'addr', 'flush', 'dev', bridge, 'scope', 'global']);
    }
  });

  it("row 7: a container that claims another's address or MAC (ARP, IP) moves no neighbour entry and reaches no one; off, it does", async () => {
    const [atk, off, vic] = [`${prefix}.10`, `${prefix}.11`, `${prefix}.12`];
    const udpPort = port + 2;
    const host = await hostUdp(udpPort);
    const fdbOf = (mac: string) =>
      execFileSync('bridge', ['fdb', 'show', 'br', bridge], { encoding: 'utf8' })
        .split('\n')
        .find((l) => l.startsWith(`${mac} `)) ?? '';
    try {
      expect(hostNeighbour(vic)).toContain(`lladdr ${macOf(vic)} `);
      expect(nsNeighbour('vic', gateway)).toContain(`lladdr ${gatewayMac()} `);
      await pause(1100); // past the neighbour table's locktime (1 s), when a reply may override
      const seen = await watch('vic', async () => {
        // "VIC is at ATK's MAC" to the host; "the gateway is at ATK's MAC" to vic.
        await probe('atk', 'arp', 'eth0', macOf(atk), gatewayMac(), macOf(atk), vic, gatewayMac(), gateway);
        await probe('atk', 'arp', 'eth0', macOf(atk), macOf(vic), macOf(atk), gateway, macOf(vic), vic);
        // A frame with vic's MAC as its source (which would teach the bridge vic is there).
        await probe('atk', 'udp', 'eth0', macOf(vic), gatewayMac(), atk, gateway, String(udpPort), 'macspoof');
        // UDP as vic, to the host and to vic; and honest UDP, which arrives.
        await probe('atk', 'udp', 'eth0', macOf(atk), gatewayMac(), vic, gateway, String(udpPort), 'spoofed');
        await probe('atk', 'udp', 'eth0', macOf(atk), macOf(vic), '203.0.113.9', vic, String(udpPort), 'spoofed');
        await probe('atk', 'udp', 'eth0', macOf(atk), gatewayMac(), atk, gateway, String(udpPort), 'honest');
        await probe('atk', 'udp', 'eth0', macOf(atk), macOf(vic), atk, vic, String(udpPort), 'honest');
        await pause(300);
      });
      expect(hostNeighbour(vic)).toContain(`lladdr ${macOf(vic)} `);
      expect(nsNeighbour('vic', gateway)).toContain(`lladdr ${gatewayMac()} `);
      expect(fdbOf(macOf(vic))).toContain(`dev ${vethName(bridge, 'vic', root)} `);
      expect(host.got).toEqual([`honest from ${atk}`]);
      // vic received the honest datagram, and none of the lies (what else it saw, the
      // host's and the others' ARP requests, is theirs to send).
      expect(seen.filter((l) => l.startsWith('udp '))).toEqual([`udp src=${atk} dst=${vic} dport=${udpPort}`]);
      expect(seen.filter((l) => l.includes(`sha=${macOf(atk)}`) && !l.includes(`spa=${atk} `))).toEqual([]);

      // The control off: the same from atkoff, whose port is not filtered.
      await pause(1100);
      const seenOff = await watch('vic', async () => {
        await probe('atkoff', 'arp', 'eth0', macOf(off), gatewayMac(), macOf(off), vic, gatewayMac(), gateway);
        await probe('atkoff', 'arp', 'eth0', macOf(off), macOf(vic), macOf(off), gateway, macOf(vic), vic);
        await probe('atkoff', 'udp', 'eth0', macOf(off), gatewayMac(), vic, gateway, String(udpPort), 'spoofed');
        await probe('atkoff', 'udp', 'eth0', macOf(off), macOf(vic), '203.0.113.9', vic, String(udpPort), 'spoofed');
        await probe('atkoff', 'udp', 'eth0', macOf(vic), gatewayMac(), off, gateway, String(udpPort), 'macspoof');
        await pause(300);
      });
      // A neighbour entry takes an unasked-for reply only past its locktime since its last
      // update, which traffic of the moment (a loaded machine) can renew: the lies again,
      // a few times, until they take.
      for (let i = 0; i < 4; i++) {
        const moved = hostNeighbour(vic).includes(`lladdr ${macOf(off)} `) && nsNeighbour('vic', gateway).includes(`lladdr ${macOf(off)} `);
        if (moved) break;
        await pause(1100);
        await probe('atkoff', 'arp', 'eth0', macOf(off), gatewayMac(), macOf(off), vic, gatewayMac(), gateway);
        await probe('atkoff', 'arp', 'eth0', macOf(off), macOf(vic), macOf(off), gateway, macOf(vic), vic);
        await pause(300);
      }
      expect(hostNeighbour(vic)).toContain(`lladdr ${macOf(off)} `);
      expect(nsNeighbour('vic', gateway)).toContain(`lladdr ${macOf(off)} `);
      expect(fdbOf(macOf(vic))).toContain(`dev ${vethName(bridge, 'atkoff', root)} `);
      expect(host.got).toContain(`spoofed from ${vic}`);
      expect(host.got).toContain(`macspoof from ${off}`);
      expect(seenOff).toContain(`udp src=203.0.113.9 dst=${vic} dport=${udpPort}`);
      expect(seenOff).toContain(`arp op=2 sha=${macOf(off)} spa=${gateway} tpa=${vic}`);
    } finally {
      host.close();
      // What the control-off attack poisoned, put right.
      execFileSync('ip', ['neigh', 'flush', 'dev', bridge]);
      execFileSync('ip', ['-n', netnsName('vic', root), 'neigh', 'flush', 'all']);
      forgetFdbEntry(macOf(vic), vethName(bridge, 'atkoff', root));
    }
  });

  it("a container on another diyc bridge is out of reach (Docker's ISOLATION chains); without the mangle rule, it answers", async () => {
    const other = `${second.prefix}.20`;
    names.add('other');
    const r = await runBin(
      'diyc-run',
      ['-d', '-i', other, 'other', 'attack', 'sh', '-c', 'mkdir -p /www && echo other > /www/index.html && httpd -f -p 80 -h /www'],
      { env: envK, timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    // nc -w: busybox wget's -T crashes in this busybox. The page's last line, or nothing.
    const fetch = async () =>
      (await exec('atk', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${other} 80 | tail -n 1`)).stdout;
    // The host itself still reaches it (OUTPUT, not FORWARD).
    expect(get(`http://${other}/`)).toBe('other\n');
    expect(await fetch()).toBe('');
    const rule = [
      'FORWARD',
      '!',
      '-i',
      second.bridge,
      '-o',
      second.bridge,
      '-m',
      'conntrack',
      '!',
      '--ctstate',
      'RELATED,ESTABLISHED,DNAT',
      '-m',
      'comment',
      '--comment',
      `diyc:${second.bridge}`,
      '-j',
      'DROP',
    ];
    execFileSync('iptables', ['-t', 'mangle', '-D', ...rule]);
    try {
      expect(await fetch()).toBe('other\n');
    } finally {
      execFileSync('iptables', ['-t', 'mangle', '-I', ...rule]);
    }
    await runBin('diyc-rm', ['-f', 'other'], { env: envK });
  });

  it('-p on a port a host program listens on is refused, naming the port; nothing is left of the container', async () => {
    const taken = port + 3;
    await hostHttpd('127.0.0.1', taken);
    for (const spec of [`${taken}:80`, `127.0.0.1:${taken}:80`, `${taken - 1}-${taken + 1}:80-82`]) {
      names.add('grab');
      const r = await run(['--rm', '-p', spec, 'grab', 'attack', 'true']);
      expect(r.code, spec).not.toBe(0);
      expect(r.stderr, spec).toMatch(
        new RegExp(
          `host port ${taken}/tcp is already in use by another program \\(busybox, pid \\d+, listening on 127\\.0\\.0\\.1:${taken}\\)`,
        ),
      );
      expect(existsSync(netnsPath('grab', root)), spec).toBe(false);
      expect(
        Object.values(leases()).map((l) => l.name),
        spec,
      ).not.toContain('grab');
    }
    expect(get(`http://127.0.0.1:${taken}/`)).toBe('host-only\n');
    expect(execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' })).not.toContain(`--dport ${taken} `);
    // Another address of the host, or UDP: free, and published.
    const udp = await run(['--rm', '-p', `${taken}:80/udp`, 'grab', 'attack', 'true']);
    expect(udp.code, udp.stderr).toBe(0);
  });

  it("-p 127.0.0.1:H:C (and a range) reaches the published ports from the host's loopback, and nothing else", async () => {
    const h = port + 5;
    const serve = 'for p in 80 81 82 83; do mkdir -p /w$p && echo port-$p > /w$p/index.html && httpd -p $p -h /w$p; done; exec sleep 600';
    await start('web', `${prefix}.14`, ['-p', `127.0.0.1:${h}:80`, '-p', `127.0.0.1:${h + 1}-${h + 2}:81-82`], ['sh', '-c', serve]);
    let page = '';
    for (let i = 0; i < 50 && page === ''; i++) {
      page = get(`http://127.0.0.1:${h}/`);
      if (page === '') await pause(50);
    }
    expect(page).toBe('port-80\n');
    expect(get(`http://127.0.0.1:${h + 1}/`)).toBe('port-81\n');
    expect(get(`http://127.0.0.1:${h + 2}/`)).toBe('port-82\n');
    expect(get(`http://127.0.0.1:${h + 3}/`)).toBe(''); // 83 is not published
    // Not on the host's other addresses, nor from another container, even through the
    // gateway's MAC to 127.0.0.1 itself.
    expect(get(`http://${gateway}:${h}/`)).toBe('');
    expect((await exec('atk', 'wget', '-q', '-O', '-', `http://${gateway}:${h}/`)).stdout).toBe('');
    expect(await syn('atk', `${prefix}.10`, '127.0.0.1', h)).toBe('silence');
    const ps = JSON.parse((await runBin('diyc-ps', ['--json'], { env })).stdout) as { name: string; ports?: string[] }[];
    expect(ps.find((c) => c.name === 'web')?.ports).toEqual([`127.0.0.1:${h}:80/tcp`, `127.0.0.1:${h + 1}-${h + 2}:81-82/tcp`]);
  });

  it('the same NAME in two state roots on one bridge: two addresses, two namespaces; removing one leaves the other working', async () => {
    const [pa, pb] = [port + 8, port + 9];
    const serve = 'echo "$WHO" > /tmp/who && exec httpd -f -p 80 -h /tmp';
    names.add('same');
    namesB.add('same');
    const [a, b] = await Promise.all([
      run(['-d', '--net', 'bridge', '-e', 'WHO=root-a', '-p', `127.0.0.1:${pa}:80`, 'same', 'attack', 'sh', '-c', serve], env),
      run(['-d', '--net', 'bridge', '-e', 'WHO=root-b', '-p', `127.0.0.1:${pb}:80`, 'same', 'attack', 'sh', '-c', serve], envB),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(netnsPath('same', root)).not.toBe(netnsPath('same', rootB));
    for (const r of [root, rootB]) expect(existsSync(netnsPath('same', r)), r).toBe(true);
    const held = Object.entries(leases()).filter(([, l]) => l.name === 'same');
    expect(held.map(([, l]) => l.tag).sort()).toEqual([rootTag(root), rootTag(rootB)].sort());
    expect(new Set(held.map(([ip]) => ip)).size).toBe(2);
    let pages = ['', ''];
    for (let i = 0; i < 50 && pages.includes(''); i++) {
      pages = [get(`http://127.0.0.1:${pa}/who`), get(`http://127.0.0.1:${pb}/who`)];
      if (pages.includes('')) await pause(50);
    }
    expect(pages).toEqual(['root-a\n', 'root-b\n']);
    const rm = await runBin('diyc-rm', ['-f', 'same'], { env: envB });
    expect(rm.code, rm.stderr).toBe(0);
    // Root A's container, namespace, veth, rules and lease are as they were.
    expect(existsSync(netnsPath('same', rootB))).toBe(false);
    expect(existsSync(netnsPath('same', root))).toBe(true);
    expect(existsSync(`/sys/class/net/${vethName(bridge, 'same', root)}`)).toBe(true);
    expect(existsSync(`/sys/class/net/${vethName(bridge, 'same', rootB)}`)).toBe(false);
    expect(
      Object.values(leases())
        .filter((l) => l.name === 'same')
        .map((l) => l.tag),
    ).toEqual([rootTag(root)]);
    expect(get(`http://127.0.0.1:${pa}/who`)).toBe('root-a\n');
    expect(get(`http://127.0.0.1:${pb}/who`)).toBe('');
    const nat = execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' });
    expect(nat).toContain(`--dport ${pa} `);
    expect(nat).not.toContain(`--dport ${pb} `);
    expect((await exec('same', 'ping', '-c1', '-W2', gateway)).code).toBe(0);
  });
});
