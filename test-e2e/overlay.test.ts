// diyc-overlay on real overlayfs: a container's files land in its upper layer, the
// image stays as it was, and they survive an unmount. An image of 40 layers mounts.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxTarball, isRoot, rootReason, runBin, tempDir } from './helpers.js';

describe.skipIf(!isRoot)(`diyc-overlay (${rootReason})`, () => {
  const work = tempDir('diyc-overlay-e2e-');
  const root = join(work.path, 'state');
  const env = { ...process.env, DIYC_ROOT: root };
  const overlay = (...args: string[]) => runBin('diyc-overlay', args, { env });
  const mountsUnder = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(root));
  const inContainer = async (name: string, script: string) => {
    const mounted = await overlay('mount', name, '--image', 'busybox');
    expect(mounted.code, mounted.stderr).toBe(0);
    const record = JSON.parse(mounted.stdout);
    record.process.args = ['/bin/sh', '-c', script];
    return runBin('nsexec', ['--config', '-'], { env, input: JSON.stringify(record) });
  };

  beforeAll(async () => {
    expect((await runBin('diyc-image', ['unpack', busyboxTarball()], { env })).code).toBe(0);
  });
  afterAll(async () => {
    for (const name of existsSync(join(root, 'containers')) ? readdirSync(join(root, 'containers')) : []) await overlay('rm', name);
    work.remove();
  });

  it("puts the container's writes in its upper layer, hides deleted image files, and leaves the image alone", async () => {
    const r = await inContainer('box', 'echo kept > /root/note && rm /etc/hosts && ls /etc');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).not.toContain('hosts');
    const upper = join(root, 'containers', 'box', 'upper');
    expect(readFileSync(join(upper, 'root', 'note'), 'utf8')).toBe('kept\n');
    // The deletion is a whiteout in the upper layer; the image still has the file.
    const layer = JSON.parse(readFileSync(join(root, 'images', 'busybox', 'image.json'), 'utf8')).layers[0].replace('sha256:', '');
    expect(existsSync(join(root, 'layers', layer, 'etc', 'hosts'))).toBe(true);
    expect(existsSync(join(root, 'layers', layer, 'root', 'note'))).toBe(false);
  });

  it('keeps the files across umount and mount; mounting twice is one mount', async () => {
    expect((await overlay('umount', 'box')).code).toBe(0);
    expect(mountsUnder()).toEqual([]);
    expect((await overlay('umount', 'box')).code).toBe(0); // idempotent
    const r = await inContainer('box', 'cat /root/note; test -e /etc/hosts || echo hosts-gone');
    expect(r.stdout).toBe('kept\nhosts-gone\n');
    expect((await overlay('mount', 'box', '--image', 'busybox')).code).toBe(0);
    expect(mountsUnder()).toHaveLength(1);
  });

  it("rm unmounts and removes the container's layer", async () => {
    expect((await overlay('rm', 'box')).code).toBe(0);
    expect(mountsUnder()).toEqual([]);
    expect(existsSync(join(root, 'containers', 'box', 'upper'))).toBe(false);
    expect((await overlay('rm', 'box')).code).toBe(0);
  });

  it('mounts an image of 40 layers within one page of mount options', async () => {
    const dir = join(work.path, 'forty');
    const layers: string[] = [];
    const diffIds: string[] = [];
    for (let i = 0; i < 40; i++) {
      const src = join(dir, `src${i}`);
      mkdirSync(join(src, 'layers'), { recursive: true });
      writeFileSync(join(src, 'layers', `l${i}`), `${i}\n`);
      execFileSync('tar', ['-cf', join(dir, `l${i}.tar`), '-C', src, 'layers']);
      layers.push(`l${i}.tar`);
      diffIds.push(
        `sha256:${createHash('sha256')
          .update(readFileSync(join(dir, `l${i}.tar`)))
          .digest('hex')}`,
      );
    }
    execFileSync('cp', [busyboxTarball(), join(dir, 'base.tar')]);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ config: {}, rootfs: { diff_ids: [] } }));
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify([{ Config: 'config.json', RepoTags: ['forty:1'], Layers: ['base.tar', ...layers] }]),
    );
    execFileSync('tar', ['-cf', join(work.path, 'forty.tar'), '-C', dir, 'manifest.json', 'config.json', 'base.tar', ...layers]);
    expect((await runBin('diyc-image', ['unpack', join(work.path, 'forty.tar')], { env })).code).toBe(0);
    const mounted = await overlay('mount', 'tall', '--image', 'forty');
    expect(mounted.code, mounted.stderr).toBe(0);
    const record = JSON.parse(mounted.stdout);
    record.process.args = ['/bin/sh', '-c', 'ls /layers | wc -l; cat /layers/l39'];
    const r = await runBin('nsexec', ['--config', '-'], { env, input: JSON.stringify(record) });
    expect(r.stdout.split('\n').map((s) => s.trim())).toEqual(['40', '39', '']);
    expect((await overlay('rm', 'tall')).code).toBe(0);
    expect(mountsUnder()).toEqual([]);
  });

  it('says what to do when the image is missing', async () => {
    const r = await overlay('mount', 'x', '--image', 'nope');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("image 'nope' not found: pull it (diyc-image pull REF --name nope) or unpack it");
    const none = await runBin('diyc-overlay', ['mount', 'x'], { env });
    expect(none.stderr).toContain('which image?');
  });
});
