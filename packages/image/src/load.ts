// loadImages(): a `docker save` archive (or an OCI image layout in a tar), plain or gzip,
// into the store, every image it holds, as `docker load` takes it.
//
// The archive is its maker's: it is read with the checks unpack makes (formats.ts and
// extract.ts): a manifest, index or config names its files inside the archive only (no
// `..`, no absolute path, no link out, regular files only), JSON larger than 16 MiB is
// refused, a layer's entries stay inside its directory. And more strictly than unpack:
// the config must list one diff_id for each layer, and each layer's content must hash to
// it, so the image ID (the config's digest) stands for the layers it names.
import { rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { DiycError } from '@diyc/record';
import { extractLayer } from './extract.js';
import { readArchiveImages, type LayeredImage } from './formats.js';
import { formatReference, parseReference } from './registry/reference.js';
import { ImageStore, type Image } from './store.js';

export interface LoadOptions {
  store?: ImageStore;
  /** The store name for an image with these references (normalised) and ID. */
  nameFor: (references: string[], id: string) => string;
  /** Temporary directories in use, for a signal handler to remove. */
  temps?: Set<string>;
}

export interface LoadedImage {
  image: Image;
  /** The references it now answers to: docker.io/library/busybox:latest. */
  references: string[];
  /** Its ID, sha256:HEX (its config's digest). */
  id: string;
}

/** The archive's references that parse; a bad one makes the archive hostile or broken. */
function references(layered: LayeredImage): string[] {
  return (layered.references ?? []).map((text) => {
    try {
      return formatReference(parseReference(text));
    } catch {
      throw new DiycError('invalid', `the archive names an image '${text}', which is not a reference`);
    }
  });
}

/** Loads every image of the archive at `source` (a path, or a stream: stdin). */
export async function loadImages(source: string | Readable, options: LoadOptions): Promise<LoadedImage[]> {
  const store = options.store ?? new ImageStore();
  const temps = options.temps ?? new Set<string>();
  const makeTemp = (): string => {
    const dir = store.makeTemp();
    temps.add(dir);
    return dir;
  };
  store.removeStaleTemps();
  try {
    const staging = makeTemp();
    await extractLayer(source, staging);
    const images = readArchiveImages(staging);
    // Everything is checked before anything is stored: a hostile second image leaves no first.
    const checked = images.map((layered) => {
      if (layered.id === undefined) throw new DiycError('invalid', 'the archive has an image without a config');
      if (layered.diffIds.length !== layered.layerFiles.length || layered.diffIds.some((d) => d === undefined))
        throw new DiycError(
          'invalid',
          `the image config of ${layered.id} does not list a diff_id for each of its ${layered.layerFiles.length} layers`,
        );
      return { layered, references: references(layered), id: layered.id };
    });
    const loaded: LoadedImage[] = [];
    for (const { layered, references: refs, id } of checked) {
      const sizes: Record<string, number> = {};
      for (const [i, file] of layered.layerFiles.entries()) {
        const expected = layered.diffIds[i] as string;
        if (store.hasLayer(expected)) {
          sizes[expected] = knownSize(store, expected);
          continue;
        }
        const dir = makeTemp();
        const result = await extractLayer(file, dir);
        if (result.diffId !== expected)
          throw new DiycError(
            'invalid',
            `layer ${i + 1} of ${id} is corrupt: its content is ${result.diffId}, the image config says ${expected}`,
          );
        store.commitLayer(dir, expected);
        temps.delete(dir);
        sizes[expected] = result.bytes;
      }
      const image: Image = {
        name: options.nameFor(refs, id),
        id,
        layers: layered.diffIds as string[],
        config: layered.config,
        source: typeof source === 'string' ? source : 'stdin',
        created: layered.created ?? new Date().toISOString(),
        size: Object.values(sizes).reduce((a, b) => a + b, 0),
        layerSizes: sizes,
      };
      store.saveImage(image);
      for (const reference of refs) store.tag(reference, image.name);
      loaded.push({ image, references: refs, id });
    }
    return loaded;
  } finally {
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
    temps.clear();
  }
}

/** A stored layer's size, as an image that has it recorded it (0 when none did). */
function knownSize(store: ImageStore, diffId: string): number {
  for (const image of store.listImages()) {
    const size = image.layerSizes?.[diffId];
    if (size !== undefined) return size;
  }
  return 0;
}
