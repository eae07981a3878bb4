// diyc cp, save and load end to end: the bin from PATH as a docker user types it. Files go
// into a running container and are read back with `diyc exec`; a tree comes out; a stopped
// container is copied from with no mount left behind; and a container that plants symlinks
// to host paths (/etc, a marker directory of this test's under /tmp, ../../..) gets its own
// files copied, never the host's, in either direction. Then busybox saved, removed, loaded
// and run; a hostile archive refused.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { busyboxTarball, isRoot, onTerminal, rootReason, runBin, runCommand, tempDir, testNetwork, userEnv } from './helpers.js';

describe.skipIf(!isRoot)(`diyc cp, save, load (${rootReason})`, () => {
  const { bridge, subnet } = testNetwork('p');
  const work = tempDir('diyc-cp-e2e-');
  const root = join(work.path, 'state');
  const parent = `diyc-e2e-cp-${process.pid}`;
  const env = { ...process.env, DIYC_ROOT: root, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet, DIYC_CGROUP_PARENT: parent };
  const diyc = (args: string[], input?: string) =>
    runBin('diyc', args, { env, timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  const sh = (script: string) => runCommand('sh', ['-c', script], { env: userEnv(env), timeoutMs: 60_000 });
  const cgroups = createCgroupManager({ parent });
  const mounts = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(root));
  const mountsOf = (name: string) => mounts().filter((l) => l.includes(`/containers/${name}/`));
  // A host directory the container's symlinks name: what is in it must never come out.
  const marker = `/tmp/diyc-cp-marker-${process.pid}`;
  const hostFile = `dcp-host-x-${process.pid}`;
  const box = `dcp-run-${process.pid}`;
  const stopped = `dcp-stop-${process.pid}`;
  const host = (name: string) => join(work.path, name);

  beforeAll(async () => {
    expect((await runBin('diyc-image', ['unpack', busyboxTarball()], { env })).code).toBe(0);
    mkdirSync(marker, { recursive: true });
    writeFileSync(join(marker, 'secret'), 'HOST SECRET\n');
    const r = await diyc(['run', '-d', '--name', box, '--net', 'none', '--pull', 'never', 'busybox', 'sleep', '300']);
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    const left = (await diyc(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter((l) => l !== '');
    if (left.length > 0) await diyc(['rm', '-f', ...left]);
    for (const n of cgroups.list()) cgroups.remove(cgroups.pathOf(n), { force: true });
    cgroups.pruneParent();
    rmSync(marker, { recursive: true, force: true });
    rmSync(`/etc/${hostFile}`, { force: true });
    work.remove();
  });

  it('copies a host file into a running container: diyc exec reads it there', async () => {
    writeFileSync(host('greeting'), 'hello from the host\n');
    const r = await diyc(['cp', host('greeting'), `${box}:/tmp/`]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect((await diyc(['exec', box, 'cat', '/tmp/greeting'])).stdout).toBe('hello from the host\n');
    // A new name, and a file over a file.
    expect((await diyc(['cp', host('greeting'), `${box}:/tmp/renamed`])).code).toBe(0);
    expect((await diyc(['exec', box, 'cat', '/tmp/renamed'])).stdout).toBe('hello from the host\n');
  });

  it('gives the files to root, or with -a keeps their uid and gid', async () => {
    writeFileSync(host('owned'), 'mine\n');
    execFileSync('chown', ['1234:2345', host('owned')]);
    expect((await diyc(['cp', host('owned'), `${box}:/tmp/plain`])).code).toBe(0);
    expect((await diyc(['cp', '-a', host('owned'), `${box}:/tmp/kept`])).code).toBe(0);
    const owners = await diyc(['exec', box, 'stat', '-c', '%u:%g', '/tmp/plain', '/tmp/kept']);
    expect(owners.stdout).toBe('0:0\n1234:2345\n');
  });

  it("reaches a running container's volumes, as docker does: a file copied to the mount point lands in the host directory", async () => {
    mkdirSync(host('vol'));
    const name = `dcp-vol-${process.pid}`;
    expect(
      (
        await diyc([
          'run',
          '-d',
          '--name',
          name,
          '--net',
          'none',
          '--pull',
          'never',
          '-v',
          `${host('vol')}:/data`,
          'busybox',
          'sleep',
          '300',
        ])
      ).code,
    ).toBe(0);
    writeFileSync(host('to-volume'), 'in the volume\n');
    expect((await diyc(['cp', host('to-volume'), `${name}:/data/`])).code).toBe(0);
    expect(readFileSync(host('vol/to-volume'), 'utf8')).toBe('in the volume\n');
    expect((await diyc(['rm', '-f', name])).code).toBe(0);
  });

  it('copies a directory out, and its contents alone with SRC/.', async () => {
    const made = await diyc([
      'exec',
      box,
      'sh',
      '-c',
      'mkdir -p /srv/site/css && echo page > /srv/site/index.html && echo body > /srv/site/css/a.css',
    ]);
    expect(made.code, made.stderr).toBe(0);
    expect((await diyc(['cp', `${box}:/srv/site`, host('out')])).code).toBe(0);
    expect(readFileSync(host('out/index.html'), 'utf8')).toBe('page\n');
    expect(readFileSync(host('out/css/a.css'), 'utf8')).toBe('body\n');
    mkdirSync(host('into'));
    expect((await diyc(['cp', `${box}:/srv/site`, host('into')])).code).toBe(0);
    expect(readFileSync(host('into/site/index.html'), 'utf8')).toBe('page\n');
    mkdirSync(host('contents'));
    expect((await diyc(['cp', `${box}:/srv/site/.`, host('contents')])).code).toBe(0);
    expect(readFileSync(host('contents/index.html'), 'utf8')).toBe('page\n');
  });

  it("says docker's errors, exit 1: a missing path, a missing DEST directory, a directory over a file", async () => {
    const missing = await diyc(['cp', `${box}:/no/such`, host('x')]);
    expect([missing.code, missing.stderr]).toEqual([1, `diyc cp: No such container:path: ${box}:/no/such\n`]);
    const parentless = await diyc(['cp', `${box}:/srv/site/index.html`, host('no/dir/x')]);
    expect([parentless.code, parentless.stderr]).toEqual([
      1,
      `diyc cp: invalid output path: directory "${host('no/dir')}" does not exist\n`,
    ]);
    const overFile = await diyc(['cp', host('out'), `${box}:/tmp/greeting`]);
    expect([overFile.code, overFile.stderr]).toEqual([1, 'diyc cp: cannot copy directory\n']);
    const neither = await diyc(['cp', host('a'), host('b')]);
    expect([neither.code, neither.stderr]).toEqual([1, 'diyc cp: must specify at least one container source\n']);
  });

  it("tar streams both ways with '-'", async () => {
    const out = await sh(`diyc cp ${box}:/srv/site - | tar -tf -`);
    expect(out.stdout.split('\n').filter(Boolean).sort()).toEqual(['site/', 'site/css/', 'site/css/a.css', 'site/index.html']);
    mkdirSync(host('tarred/deep'), { recursive: true });
    writeFileSync(host('tarred/deep/f'), 'from a tar\n');
    const into = await sh(`tar -C ${host('tarred')} -cf - . | diyc cp - ${box}:/tmp`);
    expect(into.code, into.stderr).toBe(0);
    expect((await diyc(['exec', box, 'cat', '/tmp/deep/f'])).stdout).toBe('from a tar\n');
    const hostile = await sh(
      `printf x > ${host('evil')} && tar -C ${work.path} -cf - -P --transform 's,^,../../,' evil | diyc cp - ${box}:/tmp`,
    );
    expect(hostile.code).toBe(1);
    expect(hostile.stderr).toContain('leads out of the destination');
  });

  it("never writes through a symlink the container planted: /tmp/evil -> /etc stays the container's /etc", async () => {
    const planted = await diyc(['exec', box, 'sh', '-c', `ln -s /etc /tmp/evil && ln -s ../../../../../../${marker.slice(1)} /tmp/up`]);
    expect(planted.code, planted.stderr).toBe(0);
    writeFileSync(host('payload'), 'payload\n');
    expect((await diyc(['cp', host('payload'), `${box}:/tmp/evil/${hostFile}`])).code).toBe(0);
    expect(existsSync(`/etc/${hostFile}`)).toBe(false);
    expect((await diyc(['exec', box, 'cat', `/etc/${hostFile}`])).stdout).toBe('payload\n');
    // ../../.. stops at the container's root: the marker directory there is the container's own (made now).
    const up = await diyc(['cp', host('payload'), `${box}:/tmp/up/`]);
    expect(existsSync(join(marker, 'payload'))).toBe(false);
    expect(up.code).toBe(1);
    expect(readFileSync(join(marker, 'secret'), 'utf8')).toBe('HOST SECRET\n');
  });

  it('never reads a host file through one: a symlink comes out as a symlink, -L resolves it inside the container', async () => {
    const planted = await diyc(['exec', box, 'sh', '-c', `ln -s ${marker}/secret /tmp/secret-link && ln -s ${marker} /tmp/mark`]);
    expect(planted.code, planted.stderr).toBe(0);
    // Through a directory symlink: the container has no such directory, so nothing comes out.
    const through = await diyc(['cp', `${box}:/tmp/mark/secret`, host('stolen')]);
    expect([through.code, through.stderr]).toEqual([1, `diyc cp: No such container:path: ${box}:/tmp/mark/secret\n`]);
    expect(existsSync(host('stolen'))).toBe(false);
    expect((await diyc(['cp', `${box}:/tmp/up/secret`, host('stolen')])).code).toBe(1);
    expect(existsSync(host('stolen'))).toBe(false);
    // The link itself: copied as a link (what it names on the host is never read).
    expect((await diyc(['cp', `${box}:/tmp/secret-link`, host('link')])).code).toBe(0);
    expect(lstatSync(host('link')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(host('link'))).toBe(`${marker}/secret`);
    // -L follows it inside the container: its own file of that name, not the host's.
    expect((await diyc(['cp', '-L', `${box}:/tmp/secret-link`, host('followed')])).code).toBe(1);
    expect((await diyc(['exec', box, 'sh', '-c', `mkdir -p ${marker} && echo CONTAINER > ${marker}/secret`])).code).toBe(0);
    expect((await diyc(['cp', '-L', `${box}:/tmp/secret-link`, host('followed')])).code).toBe(0);
    expect(readFileSync(host('followed'), 'utf8')).toBe('CONTAINER\n');
    expect((await diyc(['cp', `${box}:/tmp/mark/secret`, host('through')])).code).toBe(0);
    expect(readFileSync(host('through'), 'utf8')).toBe('CONTAINER\n');
  });

  it('copies to and from a stopped container, and from one never started, leaving no mount', async () => {
    expect((await diyc(['create', '--name', stopped, '--net', 'none', '--pull', 'never', 'busybox', 'cat', '/data'])).code).toBe(0);
    writeFileSync(host('in'), 'copied before the start\n');
    const into = await diyc(['cp', host('in'), `${stopped}:/data`]);
    // /data does not exist: a file to a new name in an existing parent.
    expect([into.code, into.stderr]).toEqual([0, '']);
    expect(mountsOf(stopped)).toEqual([]);
    const run = await diyc(['start', '-a', stopped]);
    expect([run.code, run.stdout]).toEqual([0, 'copied before the start\n']);
    expect(mountsOf(stopped)).toEqual([]);
    expect((await diyc(['cp', `${stopped}:/data`, host('back')])).code).toBe(0);
    expect(readFileSync(host('back'), 'utf8')).toBe('copied before the start\n');
    expect(mountsOf(stopped)).toEqual([]);
    // The running one, stopped: what was written in it is still there to copy out.
    expect((await diyc(['stop', '-t', '1', box])).code).toBe(0);
    expect((await diyc(['cp', `${box}:/tmp/greeting`, host('after-stop')])).code).toBe(0);
    expect(readFileSync(host('after-stop'), 'utf8')).toBe('hello from the host\n');
    expect(mounts()).toEqual([]);
  });

  it('save busybox, rmi it, load it: Loaded image: busybox:latest, and it runs', async () => {
    const file = host('busybox.tar');
    expect((await diyc(['rm', '-f', box, stopped])).code).toBe(0);
    const saved = await diyc(['save', '-o', file, 'busybox']);
    expect([saved.code, saved.stderr]).toEqual([0, '']);
    const members = execFileSync('tar', ['-tf', file], { encoding: 'utf8' });
    expect(members).toMatch(/^manifest\.json$/m);
    expect(members).toMatch(/^repositories$/m);
    expect(JSON.parse(execFileSync('tar', ['-xOf', file, 'manifest.json'], { encoding: 'utf8' }))[0].RepoTags).toEqual(['busybox:latest']);
    expect((await diyc(['rmi', 'busybox'])).code).toBe(0);
    expect((await diyc(['run', '--rm', '--pull', 'never', '--net', 'none', 'busybox', 'true'])).code).toBe(125);
    const loaded = await sh(`diyc load < ${file}`);
    expect([loaded.code, loaded.stdout]).toEqual([0, 'Loaded image: busybox:latest\n']);
    const ran = await diyc(['run', '--rm', '--pull', 'never', '--net', 'none', 'busybox', 'echo', 'loaded']);
    expect([ran.code, ran.stdout]).toEqual([0, 'loaded\n']);
    // To stdout, as a pipe: the same archive a second load takes.
    const piped = await sh(`diyc save busybox | diyc load`);
    expect([piped.code, piped.stdout]).toEqual([0, 'Loaded image: busybox:latest\n']);
  });

  it('save refuses a terminal, as docker does, and load a terminal for its stdin', async () => {
    const vars = { DIYC_ROOT: root, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet, DIYC_CGROUP_PARENT: parent };
    // The command ends at once, and its terminal with it: its error line goes to a file.
    await onTerminal(['diyc', 'save', 'busybox', `2>${host('save.err')}`], vars, async (t) => {
      expect(await t.exitStatus()).toBe('1');
    });
    expect(readFileSync(host('save.err'), 'utf8')).toBe(
      'diyc save: cowardly refusing to save to a terminal. Use the -o flag or redirect\n',
    );
    await onTerminal(['diyc', 'load', `2>${host('load.err')}`], vars, async (t) => {
      expect(await t.exitStatus()).toBe('1');
    });
    expect(readFileSync(host('load.err'), 'utf8')).toBe('diyc load: requested load from stdin, but stdin is empty\n');
  });

  it('refuses a hostile archive: a layer named ../, and a layer whose digest is not its diff_id', async () => {
    const dir = host('hostile');
    mkdirSync(join(dir, 'l'), { recursive: true });
    writeFileSync(join(dir, 'l', 'layer.tar'), Buffer.alloc(1024));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] } }));
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify([{ Config: 'config.json', RepoTags: ['evil:1'], Layers: ['../../../etc/passwd'] }]),
    );
    execFileSync('tar', ['-C', dir, '-cf', host('outside.tar'), '.']);
    const outside = await diyc(['load', '-i', host('outside.tar')]);
    expect([outside.code, outside.stderr]).toEqual([1, "diyc load: layer '../../../etc/passwd' points outside the image\n"]);
    writeFileSync(join(dir, 'l', 'layer.tar'), execFileSync('tar', ['-C', dir, '-cf', '-', 'config.json']));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['evil:1'], Layers: ['l/layer.tar'] }]));
    execFileSync('tar', ['-C', dir, '-cf', host('digest.tar'), '.']);
    const digest = await diyc(['load', '-i', host('digest.tar')]);
    expect(digest.code).toBe(1);
    expect(digest.stderr).toMatch(
      /layer 1 of sha256:[0-9a-f]{64} is corrupt: its content is sha256:[0-9a-f]{64}, the image config says sha256:0{64}/,
    );
    expect((await diyc(['images', '--format', '{{.Repository}}'])).stdout).toBe('busybox\n');
  });
});
