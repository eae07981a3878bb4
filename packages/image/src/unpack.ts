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
import { extractLayer, type ExtractResult } from './extract.js';
import { readLayeredImage, type LayeredImage } from './formats.js';
import { ImageStore, type Image } from './store.js';
import { formatReference, parseReference } from './registry/reference.js';

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
  /** The references it now answers to (docker save's RepoTags, normalised: docker.io/library/busybox:latest). */
  references: string[];
}

/** The references an archive names, normalised; one that is not a reference is left out. */
function normalisedReferences(texts: string[] | undefined): string[] {
  return (texts ?? []).flatMap((text) => {
    try {
      return [formatReference(parseReference(text))];
    } catch {
      return [];
    }
  });
}

/** The name a file gives: busybox.tar.gz -> busybox. */
export function nameFromFile(file: string): string {
  return basename(file)
    .replace(/(\.tar)?(\.gz|\.tgz)?$/, '')
    .replace(/\.(tgz|tar)$/, '')
    .replace(/[^A-Za-z0-9_.-]/g, '-');
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

/** The store and the temporary directories of one run. */
class Run {
  readonly store: ImageStore;
  readonly temps: Set<string>;
  readonly options: UnpackOptions;

  constructor(options: UnpackOptions) {
    this.options = options;
    this.store = options.store ?? new ImageStore();
    this.temps = options.temps ?? new Set<string>();
  }

  /** A temporary directory, removed at the end of the run unless committed. */
  makeTemp(): string {
    const dir = this.store.makeTemp();
    this.temps.add(dir);
    return dir;
  }

  /** Moves an extracted layer into the store. */
  commit(dir: string, diffId: string): void {
    this.store.commitLayer(dir, diffId);
    this.temps.delete(dir);
  }

  /** Removes what was not committed. */
  cleanUp(): void {
    for (const dir of this.temps) rmSync(dir, { recursive: true, force: true });
    this.temps.clear();
  }
}

/** The image's layers as they are committed, bottom first. */
class Layers {
  readonly ids: string[] = [];
  readonly sizes: Record<string, number> = {};
  readonly extracted: string[] = [];
  readonly reused: string[] = [];

  add(diffId: string, size: number, extracted: boolean): void {
    this.ids.push(diffId);
    this.sizes[diffId] = size;
    (extracted ? this.extracted : this.reused).push(diffId);
  }
}

/** What the source holds: a layered image, or a root filesystem extracted to a staging directory. */
type Unpacked = { layered: LayeredImage } | { flat: ExtractResult; staging: string };

async function readSource(run: Run, source: string, ref: string | undefined): Promise<Unpacked> {
  if (source !== '-' && !existsSync(source)) throw new DiycError('not-found', `${source}: no such file or directory`);
  if (source !== '-' && statSync(source).isDirectory()) {
    const layered = readLayeredImage(source, ref);
    if (!layered) throw new DiycError('invalid', `${source} is a directory but not an OCI image layout (no oci-layout and index.json)`);
    return { layered };
  }
  const staging = run.makeTemp();
  const total = source === '-' ? undefined : statSync(source).size;
  const flat = await extractLayer(source === '-' ? (run.options.stdin ?? process.stdin) : source, staging, {
    onProgress: (bytesRead) => run.options.onProgress?.({ phase: 'archive', bytesRead, ...(total !== undefined ? { total } : {}) }),
  });
  // A `docker save` archive or an OCI layout in a tar: its layers are unpacked from staging.
  const layered = readLayeredImage(staging, ref);
  return layered ? { layered } : { flat, staging };
}

/** Extracts each layer of a layered image that the store does not hold, checked against its diff_id. */
async function unpackLayers(run: Run, layered: LayeredImage): Promise<Layers> {
  const layers = new Layers();
  const known = knownLayerSizes(run.store);
  for (const [i, file] of layered.layerFiles.entries()) {
    const expected = layered.diffIds[i];
    if (expected && run.store.hasLayer(expected)) {
      layers.add(expected, known.get(expected) ?? 0, false);
      continue;
    }
    const dir = run.makeTemp();
    const total = statSync(file).size;
    const result = await extractLayer(file, dir, {
      onProgress: (bytesRead) => run.options.onProgress?.({ phase: `layer ${i + 1}/${layered.layerFiles.length}`, bytesRead, total }),
    });
    if (expected && expected !== result.diffId) {
      throw new DiycError('invalid', `layer ${i + 1} is corrupt: its content is ${result.diffId}, the image config says ${expected}`);
    }
    run.commit(dir, result.diffId);
    layers.add(result.diffId, result.bytes, true);
  }
  return layers;
}

export async function unpackImage(sourceArg: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  const { path: source, ref } = splitRef(sourceArg);
  const run = new Run(options);
  run.store.removeStaleTemps();
  if (options.name !== undefined) {
    const problem = nameProblem(options.name, 'image name');
    if (problem) throw new DiycError('invalid', problem);
  }
  try {
    const unpacked = await readSource(run, source, ref);
    const name = chooseName(options, source, 'layered' in unpacked ? unpacked.layered : undefined, ref);
    let layers: Layers;
    if ('layered' in unpacked) {
      layers = await unpackLayers(run, unpacked.layered);
    } else {
      // A root filesystem: the staging directory is the image's only layer.
      layers = new Layers();
      layers.add(unpacked.flat.diffId, unpacked.flat.bytes, !run.store.hasLayer(unpacked.flat.diffId));
      run.commit(unpacked.staging, unpacked.flat.diffId);
    }
    const image: Image = {
      name,
      ...('layered' in unpacked && unpacked.layered.id !== undefined ? { id: unpacked.layered.id } : {}),
      layers: layers.ids,
      config: 'layered' in unpacked ? unpacked.layered.config : {},
      source: source === '-' ? 'stdin' : source,
      created: new Date().toISOString(),
      size: Object.values(layers.sizes).reduce((a, b) => a + b, 0),
      layerSizes: layers.sizes,
    };
    run.store.saveImage(image);
    const references = normalisedReferences('layered' in unpacked ? unpacked.layered.references : undefined);
    for (const reference of references) run.store.tag(reference, name);
    return { image, extracted: layers.extracted, reused: layers.reused, references };
  } finally {
    run.cleanUp();
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
