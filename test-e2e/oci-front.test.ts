// diyc-oci's native front (oci-front.c): `start`, `kill`, `delete`, `state` and `list` of
// ordinary containers are done without Node, and say and do exactly what diyc-oci.js does;
// anything else is handed to diyc-oci.js unchanged. DIYC_OCI_NODE=/bin/false makes every
// hand over fail: a call that succeeds under it was the front's own.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { rootTag } from '@diyc/record';
import { isRoot, ociBundle, repo, rootReason, runBin, runCommand, tempDir, userEnv, type OciConfig } from './helpers.js';

/** strace, to hold one system call back and make a race happen every time. */
const hasStrace = spawnSync('strace', ['-V']).status === 0;

describe.skipIf(!isRoot)(`diyc-oci's native front (${rootReason})`, () => {
  const work = tempDir('diyc-oci-front-e2e-');
  const root = join(work.path, 'root');
  const parent = `diyc-e2e-front-${process.pid}`;
  const ids = new Set<string>();
  const oci = (...args: string[]) => runBin('diyc-oci', ['--root', root, ...args], { timeoutMs: 30_000 });
  /** The same call with no Node to hand over to. */
  const front = (...args: string[]) =>
    runBin('diyc-oci', ['--root', root, ...args], { env: { ...process.env, DIYC_OCI_NODE: '/bin/false' } });
  /** The same call done by diyc-oci.js alone. */
  const node = (...args: string[]) =>
    runCommand(process.execPath, [join(repo, 'packages', 'oci', 'bin', 'diyc-oci.js'), '--root', root, ...args]);
  const rootParent = `diyc-oci-${rootTag(root, '/run/diyc-oci')}`;

  const bundle = (name: string, script: string, change?: (config: OciConfig) => void): Promise<string> =>
    ociBundle(join(work.path, name), script, `/${parent}/${name}`, change);
  /** create, with the container's stdio in a file: it keeps it open, a pipe would never close. */
  const create = async (id: string, dir: string) => {
    ids.add(id);
    const log = join(dir, 'output');
    const fd = openSync(log, 'w');
    const child = spawn('diyc-oci', ['--root', root, 'create', '--bundle', dir, id], { env: userEnv(), stdio: ['ignore', fd, fd] });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    closeSync(fd);
    expect(code, readFileSync(log, 'utf8')).toBe(0);
  };
  const until = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 25));
  };
  const status = async (id: string) => JSON.parse((await oci('state', id)).stdout).status as string;

  beforeAll(() => mkdirSync(root, { recursive: true }));
  afterAll(async () => {
    for (const id of ids) await oci('delete', '--force', id);
    createCgroupManager({ parent }).pruneParent();
    work.remove();
  });

  it('starts, signals, reports and deletes an ordinary container without Node, as diyc-oci.js would', async () => {
    // The root's own cgroup parent (no cgroupsPath), which delete prunes; annotations with
    // every kind of character JSON escapes, copied into `state` as they are.
    const dir = await bundle('plain', "trap 'echo got TERM; exit 7' TERM; echo started; while :; do sleep 0.05; done", (c) => {
      delete c.linux.cgroupsPath;
      c.annotations = { 'com.example/quote"back\\slash': 'line\nbreak\ttab \u0001 \u2028 é 🙂', empty: '' };
    });
    await create('plain', dir);
    const plan = readFileSync(join(root, 'plain', 'front.plan'), 'utf8');
    const cgroups = plan.split('\n').flatMap((l) => (l.startsWith('cgroup ') ? [l.slice(7)] : []));
    expect(plan.split('\n')).toEqual(expect.arrayContaining(['start', 'delete']));
    expect(cgroups.length).toBeGreaterThan(0);
    expect(cgroups.every((d) => existsSync(d) && d.includes(`/${rootParent}/plain`))).toBe(true);

    const created = await front('state', 'plain');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe((await node('state', 'plain')).stdout);
    expect(JSON.parse(created.stdout)).toMatchObject({ status: 'created', annotations: { empty: '' } });

    const started = await front('start', 'plain');
    expect(started.code, started.stderr).toBe(0);
    await until(async () => readFileSync(join(dir, 'output'), 'utf8').includes('started'));
    expect(readFileSync(join(dir, 'output'), 'utf8')).toBe('started\n');
    const running = await front('state', 'plain');
    expect(running.stdout).toBe((await node('state', 'plain')).stdout);
    expect(JSON.parse(running.stdout).status).toBe('running');
    // The state the front wrote is one diyc-oci.js reads; the front's list is diyc-oci.js's.
    expect((await node('list', '--format', 'json')).stdout).toContain('"status":"running"');
    for (const args of [['list'], ['list', '--format', 'json'], ['list', '-q']]) {
      const listed = await front(...args);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toBe((await node(...args)).stdout);
    }

    const killed = await front('kill', 'plain', 'sigterm');
    expect(killed.code, killed.stderr).toBe(0);
    await until(async () => (await status('plain')) === 'stopped');
    expect(readFileSync(join(dir, 'output'), 'utf8')).toBe('started\ngot TERM\n');
    const stopped = await front('state', 'plain');
    expect(JSON.parse(stopped.stdout)).toMatchObject({ status: 'stopped', pid: 0 });
    expect(stopped.stdout).toBe((await node('state', 'plain')).stdout);

    // containerd's `kill --all` after every stop: the cgroup is empty, nothing to signal.
    expect(await front('kill', '--all', 'plain', 'KILL')).toMatchObject({ code: 0, stderr: '' });

    const deleted = await front('delete', 'plain');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(existsSync(join(root, 'plain'))).toBe(false);
    expect(existsSync(join(root, 'plain.lock'))).toBe(false);
    expect(cgroups.filter((d) => existsSync(d))).toEqual([]);
    expect(createCgroupManager({ parent: rootParent }).exists(`/${rootParent}`)).toBe(false);
    // containerd's second delete: nothing there, nothing said.
    expect(await front('delete', '--force', 'plain')).toMatchObject({ code: 0, stdout: '', stderr: '' });
    // Without --force that is an error, in diyc-oci.js's words: handed over.
    expect((await front('delete', 'plain')).code).toBe(1);
    expect((await oci('delete', 'plain')).stderr).toContain('does not exist');
  });

  it('hands over, before it changes anything, what it does not do: hooks, --all, a paused container, flags it does not know', async () => {
    const marker = join(work.path, 'poststart-ran');
    const dir = await bundle('hooked', 'sleep 100', (c) => {
      c.hooks = { poststart: [{ path: '/bin/sh', args: ['sh', '-c', `echo ran > ${marker}`] }] };
    });
    await create('hooked', dir);
    expect(readFileSync(join(root, 'hooked', 'front.plan'), 'utf8').split('\n')).not.toContain('start');
    expect((await front('start', 'hooked')).code).toBe(1);
    expect(await status('hooked')).toBe('created');
    expect((await oci('start', 'hooked')).code).toBe(0);
    expect(readFileSync(marker, 'utf8')).toBe('ran\n');

    for (const args of [
      ['kill', '--all', 'hooked', 'KILL'],
      ['kill', 'hooked', 'NOSUCHSIGNAL'],
      ['--debug', 'state', 'hooked'],
    ])
      expect((await front(...args)).code, args.join(' ')).toBe(1);
    // Running, not stopped: delete is Node's (and refused there).
    expect((await front('delete', 'hooked')).code).toBe(1);
    expect(await status('hooked')).toBe('running');

    // A paused container's SIGKILL must thaw it too: diyc-oci.js does that.
    expect((await oci('pause', 'hooked')).code).toBe(0);
    expect((await front('kill', 'hooked', 'KILL')).code).toBe(1);
    expect(await status('hooked')).toBe('paused');
    expect((await oci('kill', 'hooked', 'KILL')).code).toBe(0);
    await until(async () => (await status('hooked')) === 'stopped');
    expect(await status('hooked')).toBe('stopped');
  });

  it('hands over, before it removes any cgroup, a delete of a container that made a child cgroup in its own', async () => {
    // A writable cgroupfs of its own (a systemd in a container has one): a child cgroup in one
    // v1 hierarchy only. Removing the others first left a cgroup diyc-oci.js no longer saw.
    const dir = await bundle(
      'nested',
      'if [ -e /sys/fs/cgroup/cgroup.controllers ]; then mkdir /sys/fs/cgroup/sub; else mkdir /sys/fs/cgroup/memory/sub; fi && echo made',
      (c) => {
        for (const m of c.mounts) if (m.type === 'cgroup') m.options = (m.options as string[]).filter((o) => o !== 'ro');
        if (!c.linux.namespaces.some((n: { type: string }) => n.type === 'cgroup')) c.linux.namespaces.push({ type: 'cgroup' });
      },
    );
    await create('nested', dir);
    const cgroups = readFileSync(join(root, 'nested', 'front.plan'), 'utf8')
      .split('\n')
      .flatMap((l) => (l.startsWith('cgroup ') ? [l.slice(7)] : []));
    expect((await oci('start', 'nested')).code).toBe(0);
    await until(async () => (await status('nested')) === 'stopped');
    expect(readFileSync(join(dir, 'output'), 'utf8')).toBe('made\n');
    expect((await front('delete', 'nested')).code).toBe(1);
    expect(cgroups.filter((d) => !existsSync(d))).toEqual([]);
    expect(existsSync(join(root, 'nested', 'state.json'))).toBe(true);
    expect((await oci('delete', 'nested')).code).toBe(0);
    expect(cgroups.filter((d) => existsSync(d))).toEqual([]);
  });

  it.skipIf(!hasStrace)("takes over a dead holder's lock once, while diyc-oci.js takes it over too", async () => {
    const dir = await bundle('racing', 'sleep 100');
    await create('racing', dir);
    const lock = join(root, 'racing.lock');
    symlinkSync('99999999', lock);
    // The front's start, its removal of the dead holder's lock held back 1 s (strace) ...
    const started = runCommand(
      'strace',
      [
        '-qq',
        '-o',
        '/dev/null',
        '-e',
        'trace=unlink',
        '-e',
        'inject=unlink:delay_enter=1000000:when=1',
        join(repo, 'packages', 'oci', 'bin', 'diyc-oci'),
        '--root',
        root,
        'start',
        'racing',
      ],
      { env: { ...process.env, DIYC_OCI_NODE: '/bin/false' } },
    );
    await new Promise((r) => setTimeout(r, 300));
    // ... while diyc-oci.js's lock code finds the same dead holder, and holds the lock 1 s.
    const holder = `const { withLock } = require(${JSON.stringify(join(repo, 'packages', 'record', 'dist', 'index.js'))});
      const status = () => JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8')).status;
      withLock(process.argv[1], () => {
        console.log(status());
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
        console.log(status());
      });`;
    const held = await runCommand(process.execPath, ['-e', holder, lock, join(root, 'racing', 'state.json')]);
    const start = await started;
    expect(start.code, start.stderr).toBe(0);
    expect(held.code, held.stderr).toBe(0);
    // Nothing changed the state while it held the lock: the front did not take it from it.
    const [first, last] = held.stdout.trim().split('\n');
    expect(last).toBe(first);
    expect(await status('racing')).toBe('running');
    expect(existsSync(lock) || existsSync(`${lock}~`)).toBe(false);
  });

  it('takes over a lock left by a process that is gone, and releases it', async () => {
    const dir = await bundle('locked', 'sleep 100');
    await create('locked', dir);
    // A pid above any pid_max: its holder cannot be alive.
    symlinkSync('99999999', join(root, 'locked.lock'));
    const r = await front('start', 'locked');
    expect(r.code, r.stderr).toBe(0);
    expect(await status('locked')).toBe('running');
    expect(existsSync(join(root, 'locked.lock'))).toBe(false);
  });

  it("refuses a cgroupsPath holding ':', which would split the list of cgroup.procs files the process joins; nothing is left", async () => {
    // A ':' in a cgroupfs name would make the process join the files after it: here, the
    // parent's own cgroup in every hierarchy.
    const path = `/${parent}/colon/cgroup.procs:/sys/fs/cgroup/pids/${parent}`;
    const dir = await bundle('colon', 'sleep 100', (c) => {
      c.linux.cgroupsPath = path;
    });
    ids.add('colon');
    const r = await oci('create', '--bundle', dir, 'colon');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("holds ':' or a line break");
    expect(existsSync(join(root, 'colon'))).toBe(false);
    expect(createCgroupManager({ parent }).exists(path.split(':')[0] as string)).toBe(false);
  });
});
