// unpackImage(): a flat rootfs tarball, a `docker save` archive or an OCI image layout
// (directory or tar), plain or gzip, into the store as layers + image.json.
//
// Atomic: every layer is written to a temporary directory and renamed into place only
// when whole, and image.json is written last. A failure removes what this run wrote;
// a run killed outright leaves only tmp/PID-*, which the next run removes.
import { existsSync, rmSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { DiycError, nameProblem } from '@diyc/record';
import { digestInWorker, fileChunks } from './digest.js';
import { extractLayer, type ExtractResult } from './extract.js';
import { readLayeredImage, type LayeredImage } from './formats.js';
import { ImageStore, type Image, type ImageConfig } from './store.js';

export interface UnpackProgress {
  /** What is being read: the archive, or layer N of M. */
  phase: string;
  bytesRead: number;
  /** Total bytes, when known (a file; not a pipe). */
  total?: number;
}

export interface UnpackOptions {
  /** The image's name; by default its own tag, or the file's name. */
  name?: string;
  store?: ImageStore;
  /** Standard input, when the source is '-'. */
  stdin?: Readable;
  onProgress?: (p: UnpackProgress) => void;
  /** Temporary directories this run is using, so a signal handler can remove them. */
  temps?: Set<string>;
}

export interface UnpackResult {
  image: Image;
  /** Layers extracted by this run (the others were in the store already). */
  extracted: string[];
  reused: string[];
}

/** The name a file gives: busybox.tar.gz -> busybox. */
export function nameFromFile(file: string): string {
  return basename(file).replace(/(\.tar)?(\.gz|\.tgz)?$/, '').replace(/\.(tgz|tar)$/, '').replace(/[^A-Za-z0-9_.-]/g, '-');
}

function chooseName(options: UnpackOptions, source: string, layered: LayeredImage | undefined, ref?: string): string {
  const fromFile = source === '-' ? undefined : nameFromFile(source);
  const name = options.name ?? layered?.tagName ?? (ref !== undefined && fromFile !== undefined ? `${fromFile}-${ref}` : fromFile);
  if (name === undefined) throw new DiycError('invalid', 'an image read from stdin needs a name: add --name NAME');
  const problem = nameProblem(name, 'image name');
  if (problem) throw new DiycError('invalid', `${problem}${options.name === undefined ? ' (choose one with --name)' : ''}`);
  return name;
}

/** Splits LAYOUT:TAG (an OCI layout and the tag of one of its images) from a plain path. */
export function splitRef(source: string): { path: string; ref?: string } {
  if (source === '-' || existsSync(source)) return { path: source };
  const colon = source.lastIndexOf(':');
  if (colon > 0 && existsSync(source.slice(0, colon))) return { path: source.slice(0, colon), ref: source.slice(colon + 1) };
  return { path: source };
}

export async function unpackImage(sourceArg: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  const { path: source, ref } = splitRef(sourceArg);
  const store = options.store ?? new ImageStore();
  const temps = options.temps ?? new Set<string>();
  const makeTemp = (): string => {
    const dir = store.makeTemp();
    temps.add(dir);
    return dir;
  };
  store.removeStaleTemps();
  if (options.name !== undefined) {
    const problem = nameProblem(options.name, 'image name');
    if (problem) throw new DiycError('invalid', problem);
  }
  try {
    if (source !== '-' && !existsSync(source)) throw new DiycError('invalid', `${source}: no such file or directory`);
    let layered: LayeredImage | undefined;
    let staging: string | undefined;
    let flat: ExtractResult | undefined;
    if (source !== '-' && statSync(source).isDirectory()) {
      layered = readLayeredImage(source, ref);
      if (!layered) throw new DiycError('invalid', `${source} is a directory but not an OCI image layout (no oci-layout and index.json)`);
    } else {
      staging = makeTemp();
      const total = source === '-' ? undefined : statSync(source).size;
      const input = source === '-' ? (options.stdin ?? process.stdin) : fileChunks(source);
      flat = await extractLayer(input, staging, {
        onProgress: (bytesRead) => options.onProgress?.({ phase: 'archive', bytesRead, ...(total !== undefined ? { total } : {}) }),
        ...(source === '-' ? {} : { digest: digestInWorker(source) }),
      });
      layered = readLayeredImage(staging, ref);
    }
    const name = chooseName(options, source, layered, ref);
    const layerSizes: Record<string, number> = {};
    const extracted: string[] = [];
    const reused: string[] = [];
    let config: ImageConfig = {};
    let layers: string[];
    if (!layered && flat && staging) {
      // A root filesystem: the staging directory is the image's only layer.
      if (store.hasLayer(flat.diffId)) reused.push(flat.diffId);
      else extracted.push(flat.diffId);
      store.commitLayer(staging, flat.diffId);
      temps.delete(staging);
      layers = [flat.diffId];
      layerSizes[flat.diffId] = flat.bytes;
    } else if (layered) {
      config = layered.config;
      layers = [];
      const known = knownLayerSizes(store);
      for (const [i, file] of layered.layerFiles.entries()) {
        const expected = layered.diffIds[i];
        if (expected && store.hasLayer(expected)) {
          layers.push(expected);
          reused.push(expected);
          layerSizes[expected] = known.get(expected) ?? 0;
          continue;
        }
        const dir = makeTemp();
        const total = statSync(file).size;
        const result = await extractLayer(fileChunks(file), dir, {
          onProgress: (bytesRead) => options.onProgress?.({ phase: `layer ${i + 1}/${layered.layerFiles.length}`, bytesRead, total }),
          digest: digestInWorker(file),
        });
        if (expected && expected !== result.diffId) {
          throw new DiycError('invalid', `layer ${i + 1} is corrupt: its content is ${result.diffId}, the image config says ${expected}`);
        }
        store.commitLayer(dir, result.diffId);
        temps.delete(dir);
        layers.push(result.diffId);
        extracted.push(result.diffId);
        layerSizes[result.diffId] = result.bytes;
      }
    } else {
      throw new DiycError('invalid', 'nothing to unpack');
    }
    const image: Image = {
      name,
      layers,
      config,
      source: source === '-' ? 'stdin' : source,
      created: new Date().toISOString(),
      size: Object.values(layerSizes).reduce((a, b) => a + b, 0),
      layerSizes,
    };
    store.saveImage(image);
    return { image, extracted, reused };
  } finally {
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
    temps.clear();
  }
}

function knownLayerSizes(store: ImageStore): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const image of store.listImages()) {
    const recorded = image.layerSizes ?? {};
    for (const [id, size] of Object.entries(recorded)) sizes.set(id, size);
  }
  return sizes;
}
