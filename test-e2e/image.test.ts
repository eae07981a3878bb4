// diyc-image on archives made by real tools: GNU tar, umoci, python's tarfile for the
// malicious ones. The merged view of a layered image is checked by overlay-mounting
// its layers and comparing file by file with umoci's own unpack of the same image.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxTarball, isRoot, rootReason, runBin, tempDir, userEnv } from './helpers.js';
import { describeTree } from './tree.js';

const sh = (script: string, cwd?: string): string => execFileSync('sh', ['-c', script], { cwd, encoding: 'utf8' });

describe.skipIf(!isRoot)(`diyc-image (${rootReason})`, () => {
  const work = tempDir('diyc-image-e2e-');
  const root = join(work.path, 'state');
  const env = { ...process.env, DIYC_ROOT: root };
  const image = (...args: string[]) => runBin('diyc-image', args, { env });
  const imageJson = (name: string) =>
    JSON.parse(readFileSync(join(root, 'images', name, 'image.json'), 'utf8')) as { layers: string[]; config: Record<string, unknown> };
  const layerDir = (diffId: string) => join(root, 'layers', diffId.replace('sha256:', ''));
  const leftovers = () => (existsSync(join(root, 'tmp')) ? readdirSync(join(root, 'tmp')) : []);

  /** Mounts the image's layers with overlayfs (read-only, no upper) and describes the merged tree. */
  const mergedView = (name: string): Map<string, string> => {
    const lower = imageJson(name).layers.map(layerDir).reverse();
    const mnt = join(work.path, `merged-${name}`);
    mkdirSync(mnt, { recursive: true });
    const lowerdir = lower.length === 1 ? `${lower[0]}:${lower[0]}` : lower.join(':');
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerdir}`, mnt]);
    try {
      return describeTree(mnt, { mtimes: true });
    } finally {
      execFileSync('umount', [mnt]);
    }
  };

  afterAll(() => work.remove());

  it('unpacks the default busybox image and prints its record when piped', async () => {
    const r = await image('unpack', busyboxTarball());
    expect(r.code).toBe(0);
    const record = JSON.parse(r.stdout);
    expect(record.annotations['org.diyc.image']).toBe('busybox');
    expect(record.process.args).toEqual(['/bin/sh']);
    const layers = imageJson('busybox').layers;
    expect(layers).toHaveLength(1);
    expect(existsSync(join(layerDir(layers[0] as string), 'bin', 'busybox'))).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  it('keeps owners, modes, mtimes, links, devices, fifos and file capabilities of a GNU tar archive', async () => {
    const src = join(work.path, 'faithful');
    mkdirSync(src);
    sh(
      `
      mkdir -p sub sticky && chmod 1777 sticky
      printf data > sub/file && chown 1234:5678 sub/file && chmod 4750 sub/file
      printf x > sgid && chmod 2755 sgid
      ln sub/file hard && ln -s sub/file soft && ln -s /etc/passwd abs-link
      mkfifo fifo && mknod null c 1 3 && chmod 666 null
      printf ping > ping && chmod 755 ping && setcap cap_net_raw+ep ping
      touch -h -d '2001-02-03 04:05:06 UTC' sub/file soft
    `,
      src,
    );
    const archive = join(work.path, 'faithful.tar');
    sh(`tar --xattrs --xattrs-include='*' --numeric-owner -cpf ${archive} -C ${src} .`);
    const r = await image('unpack', archive, '--name', 'faithful');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const dir = layerDir(imageJson('faithful').layers[0] as string);
    const file = statSync(join(dir, 'sub/file'));
    expect([file.uid, file.gid, (file.mode & 0o7777).toString(8)]).toEqual([1234, 5678, '4750']);
    expect(file.mtime.toISOString()).toBe('2001-02-03T04:05:06.000Z');
    expect((statSync(join(dir, 'sgid')).mode & 0o7777).toString(8)).toBe('2755');
    expect((statSync(join(dir, 'sticky')).mode & 0o7777).toString(8)).toBe('1777');
    expect(statSync(join(dir, 'hard')).ino).toBe(file.ino);
    expect(sh(`readlink ${dir}/soft ${dir}/abs-link`)).toBe('sub/file\n/etc/passwd\n');
    expect(statSync(join(dir, 'fifo')).isFIFO()).toBe(true);
    const dev = statSync(join(dir, 'null'));
    expect([dev.isCharacterDevice(), dev.rdev]).toEqual([true, 0x103]);
    expect(sh(`getcap ${dir}/ping`)).toContain('cap_net_raw=ep');
    // The whole tree, as GNU tar wrote it.
    expect(describeTree(dir, { mtimes: true })).toEqual(describeTree(src, { mtimes: true }));
  });

  describe('an OCI layout made by umoci, two layers: a file deleted, a directory replaced', () => {
    const layout = join(work.path, 'oci');
    const reference = join(work.path, 'ref');
    beforeAll(() => {
      const base = join(work.path, 'bundle-base');
      const next = join(work.path, 'bundle-v2');
      sh(`umoci init --layout ${layout} && umoci new --image ${layout}:base && umoci unpack --image ${layout}:base ${base}`);
      sh(
        `tar -xpf ${busyboxTarball()} -C ${base}/rootfs && mkdir -p ${base}/rootfs/data/dir && echo one > ${base}/rootfs/data/dir/file1 && echo gone > ${base}/rootfs/etc/remove-me`,
      );
      sh(
        `umoci repack --image ${layout}:v1 ${base} && umoci config --image ${layout}:v1 --config.env GREETING=hello --config.cmd /bin/echo --config.cmd hi --config.workingdir /data`,
      );
      sh(
        `umoci unpack --image ${layout}:v1 ${next} && rm ${next}/rootfs/etc/remove-me && rm -r ${next}/rootfs/data/dir && mkdir ${next}/rootfs/data/dir && echo two > ${next}/rootfs/data/dir/file2`,
      );
      sh(`umoci repack --image ${layout}:v2 ${next} && umoci rm --image ${layout}:base && umoci unpack --image ${layout}:v2 ${reference}`);
    });

    it('unpacks LAYOUT:TAG into layers whose merged view is what umoci unpacks', async () => {
      const r = await image('unpack', `${layout}:v2`, '--name', 'ocitest', '--json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const img = imageJson('ocitest');
      expect(img.layers.length).toBeGreaterThanOrEqual(2);
      expect(img.config).toMatchObject({ Env: expect.arrayContaining(['GREETING=hello']), Cmd: ['/bin/echo', 'hi'], WorkingDir: '/data' });
      const merged = mergedView('ocitest');
      expect(merged.has('etc/remove-me')).toBe(false);
      expect(merged.has('data/dir/file1')).toBe(false);
      expect(merged.get('data/dir/file2')).toMatch(/^file:4:/);
      expect(merged).toEqual(describeTree(join(reference, 'rootfs'), { mtimes: true }));
      const record = JSON.parse(r.stdout);
      expect(record.process).toMatchObject({ args: ['/bin/echo', 'hi'], cwd: '/data' });
      expect(record.process.env).toContain('GREETING=hello');
    });

    it('asks which image when a layout holds several', async () => {
      const r = await image('unpack', layout, '--name', 'which');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/several images .*v1.*v2.*LAYOUT:TAG/);
    });
  });

  it('unpacks a docker save archive with gzip layers, a whiteout and an opaque directory, sharing its base layer', async () => {
    const dir = join(work.path, 'docker');
    const upper = join(work.path, 'upper-src');
    mkdirSync(join(dir, 'l2'), { recursive: true });
    mkdirSync(join(upper, 'etc'), { recursive: true });
    mkdirSync(join(upper, 'var/www'), { recursive: true });
    sh(`touch etc/.wh.hosts var/www/.wh..wh..opq && echo opaque > var/www/only.html`, upper);
    const base = readFileSync(busyboxTarball());
    sh(
      `gzip -c ${busyboxTarball()} > ${dir}/base.tar.gz && tar -cf ${dir}/l2/layer.tar -C ${upper} etc var && gzip -k ${dir}/l2/layer.tar`,
    );
    const l2 = readFileSync(join(dir, 'l2/layer.tar'));
    const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [sha(base), sha(l2)] } }),
    );
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify([{ Config: 'config.json', RepoTags: ['example.org/team/tool:1.0'], Layers: ['base.tar.gz', 'l2/layer.tar.gz'] }]),
    );
    const archive = join(work.path, 'docker-save.tar');
    sh(`tar -cf ${archive} -C ${dir} manifest.json config.json base.tar.gz l2/layer.tar.gz`);
    const r = await image('unpack', archive);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const img = imageJson('tool');
    expect(img.layers).toEqual([sha(base), sha(l2)]);
    // The busybox layer was unpacked before: stored once.
    expect(img.layers[0]).toBe(imageJson('busybox').layers[0]);
    const merged = mergedView('tool');
    expect(merged.has('etc/hosts')).toBe(false);
    expect(merged.has('etc/passwd')).toBe(true);
    expect([...merged.keys()].filter((k) => k.startsWith('var/www/'))).toEqual(['var/www/only.html']);
    expect(leftovers()).toEqual([]);
  });

  describe('never writes outside the image', () => {
    const outside = join(work.path, 'outside');
    const craft = (name: string, python: string): string => {
      const file = join(work.path, `${name}.tar`);
      execFileSync('python3', [
        '-c',
        `
import io, tarfile
t = tarfile.open(${JSON.stringify(file)}, 'w', format=tarfile.GNU_FORMAT)
def add(name, data=b'pwned', **kw):
    info = tarfile.TarInfo(name)
    for k, v in kw.items(): setattr(info, k, v)
    info.size = len(data) if info.type == tarfile.REGTYPE else 0
    t.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
add('ok', b'fine')
${python}
t.close()
`,
      ]);
      return file;
    };
    const cases: [string, string, RegExp][] = [
      ['dotdot', `add('../outside/evil')`, /unsafe entry '\.\.\/outside\/evil': its path contains '\.\.'/],
      ['absolute', `add(${JSON.stringify(`${outside}/evil`)})`, /unsafe entry '.*\/outside\/evil': its path is absolute/],
      [
        'symlink',
        `add('link', type=tarfile.SYMTYPE, linkname=${JSON.stringify(outside)})\nadd('link/evil')`,
        /unsafe entry 'link\/evil': its path goes through the symlink 'link'/,
      ],
      [
        'hardlink-up',
        `add('hl', type=tarfile.LNKTYPE, linkname='../outside/victim')`,
        /unsafe entry 'hl': its hardlink target contains '\.\.'/,
      ],
      [
        'hardlink-abs',
        `add('hl', type=tarfile.LNKTYPE, linkname=${JSON.stringify(`${outside}/victim`)})`,
        /unsafe entry 'hl': its hardlink target is absolute/,
      ],
      // A whiteout of '..' named the directory above the layer: diyc-image removed it.
      ['whiteout-dotdot', `add('.wh...')`, /unsafe entry '\.wh\.\.\.': it is a whiteout of '\.\.'/],
      // A symlink '.' replaced the layer root: every later entry was written where it pointed.
      [
        'root-symlink',
        `add('.', type=tarfile.SYMTYPE, linkname=${JSON.stringify(outside)})\nadd('evil')`,
        /unsafe entry '\.': it would replace the layer root with what is not a directory/,
      ],
    ];
    beforeAll(() => {
      mkdirSync(outside, { recursive: true });
      writeFileSync(join(outside, 'victim'), 'original');
    });

    it('names a hostile entry with its control characters escaped: the error cannot rewrite the terminal', async () => {
      const r = await image('unpack', craft('escapes', `add('\\x1b]0;owned\\x07\\x1b[2J/../x')`), '--name', 'evil-escapes');
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("diyc-image unpack: unsafe entry '\\x1b]0;owned\\x07\\x1b[2J/../x': its path contains '..'\n");
    });

    it.each(cases)('refuses %s, names the entry, and leaves the outside alone', async (name, python, message) => {
      const r = await image('unpack', craft(name, python), '--name', `evil-${name}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(readdirSync(outside)).toEqual(['victim']);
      expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('original');
      expect(statSync(join(outside, 'victim')).nlink).toBe(1);
      expect(existsSync(join(root, 'images', `evil-${name}`))).toBe(false);
      expect(leftovers()).toEqual([]);
    });
  });

  it('refuses an entry of a kind it cannot write, rather than leave it out', async () => {
    const file = join(work.path, 'volume.tar');
    execFileSync('python3', [
      '-c',
      `
import io, tarfile
t = tarfile.open(${JSON.stringify(file)}, 'w', format=tarfile.GNU_FORMAT)
i = tarfile.TarInfo('ok'); i.size = 2; t.addfile(i, io.BytesIO(b'ok'))
v = tarfile.TarInfo('tape-label'); v.type = b'V'; t.addfile(v)
t.close()
`,
    ]);
    const r = await image('unpack', file, '--name', 'volume');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("entry 'tape-label' is of a kind diyc-image cannot write");
    expect(existsSync(join(root, 'images', 'volume'))).toBe(false);
  });

  describe('is atomic', () => {
    it('leaves no image and no temporary directory after a truncated or corrupt archive', async () => {
      const whole = readFileSync(busyboxTarball());
      const cut = join(work.path, 'cut.tar');
      writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
      const truncated = await image('unpack', cut, '--name', 'cut');
      expect(truncated.code).toBe(1);
      expect(truncated.stderr).toMatch(/corrupt: .*Truncated/);
      const garbage = join(work.path, 'garbage.tar');
      writeFileSync(garbage, Buffer.alloc(4096, 7));
      expect((await image('unpack', garbage, '--name', 'garbage')).code).toBe(1);
      expect(existsSync(join(root, 'images', 'cut'))).toBe(false);
      expect(existsSync(join(root, 'images', 'garbage'))).toBe(false);
      expect(leftovers()).toEqual([]);
    });

    const halfway = async (signal: NodeJS.Signals): Promise<number | null> => {
      // Feed half an archive through stdin and stop: the unpack waits for the rest.
      const child = spawn('diyc-image', ['unpack', '-', '--name', `half-${signal}`], {
        env: userEnv(env),
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      const whole = readFileSync(busyboxTarball());
      child.stdin.write(whole.subarray(0, whole.length / 2));
      for (let i = 0; i < 100 && leftovers().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(leftovers()).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 100));
      child.kill(signal);
      return new Promise((resolve) => child.on('close', (code) => resolve(code)));
    };

    it('cleans up on Ctrl-C (SIGINT) and exits 130', async () => {
      expect(await halfway('SIGINT')).toBe(130);
      expect(leftovers()).toEqual([]);
      expect(existsSync(join(root, 'images', 'half-SIGINT'))).toBe(false);
    });

    it('after kill -9, the next run removes the stray temporary directory', async () => {
      await halfway('SIGKILL');
      expect(leftovers()).toHaveLength(1);
      expect(existsSync(join(root, 'images', 'half-SIGKILL'))).toBe(false);
      expect((await image('unpack', busyboxTarball(), '--name', 'after-kill')).code).toBe(0);
      expect(leftovers()).toEqual([]);
    });
  });

  it('refuses an image whose config names a host directory as a layer (diff_id sha256:../../etc)', async () => {
    const dir = join(work.path, 'hostile');
    mkdirSync(join(dir, 'files'), { recursive: true });
    sh('echo hi > files/x && tar -cf l.tar -C files x', dir);
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: ['sha256:../../../../../../../../etc'] },
      }),
    );
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['hostile:latest'], Layers: ['l.tar'] }]));
    sh('tar -cf hostile.tar manifest.json config.json l.tar', dir);
    const r = await image('unpack', join(dir, 'hostile.tar'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("'sha256:../../../../../../../../etc' is not a layer digest");
    expect(existsSync(join(root, 'images', 'hostile'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('refuses a docker save archive whose layer is a link out of it (to a host file) or a FIFO, reading neither', async () => {
    // A tar on the host that an attacker would like to see in an image: /etc/shadow, a disk.
    const secret = join(work.path, 'secret');
    mkdirSync(join(secret, 'files'), { recursive: true });
    sh('echo host-secret > files/secret && tar -cf secret.tar -C files secret', secret);
    const craft = (name: string, layer: string): string => {
      const dir = join(work.path, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ config: {}, rootfs: { type: 'layers', diff_ids: [] } }));
      writeFileSync(
        join(dir, 'manifest.json'),
        JSON.stringify([{ Config: 'config.json', RepoTags: [`${name}:latest`], Layers: ['layer.tar'] }]),
      );
      sh(`${layer} && tar -cf ${name}.tar manifest.json config.json layer.tar`, dir);
      return join(dir, `${name}.tar`);
    };
    const linked = await image('unpack', craft('linkout', `ln -s ${join(secret, 'secret.tar')} layer.tar`));
    expect([linked.code, linked.stderr]).toEqual([1, "diyc-image unpack: layer 'layer.tar' is a link that leads out of the image\n"]);
    const fifo = await image('unpack', craft('fifo', 'mkfifo layer.tar'));
    expect([fifo.code, fifo.stderr]).toEqual([1, "diyc-image unpack: layer 'layer.tar' is not a regular file\n"]);
    expect(existsSync(join(root, 'images', 'linkout'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('lists, inspects and removes images; refuses to remove one a container uses', async () => {
    const ls = await image('ls', '--json');
    expect((JSON.parse(ls.stdout) as { name: string }[]).map((i) => i.name)).toEqual(
      expect.arrayContaining(['busybox', 'tool', 'after-kill']),
    );
    const inspect = await image('inspect', 'busybox');
    expect(JSON.parse(inspect.stdout).layerPaths[0]).toMatch(/layers\/[0-9a-f]{64}$/);
    mkdirSync(join(root, 'containers', 'user1'), { recursive: true });
    writeFileSync(join(root, 'containers', 'user1', 'config.json'), JSON.stringify({ annotations: { 'org.diyc.image': 'after-kill' } }));
    const refused = await image('rm', 'after-kill');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('used by container user1');
    expect((await image('rm', '--force', 'after-kill')).code).toBe(0);
    // busybox still uses the shared layer.
    expect(existsSync(layerDir(imageJson('busybox').layers[0] as string))).toBe(true);
    expect((await image('rm', 'tool')).code).toBe(0);
    expect((await image('rm', 'busybox')).stdout).toMatch(/removed busybox/);
    expect((await image('inspect', 'busybox')).code).toBe(1);
  });
});
