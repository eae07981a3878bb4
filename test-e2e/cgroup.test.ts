// diyc-cgroup on this machine's real cgroups (v1 controllers here; v2 where the
// machine has it). The limited process is started by nsexec from the record that
// `diyc-cgroup create` prints, as diyc-run's pipeline does.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CgroupV2, createCgroupManager, detectLayout, resourcesFromFlags, subtree as subtreeDirs } from '@diyc/cgroup';
import { DEFAULT_DEVICE_RULES } from '@diyc/nsexec';
import { ANNOTATION, emptyRecord } from '@diyc/record';
import { busyboxTarball, isRoot, rootReason, runBin, runCommand, tempDir } from './helpers.js';

/**
 * How much slower than this machine the tests run: the cgroup v2 VM (tools/vm) runs under
 * TCG, 15-35x slower, and sets DIYC_TEST_SLOWDOWN. Time limits are multiplied by it.
 */
const slowdown = Math.max(1, Number(process.env.DIYC_TEST_SLOWDOWN) || 1);

describe.skipIf(!isRoot)(`diyc-cgroup (${rootReason})`, () => {
  const parent = `diyc-e2e-${process.pid}`;
  const env = { ...process.env, DIYC_CGROUP_PARENT: parent };
  const manager = createCgroupManager({ parent });

  /** Creates cgroup NAME with `limits` and runs `script` in it, in a new PID namespace. */
  const runLimited = async (name: string, limits: string[], script: string) => {
    const created = await runBin('diyc-cgroup', ['create', name, ...limits], { env });
    expect(created.code, created.stderr).toBe(0);
    const record = JSON.parse(created.stdout);
    record.process.args = ['sh', '-c', script];
    record.linux.namespaces = [{ type: 'mount' }, { type: 'pid' }];
    return runBin('nsexec', ['--config', '-'], { env, input: JSON.stringify(record), timeoutMs: 30_000 * slowdown });
  };

  afterAll(() => {
    for (const name of manager.list()) manager.remove(manager.pathOf(name), { force: true });
    manager.pruneParent();
  });

  it('memory 10M: a 64 MB allocation is OOM-killed and the stats show it; 1 MB is fine', async () => {
    const big = await runLimited('mem', ['--memory', '10M'], 'dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo status=$?');
    expect(big.stdout).toBe('status=137\n'); // dd died of SIGKILL
    const stats = JSON.parse((await runBin('diyc-cgroup', ['stats', 'mem', '--json'], { env })).stdout);
    expect(stats.oomKills).toBeGreaterThanOrEqual(1);
    expect(stats.memoryLimitBytes).toBe(10 * 1024 * 1024);
    const small = await runLimited('mem', ['--memory', '10M'], 'dd if=/dev/zero of=/dev/null bs=1M count=1 2>/dev/null; echo status=$?');
    expect(small.stdout).toBe('status=0\n');
  });

  it('memory without --swap leaves no swap (v1: memsw equals the limit)', async () => {
    await runBin('diyc-cgroup', ['create', 'noswap', '--memory', '16M'], { env });
    const layout = detectLayout();
    if (layout.mode === 'unified') {
      const swapMax = join(layout.v2 as string, parent, 'noswap', 'memory.swap.max');
      if (existsSync(swapMax)) expect(readFileSync(swapMax, 'utf8').trim()).toBe('0');
      expect(readFileSync(join(layout.v2 as string, parent, 'noswap', 'memory.max'), 'utf8').trim()).toBe(String(16 * 1024 * 1024));
      return;
    }
    const mem = layout.v1.get('memory') as string;
    const memsw = `${mem}/${parent}/noswap/memory.memsw.limit_in_bytes`;
    if (existsSync(memsw)) expect(Number(readFileSync(memsw, 'utf8'))).toBe(16 * 1024 * 1024);
  });

  it('pids 20: a fork loop is held at 20, and the host is unaffected', async () => {
    // The forking subshell dies when fork fails (as dash does); its sleeps stay, held by PID 1.
    const running = runLimited('forks', ['--pids', '20'], '(for i in $(seq 40); do sleep 2 & done) 2>/dev/null; sleep 2');
    let stats: { pids?: number; pidsLimit?: number } = {};
    // Up to 30 s (times the slowdown): a slow machine takes seconds to start it.
    for (let i = 0; i < 1000 * slowdown && stats.pids !== 20; i++) {
      await new Promise((r) => setTimeout(r, 30));
      stats = manager.stats(manager.pathOf('forks'));
    }
    expect(stats).toMatchObject({ pids: 20, pidsLimit: 20 });
    await running;
    // The host still forks freely.
    expect((await runBin('nsexec', ['sh', '-c', 'for i in $(seq 30); do true & done; wait; echo ok'])).stdout).toBe('ok\n');
  });

  it("cpus 0.5: a busy loop gets about half a CPU by the cgroup's own accounting", async () => {
    await runLimited('cpu', ['--cpus', '0.5'], 'timeout 2 sh -c "while :; do :; done"; true');
    const stats = JSON.parse((await runBin('diyc-cgroup', ['stats', 'cpu', '--json'], { env })).stdout);
    // CPU time over the loop's own 2 s (what starting the process took is not the loop's).
    const share = stats.cpuNanoseconds / 1e9 / 2;
    // Wide tolerance: the machine is shared. Unlimited, a busy loop would take ~1.0.
    expect(share).toBeGreaterThan(0.2);
    // Under TCG (the VM) the guest's clock and its CPU accounting drift apart: there the
    // bound only tells a limited loop from a free one (1.0).
    expect(share).toBeLessThan(slowdown > 1 ? 0.95 : 0.7);
  });

  it('io weight where the kernel has it (io.weight or io.bfq.weight on v2, blkio.weight on v1); said so where not', async () => {
    const path = manager.pathOf('io');
    manager.create(path);
    const { applied, skipped } = manager.apply(path, { blockIO: { weight: 500 } });
    if (applied.includes('io weight 500') || applied.includes('weight 500')) {
      const layout = detectLayout();
      const dir =
        layout.mode === 'unified' ? join(layout.v2 as string, parent, 'io') : join(layout.v1.get('blkio') as string, parent, 'io');
      const files = ['io.weight', 'io.bfq.weight', 'blkio.weight', 'blkio.bfq.weight'].filter((f) => existsSync(join(dir, f)));
      expect(files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n')).toMatch(/\b500\b/);
    } else {
      expect(skipped.join('\n')).toMatch(/weight: this kernel has no|blkio controller is not mounted|io controller is not delegated/);
    }
    manager.remove(path);
  });

  it("freezes and thaws a cgroup's processes (OCI pause), and sees it frozen", async () => {
    const path = manager.pathOf('ice');
    manager.create(path);
    const { spawn } = await import('node:child_process');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      manager.add(path, sleeper.pid as number);
      manager.freeze(path, true);
      expect(manager.frozen(path)).toBe(true);
      manager.freeze(path, false);
      expect(manager.frozen(path)).toBe(false);
    } finally {
      manager.remove(path, { force: true });
      sleeper.kill('SIGKILL');
    }
  });

  it('rm refuses a populated cgroup, --force kills its processes, and nothing is left', async () => {
    await runBin('diyc-cgroup', ['create', 'busy'], { env });
    const { spawn } = await import('node:child_process');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => sleeper.on('exit', (_c, s) => resolve(s)));
    try {
      expect((await runBin('diyc-cgroup', ['add', 'busy', String(sleeper.pid)], { env })).code).toBe(0);
      const refused = await runBin('diyc-cgroup', ['rm', 'busy'], { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`still has processes (${sleeper.pid})`);
      expect((await runBin('diyc-cgroup', ['rm', '--force', 'busy'], { env })).code).toBe(0);
      expect(await exited).toBe('SIGKILL');
    } finally {
      sleeper.kill('SIGKILL');
    }
    for (const name of ['mem', 'noswap', 'forks', 'cpu']) expect((await runBin('diyc-cgroup', ['rm', name], { env })).code).toBe(0);
    manager.pruneParent();
    const layout = detectLayout();
    const roots = layout.mode === 'unified' ? [layout.v2 as string] : [...new Set(layout.v1.values())];
    for (const root of roots) expect(readdirSync(root)).not.toContain(parent);
  });

  it("v2 on this machine's own cgroup2 tree: joins and kills for real, and says which limits it could not apply", async () => {
    const layout = detectLayout();
    if (!layout.v2) return; // no cgroup2 mounted: the cgroupfs-shaped unit tests cover v2
    const v2 = new CgroupV2({ root: layout.v2, parent });
    try {
      const box = v2.pathOf('v2box');
      v2.create(box);
      const applied = v2.apply(box, resourcesFromFlags({ memory: '16M', pids: '5' }));
      const delegated = readFileSync(join(layout.v2, parent, 'cgroup.controllers'), 'utf8').split(/\s+/);
      for (const c of ['memory', 'pids']) {
        if (!delegated.includes(c)) expect(applied.skipped.join('\n')).toContain(`${c}: the ${c} controller is not delegated`);
      }
      const { spawn } = await import('node:child_process');
      const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
      const exited = new Promise((resolve) => sleeper.on('exit', (_c, sig) => resolve(sig)));
      v2.add(box, sleeper.pid as number);
      expect(v2.pids(box)).toEqual([sleeper.pid]);
      expect(() => v2.remove(box)).toThrow(/still has processes/);
      v2.remove(box, { force: true });
      expect(await exited).toBe('SIGKILL');
      expect(v2.exists(box)).toBe(false);
    } finally {
      if (v2.exists(v2.pathOf('v2box'))) v2.remove(v2.pathOf('v2box'), { force: true });
      v2.pruneParent();
    }
    expect(readdirSync(layout.v2)).not.toContain(parent);
  });

  it("v2 device program on this machine's own cgroup2 tree: /dev/null opens, /dev/kmsg does not", async () => {
    const layout = detectLayout();
    if (!layout.v2) return; // no cgroup2 mounted: the program is checked by the unit tests' interpreter
    const v2 = new CgroupV2({ root: layout.v2, parent });
    const open =
      'dd if=/dev/null of=/dev/null count=0 2>/dev/null && echo null-ok; dd if=/dev/kmsg of=/dev/null count=0 2>/dev/null && echo kmsg-ok';
    const inCgroup = (procs: string[]) => {
      const record = { ...emptyRecord(['sh', '-c', open]) };
      record.annotations[ANNOTATION.cgroupProcs] = procs.join(':');
      return runBin('nsexec', ['--config', '-'], { env, input: JSON.stringify(record) });
    };
    try {
      // A device program attaches to any cgroup2 directory, with no controller enabled.
      const dev = v2.pathOf('v2dev');
      v2.create(dev);
      expect(v2.apply(dev, { devices: [...DEFAULT_DEVICE_RULES] }).applied).toContain('devices');
      expect((await inCgroup(v2.procsFiles(dev))).stdout).toBe('null-ok\n');
      // The same without the program: both open (the host's root reads its kernel log).
      expect((await inCgroup([])).stdout).toBe('null-ok\nkmsg-ok\n');
    } finally {
      if (v2.exists(v2.pathOf('v2dev'))) v2.remove(v2.pathOf('v2dev'), { force: true });
      v2.pruneParent();
    }
  });

  it('refuses bad limits before creating anything', async () => {
    const r = await runBin('diyc-cgroup', ['create', 'bad', '--memory', 'lots'], { env });
    expect(r.code).toBe(2); // a usage error: the flag's value is not a size
    expect(r.stderr).toContain("'lots' is not a size");
    expect(manager.exists(manager.pathOf('bad'))).toBe(false);
  });
});

// Containers and their cgroups, through the bins a user runs: the device cgroup holds
// them whatever node their /dev has, and a cgroup that cannot be used is refused.
describe.skipIf(!isRoot)(`containers in their cgroups (${rootReason})`, () => {
  const work = tempDir('diyc-cgroup-e2e-');
  const parent = `diyc-e2e-cgc-${process.pid}`;
  const env = { ...process.env, DIYC_ROOT: join(work.path, 'state'), DIYC_CGROUP_PARENT: parent };
  const ociRoot = join(work.path, 'oci');
  const oci = (...args: string[]) => runBin('diyc-oci', ['--root', ociRoot, ...args], { env, timeoutMs: 30_000 * slowdown });
  const run = (...args: string[]) => runBin('diyc-run', args, { env, timeoutMs: 60_000 * slowdown });
  const ids = new Set<string>();

  /** An OCI bundle of busybox from `diyc-oci spec`, changed by `change`, in cgroup /PARENT/ID. */
  const bundle = async (id: string, args: string[], change: (config: Record<string, any>) => void = () => {}): Promise<string> => {
    ids.add(id);
    const dir = join(work.path, id);
    mkdirSync(join(dir, 'rootfs'), { recursive: true });
    await runCommand('tar', ['-xpf', busyboxTarball(), '-C', join(dir, 'rootfs')]);
    expect((await runBin('diyc-oci', ['spec', '--no-terminal', '--bundle', dir])).code).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    config.process.args = args;
    config.root.readonly = false;
    config.linux.cgroupsPath = `/${parent}/${id}`;
    change(config);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  };
  const syslog = (config: Record<string, any>) => {
    for (const set of ['bounding', 'effective', 'permitted']) config.process.capabilities[set].push('CAP_SYSLOG');
  };

  beforeAll(async () => {
    expect((await runBin('diyc-image', ['unpack', busyboxTarball()], { env })).code).toBe(0);
  });

  afterAll(async () => {
    for (const id of ids) await oci('delete', '--force', id);
    const manager = createCgroupManager({ parent });
    for (const name of manager.list()) manager.remove(manager.pathOf(name), { force: true });
    manager.pruneParent();
    work.remove();
  });

  it('diyc-oci: a node the config lists (/dev/kmsg, c 1 11) is made but not opened under a deny-all rule, as runc holds it', async () => {
    // runc's dev.bats "device cgroup deny": the node exists, CAP_SYSLOG is given, and only the
    // device cgroup stands between the container and the kernel log.
    const script = 'ls /dev/kmsg; hostname | tee /dev/kmsg >/dev/null; echo tee=$?; head -n 1 /dev/kmsg >/dev/null; echo head=$?';
    const dir = await bundle('kmsgdeny', ['sh', '-c', script], (c) => {
      c.linux.resources = { devices: [{ allow: false, access: 'rwm' }] };
      c.linux.devices = [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11 }];
      syslog(c);
    });
    const r = await oci('run', '--bundle', dir, 'kmsgdeny');
    expect(r.stdout).toBe('/dev/kmsg\ntee=1\nhead=1\n');
    expect(r.stderr).toContain('Operation not permitted');
    // Allowed by a rule of the config's own, with its access in any order: it opens.
    const allowed = await bundle('kmsgallow', ['sh', '-c', 'head -n 1 /dev/kmsg >/dev/null; echo head=$?'], (c) => {
      c.linux.resources = {
        devices: [
          { allow: false, access: 'rwm' },
          { allow: true, type: 'c', major: 1, minor: 11, access: 'wr' },
        ],
      };
      c.linux.devices = [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11 }];
      syslog(c);
    });
    const opened = await oci('run', '--bundle', allowed, 'kmsgallow');
    expect(opened.stdout, opened.stderr).toBe('head=0\n');
  });

  it('diyc-oci refuses a frozen cgroup at once (it hung there), and leaves the cgroup it did not make', async () => {
    const layout = detectLayout();
    const id = 'frozen';
    const dir = layout.mode === 'unified' ? join(layout.v2 as string, parent, id) : join(layout.v1.get('freezer') as string, parent, id);
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(join(dir, layout.mode === 'unified' ? 'cgroup.freeze' : 'freezer.state'), layout.mode === 'unified' ? '1' : 'FROZEN');
      const started = Date.now();
      const r = await oci('run', '-d', '--bundle', await bundle(id, ['true']), id);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("container's cgroup unexpectedly frozen");
      // It hung forever; now it fails as fast as a run starts (seconds, more in the VM), well within runBin's 30 s.
      expect(Date.now() - started).toBeLessThan(25_000 * slowdown);
      expect(existsSync(dir)).toBe(true);
      expect((await oci('state', id)).code).not.toBe(0);
    } finally {
      writeFileSync(join(dir, layout.mode === 'unified' ? 'cgroup.freeze' : 'freezer.state'), layout.mode === 'unified' ? '0' : 'THAWED');
      for (const sub of subtreeDirs(dir)) rmdirSync(sub);
    }
  });

  it("diyc-oci delete removes the sub-cgroups made under the container's, its processes moved there", async () => {
    const layout = detectLayout();
    const id = 'subcg';
    // The container keeps its stdio: a pipe to the test would never close while it lives.
    const dir = await bundle(id, ['sleep', '300']);
    const started = await runCommand(
      'sh',
      ['-c', `exec diyc-oci --root ${ociRoot} run -d --bundle ${dir} ${id} >/dev/null 2>${dir}/stderr`],
      { env },
    );
    expect(started.code, readFileSync(`${dir}/stderr`, 'utf8')).toBe(0);
    const pid = JSON.parse((await oci('state', id)).stdout).pid as number;
    const hierarchies = layout.mode === 'unified' ? [layout.v2 as string] : ['memory', 'freezer'].map((c) => layout.v1.get(c) as string);
    for (const h of hierarchies) {
      mkdirSync(join(h, parent, id, 'foo', 'bar'), { recursive: true });
      writeFileSync(join(h, parent, id, 'foo', 'bar', 'cgroup.procs'), String(pid));
    }
    if (layout.mode === 'hybrid') {
      // runc's placement on a hybrid machine: the unified tree has the container too.
      expect(
        readFileSync(`/proc/${pid}/cgroup`, 'utf8')
          .split('\n')
          .find((l) => l.startsWith('0::')),
      ).toBe(`0::/${parent}/${id}`);
    }
    expect((await oci('delete', '--force', id)).code).toBe(0);
    for (const h of [...hierarchies, ...(layout.v2 ? [layout.v2] : [])]) expect(existsSync(join(h, parent, id))).toBe(false);
  });

  it('diyc-run -m 10: the container reads its own limit at /sys/fs/cgroup, read-only, and sees nothing above its cgroup', async () => {
    const v2 = detectLayout().mode === 'unified';
    const limit = v2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
    const pids = v2 ? '/sys/fs/cgroup/pids.max' : '/sys/fs/cgroup/pids/pids.max';
    const script = [
      `cat ${limit} ${pids}`,
      // The cgroup namespace: its own cgroup is the root, and nothing sits beside or below it.
      'grep -c -v ":/$" /proc/self/cgroup',
      `ls -d ${v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory'}/*/ 2>/dev/null | wc -l`,
      `echo 1 > ${limit}; echo write=$?`,
      `mkdir ${v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory'}/escape; echo mkdir=$?`,
    ].join('; ');
    const r = await run('--rm', '--net', 'none', '-m', '10', '--pids', '20', 'ownview', 'busybox', 'sh', '-c', script);
    expect(r.stdout).toBe(`${10 * 1024 * 1024}\n20\n0\n0\nwrite=1\nmkdir=1\n`);
    expect(r.stderr).toContain('Read-only file system');
  });

  it('diyc-run -m 10: an allocation past the limit is killed, and diyc-run says it was the OOM killer', async () => {
    const r = await run('--rm', '--net', 'none', '-m', '10', 'oom', 'busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1');
    expect(r.code).toBe(137);
    expect(r.stderr).toContain('out of memory (limit 10M)');
  });

  it("diyc-oci in a nested cgroup (/PARENT/pod/ctr): each level gives the next its controllers; delete leaves the pod's", async () => {
    const layout = detectLayout();
    const id = 'nested';
    const limit = layout.mode === 'unified' ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
    const dir = await bundle(id, ['cat', limit], (c) => {
      c.linux.cgroupsPath = `/${parent}/pod/${id}`;
      c.linux.resources = { ...c.linux.resources, memory: { limit: 32 * 1024 * 1024 } };
    });
    const r = await oci('run', '--bundle', dir, id);
    expect(r.stdout, r.stderr).toBe(`${32 * 1024 * 1024}\n`);
    expect((await oci('delete', '--force', id)).code).toBe(0);
    const root = layout.mode === 'unified' ? (layout.v2 as string) : (layout.v1.get('memory') as string);
    expect(existsSync(join(root, parent, 'pod', id))).toBe(false);
    expect(existsSync(join(root, parent, 'pod'))).toBe(true);
    for (const h of layout.mode === 'unified' ? [root] : [...new Set([...layout.v1.values(), ...(layout.v2 ? [layout.v2] : [])])]) {
      if (existsSync(join(h, parent, 'pod'))) rmdirSync(join(h, parent, 'pod'));
    }
  });

  it('diyc-run: a /dev/kmsg node made inside (mknod is allowed) cannot be opened; /dev/null can', async () => {
    const script =
      'mknod /tmp/kmsg c 1 11 && echo made; head -c 1 /tmp/kmsg >/dev/null; echo read=$?; echo x >/tmp/kmsg; echo write=$?; echo x >/dev/null; echo null=$?';
    const r = await run('--rm', '--net', 'none', 'kmsgrun', 'busybox', 'sh', '-c', script);
    expect(r.stdout).toBe('made\nread=1\nwrite=1\nnull=0\n');
    expect(r.stderr).toContain('Operation not permitted');
  });
});
