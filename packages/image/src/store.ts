// The image store under $DIYC_ROOT (default /var/lib/diyc):
//
//   layers/HEX/            one extracted layer, named by its diff_id; shared by images
//   layers/l/SHORT -> ../HEX   short links, so 40 lowerdirs fit one page of mount options
//   images/NAME/image.json the image: its layers bottom first, and its config
//   repositories.json      the references that name images, as docker keeps its tags:
//                          {"references": {"docker.io/library/busybox:1.36": NAME},
//                           "untagged": [NAME...]} (untagged: images whose last
//                          reference moved to another image, docker's <none>)
//   tmp/PID-RANDOM/        work in progress; removed on failure, or by the next run
//                          once PID is gone (kill -9)
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  containersDir,
  DiycError,
  imagesDir,
  isProcessAlive,
  layersDir,
  nameProblem,
  privateDir,
  sha256Hex,
  stateRoot,
  withLock,
} from '@diyc/record';

/** The parts of an OCI image config diyc uses as a container's defaults. */
export interface ImageConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  /** The signal that asks the command to stop (docker's STOPSIGNAL): SIGQUIT for nginx. */
  StopSignal?: string;
  /** docker's LABEL lines. */
  Labels?: Record<string, string>;
  /** docker's HEALTHCHECK: Test is ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"]; durations in ns. */
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
}

export interface Image {
  name: string;
  /** Its ID, sha256:HEX: the digest of its config (docker's IMAGE ID), when it came with one. */
  id?: string;
  /** diff_ids (sha256:HEX) of the layers, bottom first. */
  layers: string[];
  config: ImageConfig;
  /** What it was unpacked from. */
  source: string;
  created: string;
  /** Uncompressed bytes of all its layers' files. */
  size: number;
  /** Uncompressed bytes of each layer's files, by diff_id. */
  layerSizes?: Record<string, number>;
}

export const SHORT_LINK_LENGTH = 12;

/** The references that name images, and the images that lost theirs (repositories.json). */
export interface Repositories {
  references: Record<string, string>;
  untagged: string[];
}

/**
 * An image's ID, sha256:HEX: the digest of its config when it came with one (a pull, a
 * docker save archive, an OCI layout), else a digest of its layers and config.
 */
export function imageId(image: Image): string {
  if (image.id !== undefined) return image.id;
  // sha256Hex, not node:crypto: loading that was a third of what `diyc run` added to diyc-run.
  return `sha256:${sha256Hex(JSON.stringify({ layers: image.layers, config: image.config }))}`;
}

const DIFF_ID = /^sha256:[0-9a-f]{64}$/;

/**
 * The hex of a layer's diff_id, which names its directory. A diff_id comes from an image's
 * config, written by whoever made the image: anything but sha256:64-hex (`sha256:../../etc`)
 * is refused here, where every layer path is made, so no caller can be led outside the store.
 */
function hexOf(diffId: string): string {
  if (!DIFF_ID.test(diffId))
    throw new DiycError('invalid', `'${diffId}' is not a layer digest (sha256: and 64 hex digits): the image is corrupt or hostile`);
  return diffId.slice('sha256:'.length);
}

export class ImageStore {
  readonly root: string;

  constructor(root: string = stateRoot()) {
    this.root = root;
  }

  get layersDir(): string {
    return layersDir(this.root);
  }
  get imagesDir(): string {
    return imagesDir(this.root);
  }
  get tmpDir(): string {
    return join(this.root, 'tmp');
  }

  layerPath(diffId: string): string {
    return join(this.layersDir, hexOf(diffId));
  }

  /** The short path of a layer, relative to layersDir: what overlay mounts use. */
  layerShortPath(diffId: string): string {
    return join('l', hexOf(diffId).slice(0, SHORT_LINK_LENGTH));
  }

  hasLayer(diffId: string): boolean {
    return existsSync(this.layerPath(diffId));
  }

  /**
   * Moves an extracted layer into place under its diff_id (rename(2) is atomic). If
   * another unpack got there first, ours is dropped: the content is the same.
   */
  commitLayer(tempDir: string, diffId: string): void {
    mkdirSync(join(privateDir(this.layersDir), 'l'), { recursive: true });
    try {
      renameSync(tempDir, this.layerPath(diffId));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      rmSync(tempDir, { recursive: true, force: true });
    }
    const link = join(this.layersDir, this.layerShortPath(diffId));
    if (!existsSync(link)) {
      try {
        symlinkSync(join('..', hexOf(diffId)), link);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  }

  /** A new temporary directory for work in progress, named after this process. */
  makeTemp(): string {
    return mkdtempSync(join(privateDir(this.tmpDir), `${process.pid}-`));
  }

  /** Removes temporary directories left by processes that are gone (killed half-way). */
  removeStaleTemps(): string[] {
    if (!existsSync(this.tmpDir)) return [];
    const removed: string[] = [];
    for (const name of readdirSync(this.tmpDir)) {
      const pid = Number(name.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && isProcessAlive(pid)) continue;
      rmSync(join(this.tmpDir, name), { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }

  imagePath(name: string): string {
    const problem = nameProblem(name, 'image name');
    if (problem) throw new DiycError('invalid', problem);
    return join(this.imagesDir, name);
  }

  /** Writes image.json atomically: a reader sees the old image or the new, never half. */
  saveImage(image: Image): void {
    const dir = this.imagePath(image.name);
    mkdirSync(dir, { recursive: true });
    const temp = join(dir, `.image.json.${process.pid}`);
    writeFileSync(temp, `${JSON.stringify(image, null, 2)}\n`);
    renameSync(temp, join(dir, 'image.json'));
  }

  getImage(name: string): Image | undefined {
    const file = join(this.imagePath(name), 'image.json');
    if (!existsSync(file)) return undefined;
    return JSON.parse(readFileSync(file, 'utf8')) as Image;
  }

  /** The image, or a 'not-found' DiycError that says how to get it. */
  requireImage(name: string): Image {
    const image = this.getImage(name);
    if (!image)
      throw new DiycError(
        'not-found',
        `image '${name}' not found: pull it (diyc-image pull REF --name ${name}) or unpack it (diyc-image unpack FILE --name ${name})`,
      );
    return image;
  }

  listImages(): Image[] {
    if (!existsSync(this.imagesDir)) return [];
    return readdirSync(this.imagesDir)
      .filter((name) => !nameProblem(name))
      .map((name) => this.getImage(name))
      .filter((image): image is Image => image !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Names of the containers whose record says they use `name`. */
  containersUsing(name: string): string[] {
    const dir = containersDir(this.root);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((container) => {
      try {
        const record = JSON.parse(readFileSync(join(dir, container, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
        return record.annotations?.['org.diyc.image'] === name;
      } catch {
        return false;
      }
    });
  }

  /** Removes an image and the references to it, then every layer no image uses any more. Returns the layers removed. */
  removeImage(name: string): string[] {
    this.requireImage(name);
    this.#editRepositories((repos) => {
      for (const [ref, target] of Object.entries(repos.references)) if (target === name) delete repos.references[ref];
      repos.untagged = repos.untagged.filter((n) => n !== name);
    });
    rmSync(this.imagePath(name), { recursive: true, force: true });
    return this.removeUnusedLayers();
  }

  get repositoriesPath(): string {
    return join(this.root, 'repositories.json');
  }

  /** The references and the untagged images, as repositories.json holds them (empty when it is missing). */
  repositories(): Repositories {
    try {
      const parsed = JSON.parse(readFileSync(this.repositoriesPath, 'utf8')) as Partial<Repositories>;
      return { references: { ...parsed.references }, untagged: [...(parsed.untagged ?? [])] };
    } catch {
      return { references: {}, untagged: [] };
    }
  }

  /** The image a full reference (docker.io/library/busybox:1.36) names, if any. */
  lookUpReference(reference: string): string | undefined {
    const name = this.repositories().references[reference];
    return name !== undefined && this.getImage(name) ? name : undefined;
  }

  /** The references that name image `name`, sorted. */
  referencesOf(name: string): string[] {
    return Object.entries(this.repositories().references)
      .filter(([, n]) => n === name)
      .map(([ref]) => ref)
      .sort();
  }

  /**
   * Makes `reference` name image `name` (a pull, a load, docker tag). An image it named
   * before, left with no reference, is kept as untagged (docker's <none>).
   */
  tag(reference: string, name: string): void {
    this.requireImage(name);
    this.#editRepositories((repos) => {
      const before = repos.references[reference];
      repos.references[reference] = name;
      repos.untagged = repos.untagged.filter((n) => n !== name);
      if (before !== undefined && before !== name && !Object.values(repos.references).includes(before) && this.getImage(before))
        repos.untagged.push(before);
    });
  }

  /** Removes `reference`; returns the image it named (undefined: it named none). */
  untag(reference: string): string | undefined {
    let name: string | undefined;
    this.#editRepositories((repos) => {
      name = repos.references[reference];
      delete repos.references[reference];
    });
    return name;
  }

  /** True for an image whose last reference moved to another image (docker's dangling <none>:<none>). */
  isUntagged(name: string): boolean {
    return this.repositories().untagged.includes(name);
  }

  #editRepositories(edit: (repos: Repositories) => void): void {
    mkdirSync(this.root, { recursive: true });
    withLock(`${this.repositoriesPath}.lock`, () => {
      const repos = this.repositories();
      edit(repos);
      const temp = `${this.repositoriesPath}.${process.pid}`;
      writeFileSync(
        temp,
        `${JSON.stringify({ references: Object.fromEntries(Object.entries(repos.references).sort()), untagged: [...new Set(repos.untagged)].sort() }, null, 2)}\n`,
      );
      renameSync(temp, this.repositoriesPath);
    });
  }

  removeUnusedLayers(): string[] {
    if (!existsSync(this.layersDir)) return [];
    // Compared as text only: an image.json with a bad digest must not stop its own removal.
    const used = new Set(this.listImages().flatMap((image) => image.layers.map((l) => l.replace(/^sha256:/, ''))));
    const removed: string[] = [];
    for (const entry of readdirSync(this.layersDir)) {
      if (entry === 'l' || used.has(entry)) continue;
      rmSync(join(this.layersDir, 'l', entry.slice(0, SHORT_LINK_LENGTH)), { force: true });
      rmSync(join(this.layersDir, entry), { recursive: true, force: true });
      removed.push(`sha256:${entry}`);
    }
    return removed;
  }
}
