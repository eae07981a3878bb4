// The tar writer and `save`: a layer directory as overlayfs keeps it, tarred and read back
// by the store's own reader, whiteouts and all; and the references repositories.json keeps.
import { execFileSync } from 'node:child_process';
import { linkSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lgetxattr, lsetxattr, mknod } from '@diyc/syscalls';
import { extractLayer, familiarName, ImageStore, imageId, tarHeader, writeLayerTar } from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'diyc-save-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;

describe('tarHeader', () => {
  it('writes a ustar header GNU tar reads, and a pax header for a long path', () => {
    const long = `${'d/'.repeat(70)}file`;
    const file = join(work, 'one.tar');
    const body = Buffer.from('hello\n');
    writeFileSync(
      file,
      Buffer.concat([
        tarHeader({ path: long, type: 'file', mode: 0o640, uid: 1000, gid: 100, size: body.length, mtime: 1_700_000_000 }),
        body,
        Buffer.alloc(512 - body.length),
        tarHeader({ path: 'link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 0, linkname: long }),
        Buffer.alloc(1024),
      ]),
    );
    const listing = execFileSync('tar', ['-tvf', file, '--numeric-owner'], { encoding: 'utf8' }).trim().split('\n');
    expect(listing[0]).toMatch(new RegExp(`^-rw-r----- 1000/100 +6 2023-11-1\\d \\d\\d:\\d\\d ${long.replace(/\//g, '\\/')}$`));
    expect(listing[1]).toContain(`link -> ${long}`);
  });
});

describe.skipIf(!isRoot)('writeLayerTar (root: owners, device nodes, trusted.* attributes)', () => {
  it('gives back the same layer: files, modes, owners, links, a whiteout, an opaque directory, file capabilities', async () => {
    const layer = join(work, 'layer');
    mkdirSync(join(layer, 'etc/opaque'), { recursive: true });
    writeFileSync(join(layer, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n', { mode: 0o600 });
    execFileSync('chown', ['1000:1000', join(layer, 'etc/passwd')]);
    linkSync(join(layer, 'etc/passwd'), join(layer, 'etc/passwd-hard'));
    symlinkSync('../etc/passwd', join(layer, 'etc/link'));
    mknod(join(layer, 'etc/gone'), 'char', 0o000, 0, 0);
    lsetxattr(join(layer, 'etc/opaque'), 'trusted.overlay.opaque', Buffer.from('y'));
    writeFileSync(join(layer, 'ping'), 'binary');
    lsetxattr(join(layer, 'ping'), 'security.capability', Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    const chunks: Buffer[] = [];
    writeLayerTar(layer, (c) => {
      chunks.push(c);
    });
    const tar = join(work, 'layer.tar');
    writeFileSync(tar, Buffer.concat(chunks));
    const names = execFileSync('tar', ['-tf', tar], { encoding: 'utf8' }).trim().split('\n');
    expect(names).toEqual(
      ['etc/', 'etc/gone', 'etc/link', 'etc/opaque/', 'etc/opaque/.wh..wh..opq', 'etc/passwd', 'etc/passwd-hard', 'ping'].map((n) =>
        n === 'etc/gone' ? 'etc/.wh.gone' : n,
      ),
    );
    const back = join(work, 'back');
    mkdirSync(back);
    await extractLayer(tar, back);
    expect(readFileSync(join(back, 'etc/passwd'), 'utf8')).toBe('root:x:0:0::/root:/bin/sh\n');
    const st = lstatSync(join(back, 'etc/passwd'));
    expect([st.mode & 0o7777, st.uid, st.gid, st.nlink]).toEqual([0o600, 1000, 1000, 2]);
    expect(readlinkSync(join(back, 'etc/link'))).toBe('../etc/passwd');
    const gone = lstatSync(join(back, 'etc/gone'));
    expect([gone.isCharacterDevice(), gone.rdev]).toEqual([true, 0]);
    expect(lgetxattr(join(back, 'etc/opaque'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    expect(lgetxattr(join(back, 'ping'), 'security.capability')?.[5]).toBe(0x20);
  });
});

describe('the references an image store keeps', () => {
  it('tags, looks up, moves a reference (the image left becomes untagged), and forgets those of an image removed', () => {
    const store = new ImageStore(join(work, 'state'));
    const image = (name: string) => ({
      name,
      layers: [],
      config: { Cmd: [name] },
      source: 'test',
      created: '2024-01-01T00:00:00Z',
      size: 0,
    });
    store.saveImage(image('a'));
    store.saveImage(image('b'));
    store.tag('docker.io/library/busybox:latest', 'a');
    store.tag('docker.io/library/busybox:1.36', 'a');
    expect(store.lookUpReference('docker.io/library/busybox:latest')).toBe('a');
    expect(store.referencesOf('a')).toEqual(['docker.io/library/busybox:1.36', 'docker.io/library/busybox:latest']);
    store.tag('docker.io/library/busybox:latest', 'b');
    expect(store.isUntagged('a')).toBe(false);
    store.tag('docker.io/library/busybox:1.36', 'b');
    expect(store.isUntagged('a')).toBe(true);
    expect(store.untag('docker.io/library/busybox:1.36')).toBe('b');
    store.removeImage('b');
    expect(store.repositories().references).toEqual({});
    expect(existsSync(join(work, 'state', 'repositories.json'))).toBe(true);
    expect(imageId(image('a'))).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(imageId({ ...image('a'), id: 'sha256:x' })).toBe('sha256:x');
    expect(familiarName('docker.io/library/busybox:1.36')).toBe('busybox:1.36');
    expect(familiarName('127.0.0.1:5000/x/y:1')).toBe('127.0.0.1:5000/x/y:1');
  });
});
