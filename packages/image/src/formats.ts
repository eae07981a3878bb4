// Multi-layer image formats, read from a directory (an OCI image layout, or the
// unpacked contents of a `docker save` archive): which layer blobs, in which order,
// and the image config.
//
// OCI image layout: https://github.com/opencontainers/image-spec/blob/main/image-layout.md
// docker save:      manifest.json = [{ Config, RepoTags, Layers }]
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { DiycError } from '@diyc/record';
import { crypto } from './lazy-builtins.js';
import type { ImageConfig } from './store.js';

export interface LayeredImage {
  format: 'oci' | 'docker';
  /** Layer blob files, bottom first. */
  layerFiles: string[];
  /** diff_ids from the config, when it lists them (checked after extraction). */
  diffIds: (string | undefined)[];
  config: ImageConfig;
  /** A name from the image itself: its tag, or ref.name annotation. */
  tagName?: string;
  /** The image's ID: its config's digest (sha256:HEX), as docker's IMAGE ID. */
  id?: string;
  /** The references it was saved under (docker save's RepoTags, an OCI layout's full ref.name). */
  references?: string[];
  /** When it was made, as its config says (RFC 3339), when it says. */
  created?: string;
}

/** An image whose manifest or layout does not hold together. */
const formatError = (message: string): DiycError => new DiycError('invalid', message);

interface Descriptor {
  mediaType?: string;
  digest: string;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

/** The most a manifest, index or config may take: they are read whole. */
const MAX_JSON = 16 * 1024 * 1024;

function readJson<T>(file: string, what: string): T {
  const size = statSync(file).size;
  if (size > MAX_JSON) throw formatError(`${what} is ${size} bytes, more than the ${MAX_JSON} diyc reads`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw formatError(`${what} is not readable JSON: ${(err as Error).message}`);
  }
}

/**
 * A file of the image directory, as a manifest names it. `..` and absolute names are
 * refused, and so is a symlink that leads out of the directory (an archive can link a
 * "layer" to /etc/shadow or to a disk) and anything but a regular file (reading a FIFO
 * would never end). A symlink within is followed: docker save links a shared layer.
 */
function inside(dir: string, rel: string, what: string): string {
  const clean = normalize(rel);
  if (clean.startsWith('..') || isAbsolute(clean)) throw formatError(`${what} '${rel}' points outside the image`);
  const path = join(dir, clean);
  if (!existsSync(path)) throw formatError(`${what} '${rel}' is missing from the image`);
  const root = realpathSync(dir);
  const real = realpathSync(path);
  if (!real.startsWith(`${root}/`)) throw formatError(`${what} '${rel}' is a link that leads out of the image`);
  if (!statSync(real).isFile()) throw formatError(`${what} '${rel}' is not a regular file`);
  return real;
}

function blobPath(dir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  if (!algorithm || !hex || !/^[a-z0-9]+$/.test(algorithm) || !/^[a-f0-9]+$/.test(hex)) throw formatError(`bad digest '${digest}'`);
  return inside(dir, join('blobs', algorithm, hex), 'blob');
}

export interface OciConfigFile {
  created?: unknown;
  config?: ImageConfig & { Labels?: unknown; Healthcheck?: unknown };
  rootfs?: { diff_ids?: string[] };
}

const isStringMap = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');

/** sha256:HEX of a file: an image config's digest is the image's ID. */
function fileDigest(file: string): string {
  return `sha256:${crypto().createHash('sha256').update(readFileSync(file)).digest('hex')}`;
}

export function fromConfig(file: OciConfigFile): { config: ImageConfig; diffIds: string[] } {
  const c = file.config ?? {};
  const config: ImageConfig = {};
  if (c.Env) config.Env = c.Env;
  if (c.Cmd) config.Cmd = c.Cmd;
  if (c.Entrypoint) config.Entrypoint = c.Entrypoint;
  if (c.WorkingDir) config.WorkingDir = c.WorkingDir;
  if (c.User) config.User = c.User;
  if (typeof c.StopSignal === 'string' && c.StopSignal !== '') config.StopSignal = c.StopSignal;
  if (isStringMap(c.Labels) && Object.keys(c.Labels).length > 0) config.Labels = c.Labels;
  const health = c.Healthcheck as ImageConfig['Healthcheck'] | undefined;
  if (health && Array.isArray(health.Test) && health.Test.every((t) => typeof t === 'string')) config.Healthcheck = health;
  return { config, diffIds: file.rootfs?.diff_ids ?? [] };
}

function tagToName(tag: string | undefined): string | undefined {
  if (!tag) return undefined;
  // registry.example/library/alpine:3.19 -> alpine
  const repo = tag.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  const last = repo.split('/').pop();
  return last && last.length > 0 ? last : undefined;
}

function readOci(dir: string, ref?: string): LayeredImage {
  const index = readJson<{ manifests?: Descriptor[] }>(inside(dir, 'index.json', 'index.json'), 'index.json');
  let manifests = index.manifests ?? [];
  if (manifests.length === 0) throw formatError('index.json lists no manifest');
  const REF = 'org.opencontainers.image.ref.name';
  if (ref !== undefined) {
    manifests = manifests.filter((m) => m.annotations?.[REF] === ref);
    if (manifests.length === 0)
      throw formatError(
        `the layout has no image tagged '${ref}' (tags: ${
          (index.manifests ?? [])
            .map((m) => m.annotations?.[REF])
            .filter(Boolean)
            .join(', ') || 'none'
        })`,
      );
  } else if (new Set(manifests.map((m) => m.annotations?.[REF])).size > 1) {
    throw formatError(
      `the layout holds several images (${manifests.map((m) => m.annotations?.[REF] ?? m.digest).join(', ')}): choose one with LAYOUT:TAG`,
    );
  }
  let chosen =
    manifests.find((m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === 'amd64')) ??
    (manifests[0] as Descriptor);
  // A nested index (a multi-platform image): follow it once.
  if (chosen.mediaType?.endsWith('image.index.v1+json')) {
    manifests = readJson<{ manifests?: Descriptor[] }>(blobPath(dir, chosen.digest), 'the image index').manifests ?? [];
    chosen = manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? (manifests[0] as Descriptor);
    if (!chosen) throw formatError('the nested image index lists no manifest');
  }
  const manifest = readJson<{ config: Descriptor; layers?: Descriptor[] }>(blobPath(dir, chosen.digest), 'the image manifest');
  const configFile = readJson<OciConfigFile>(blobPath(dir, manifest.config.digest), 'the image config');
  const { config, diffIds } = fromConfig(configFile);
  const layers = manifest.layers ?? [];
  for (const layer of layers) {
    if (layer.mediaType && /zstd/.test(layer.mediaType))
      throw formatError(`layer ${layer.digest} is zstd-compressed, which diyc cannot read yet`);
  }
  const result: LayeredImage = {
    format: 'oci',
    layerFiles: layers.map((l) => blobPath(dir, l.digest)),
    diffIds: layers.map((_, i) => diffIds[i]),
    config,
    id: fileDigest(blobPath(dir, manifest.config.digest)),
    ...createdOf(configFile),
  };
  // ref.name is often a bare tag ("v2"): only a full reference (repo:tag) names the image.
  const refName = chosen.annotations?.[REF];
  const tag = refName && /[/:]/.test(refName) ? tagToName(refName) : undefined;
  if (tag) result.tagName = tag;
  if (tag && refName) result.references = [refName];
  return result;
}

/** The config's creation time, when it is one (it is the image maker's text). */
function createdOf(file: OciConfigFile): { created?: string } {
  const created = file.created;
  return typeof created === 'string' && !Number.isNaN(Date.parse(created)) ? { created: new Date(Date.parse(created)).toISOString() } : {};
}

/** One entry of a docker save manifest.json. */
interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

function readDockerManifest(dir: string): DockerManifestEntry[] {
  const manifest = readJson<unknown>(inside(dir, 'manifest.json', 'manifest.json'), 'manifest.json');
  if (!Array.isArray(manifest)) throw formatError('manifest.json is not a list of images');
  for (const entry of manifest as Partial<DockerManifestEntry>[]) {
    if (typeof entry?.Config !== 'string' || !Array.isArray(entry.Layers) || !entry.Layers.every((l) => typeof l === 'string'))
      throw formatError('manifest.json has an image without a Config and its Layers');
  }
  return manifest as DockerManifestEntry[];
}

function readDockerEntry(dir: string, entry: DockerManifestEntry): LayeredImage {
  const configFile = inside(dir, entry.Config, 'config');
  const file = readJson<OciConfigFile>(configFile, 'the image config');
  const { config, diffIds } = fromConfig(file);
  const result: LayeredImage = {
    format: 'docker',
    layerFiles: entry.Layers.map((l) => inside(dir, l, 'layer')),
    diffIds: entry.Layers.map((_, i) => diffIds[i]),
    config,
    id: fileDigest(configFile),
    ...createdOf(file),
  };
  const tag = tagToName(entry.RepoTags?.[0]);
  if (tag) result.tagName = tag;
  const references = (entry.RepoTags ?? []).filter((t): t is string => typeof t === 'string' && t !== '');
  if (references.length > 0) result.references = references;
  return result;
}

function readDocker(dir: string): LayeredImage {
  const manifest = readDockerManifest(dir);
  const first = manifest[0];
  if (!first) throw formatError('manifest.json lists no image');
  if (manifest.length > 1) throw formatError(`the archive holds ${manifest.length} images: diyc unpacks one at a time`);
  return readDockerEntry(dir, first);
}

/**
 * Every image of an archive's contents, as `docker load` takes them: a docker save
 * manifest.json's (docker 25 writes an OCI layout beside it: manifest.json names the
 * tags), else each tagged image of an OCI layout's index.json.
 */
export function readArchiveImages(dir: string): LayeredImage[] {
  if (existsSync(join(dir, 'manifest.json'))) {
    const manifest = readDockerManifest(dir);
    if (manifest.length === 0) throw formatError('manifest.json lists no image');
    return manifest.map((entry) => readDockerEntry(dir, entry));
  }
  if (existsSync(join(dir, 'oci-layout')) && existsSync(join(dir, 'index.json'))) {
    const index = readJson<{ manifests?: Descriptor[] }>(inside(dir, 'index.json', 'index.json'), 'index.json');
    const refs = [...new Set((index.manifests ?? []).map((m) => m.annotations?.['org.opencontainers.image.ref.name']))];
    if (refs.length <= 1) return [readOci(dir)];
    return refs.map((ref) => {
      if (ref === undefined) throw formatError('index.json mixes tagged and untagged images: diyc loads tagged ones alone');
      return readOci(dir, ref);
    });
  }
  throw formatError('the archive holds no image: neither a manifest.json (docker save) nor an index.json (an OCI image layout)');
}

/** The layered image in `dir`, or undefined when `dir` is a plain root filesystem. */
export function readLayeredImage(dir: string, ref?: string): LayeredImage | undefined {
  if (existsSync(join(dir, 'oci-layout')) && existsSync(join(dir, 'index.json'))) return readOci(dir, ref);
  if (ref !== undefined) throw formatError(`:${ref} names an image in an OCI layout, and this is not one`);
  if (existsSync(join(dir, 'manifest.json')) && !existsSync(join(dir, 'bin')) && !existsSync(join(dir, 'etc'))) return readDocker(dir);
  return undefined;
}
