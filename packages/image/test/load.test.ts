// loadImages: docker save archives into the store, and the hostile ones refused whole: a
// manifest naming a file outside the archive (../, an absolute path, a link out), a layer
// whose content is not its config's diff_id, a config without diff_ids.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageStore, loadImages, saveImages, TAR_END, tarHeader, tarPadding, type TarEntry } from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'diyc-load-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
type Member = { path: string; body?: Buffer; type?: TarEntry['type']; linkname?: string };

function tar(members: Member[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const body = m.body ?? Buffer.alloc(0);
    const type = m.type ?? 'file';
    parts.push(
      tarHeader({
        path: m.path,
        type,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: type === 'file' ? body.length : 0,
        mtime: 1_700_000_000,
        ...(m.linkname ? { linkname: m.linkname } : {}),
      }),
    );
    if (type === 'file') parts.push(body, tarPadding(body.length));
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

const layer = (text: string) => tar([{ path: 'hello', body: Buffer.from(text) }]);
const config = (diffIds: string[] | undefined) =>
  Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-02T03:04:05Z',
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', ...(diffIds ? { diff_ids: diffIds } : {}) },
    }),
  );

/** A docker save archive of one image: its layer, config and manifest (each part may be made hostile). */
function archive(options: { layers?: string[]; diffIds?: string[] | undefined; extra?: Member[]; tags?: string[] } = {}): string {
  const body = layer('hi');
  const diffIds = 'diffIds' in options ? options.diffIds : [`sha256:${sha256(body)}`];
  const cfg = config(diffIds);
  const manifest = [
    { Config: 'config.json', RepoTags: options.tags ?? ['example.test/app:1'], Layers: options.layers ?? ['l1/layer.tar'] },
  ];
  const file = join(work, `archive-${Math.random().toString(36).slice(2)}.tar`);
  writeFileSync(
    file,
    tar([
      { path: 'l1/', type: 'dir' },
      { path: 'l1/layer.tar', body },
      { path: 'config.json', body: cfg },
      ...(options.extra ?? []),
      { path: 'manifest.json', body: Buffer.from(JSON.stringify(manifest)) },
    ]),
  );
  return file;
}

const freshStore = () => new ImageStore(mkdtempSync(join(work, 'root-')));
const nameFor = (refs: string[], id: string) =>
  refs[0] ? refs[0].replace(/[^A-Za-z0-9_.-]/g, '-').slice(-32) : `loaded-${id.slice(7, 19)}`;

describe('loadImages', () => {
  it('stores the image, its layer under its diff_id, its ID (the config digest) and its tags', async () => {
    const store = freshStore();
    const [loaded] = await loadImages(archive(), { store, nameFor });
    expect(loaded?.references).toEqual(['example.test/app:1']);
    expect(loaded?.id).toBe(`sha256:${sha256(config([`sha256:${sha256(layer('hi'))}`]))}`);
    expect(store.hasLayer(`sha256:${sha256(layer('hi'))}`)).toBe(true);
    expect(store.lookUpReference('example.test/app:1')).toBe(loaded?.image.name);
    expect(store.getImage(loaded?.image.name as string)?.config.Cmd).toEqual(['sh']);
    expect(loaded?.image.created).toBe('2024-01-02T03:04:05.000Z');
  });

  it('refuses a layer path with ../ or an absolute one, and a layer that is a link out of the archive', async () => {
    const store = freshStore();
    await expect(loadImages(archive({ layers: ['../../etc/passwd'] }), { store, nameFor })).rejects.toThrow(/points outside the image/);
    await expect(loadImages(archive({ layers: ['/etc/passwd'] }), { store, nameFor })).rejects.toThrow(/points outside the image/);
    await expect(
      loadImages(archive({ layers: ['evil.tar'], extra: [{ path: 'evil.tar', type: 'symlink', linkname: '/etc/passwd' }] }), {
        store,
        nameFor,
      }),
    ).rejects.toThrow(/leads out of the image/);
    expect(store.listImages()).toEqual([]);
  });

  it('refuses a layer whose content is not the diff_id its config gives, and a config without diff_ids', async () => {
    const store = freshStore();
    const wrong = `sha256:${sha256(Buffer.from('something else'))}`;
    await expect(loadImages(archive({ diffIds: [wrong] }), { store, nameFor })).rejects.toThrow(
      /layer 1 of sha256:[0-9a-f]{64} is corrupt/,
    );
    await expect(loadImages(archive({ diffIds: undefined }), { store, nameFor })).rejects.toThrow(/does not list a diff_id/);
    await expect(loadImages(archive({ diffIds: ['sha256:../../../etc'] }), { store, nameFor })).rejects.toThrow(/not a layer digest/);
    expect(store.listImages()).toEqual([]);
    expect(store.hasLayer(wrong)).toBe(false);
  });

  it('refuses an archive that is no image, and a manifest that is not a list', async () => {
    const store = freshStore();
    const plain = join(work, 'plain.tar');
    writeFileSync(plain, tar([{ path: 'etc/hostname', body: Buffer.from('x') }]));
    await expect(loadImages(plain, { store, nameFor })).rejects.toThrow(/holds no image/);
    const odd = join(work, 'odd.tar');
    writeFileSync(odd, tar([{ path: 'manifest.json', body: Buffer.from('{"Config": 1}') }]));
    await expect(loadImages(odd, { store, nameFor })).rejects.toThrow(/not a list of images/);
  });

  it('loads each tagged image of an OCI image layout', async () => {
    const blobs: Member[] = [
      { path: 'blobs/', type: 'dir' },
      { path: 'blobs/sha256/', type: 'dir' },
    ];
    const blob = (data: Buffer) => {
      const hex = sha256(data);
      blobs.push({ path: `blobs/sha256/${hex}`, body: data });
      return { digest: `sha256:${hex}`, size: data.length };
    };
    const manifests = ['one', 'two'].map((text) => {
      const body = layer(text);
      const cfg = blob(config([`sha256:${sha256(body)}`]));
      const lay = blob(body);
      const manifest = blob(
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
            layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...lay }],
          }),
        ),
      );
      return {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...manifest,
        annotations: { 'org.opencontainers.image.ref.name': `example.test/${text}:1` },
      };
    });
    const file = join(work, 'oci.tar');
    writeFileSync(
      file,
      tar([
        { path: 'oci-layout', body: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
        { path: 'index.json', body: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests })) },
        ...blobs,
      ]),
    );
    const store = freshStore();
    const loaded = await loadImages(file, { store, nameFor });
    expect(loaded.map((l) => l.references)).toEqual([['example.test/one:1'], ['example.test/two:1']]);
    expect(new Set(loaded.flatMap((l) => l.image.layers)).size).toBe(2);
  });

  it('round-trips two images saved together, their shared layer written once', async () => {
    const store = freshStore();
    const [one] = await loadImages(archive({ tags: ['example.test/one:1'] }), { store, nameFor });
    const image = one?.image;
    if (!image) throw new Error('not loaded');
    store.saveImage({ ...image, name: 'two', id: undefined, config: { Cmd: ['true'] } });
    const chunks: Buffer[] = [];
    await saveImages(
      [
        { image, repoTags: ['example.test/one:1'] },
        { image: store.getImage('two') as typeof image, repoTags: ['example.test/two:2'] },
      ],
      (c) => {
        chunks.push(Buffer.from(c));
      },
      { store },
    );
    const saved = join(work, 'two.tar');
    writeFileSync(saved, Buffer.concat(chunks));
    const other = freshStore();
    const loaded = await loadImages(saved, { store: other, nameFor });
    expect(loaded.map((l) => l.references)).toEqual([['example.test/one:1'], ['example.test/two:2']]);
    expect(loaded[0]?.image.layers).toEqual(loaded[1]?.image.layers);
    const layerTars =
      Buffer.concat(chunks)
        .toString('latin1')
        .match(/[0-9a-f]{64}\/layer\.tar/g) ?? [];
    // Each layer.tar path appears in its header, and in manifest.json once per image.
    expect(new Set(layerTars).size).toBe(1);
  });
});
