// pullImage(): an image from a registry into the store `unpack` fills. The manifest (or
// the index, then this platform's manifest) and the config are read whole and checked
// against their digests; each layer is streamed from the registry straight into
// extractLayer, hashed as it comes, and committed only when both its digest and its
// diff_id match. Layers already in the store are not fetched; a few download at once.
// As with unpack, image.json is written last, and a pull killed half-way leaves only
// tmp/PID-*, which the next run removes.
import type { Hash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { DiycError, nameProblem } from '@diyc/record';
import { extractLayer } from '../extract.js';
import { crypto } from '../lazy-builtins.js';
import { fromConfig, type OciConfigFile } from '../formats.js';
import { ImageStore, type Image, type ImageConfig } from '../store.js';
import { dockerConfigCredentials, type Credentials } from './auth.js';
import { RegistryClient } from './client.js';
import { defaultImageName, DOCKER_HUB, formatReference, parseReference, type ImageReference } from './reference.js';

/**
 * `ref` (of docker.io) as served by a mirror: HOST[:PORT] or http(s)://HOST[:PORT]. A
 * plain-HTTP URL, or a mirror on loopback, is spoken to over HTTP.
 */
export function mirrored(ref: ImageReference, mirror: string): { ref: ImageReference; insecure: boolean } {
  const m = /^(?:(https?):\/\/)?([^/]+)\/?$/.exec(mirror.trim());
  if (!m) throw new DiycError('usage', `registry mirror '${mirror}': give HOST[:PORT] or an http(s)://HOST[:PORT] URL`);
  const host = m[2] as string;
  return { ref: { ...ref, apiHost: host }, insecure: m[1] === 'http' };
}

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;
const MANIFEST_TYPES = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest];

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  urls?: string[];
  platform?: Platform;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

interface Manifest {
  mediaType?: string;
  schemaVersion?: number;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

export interface LayerProgress {
  digest: string;
  /** Compressed bytes received, and the size the manifest gives. */
  bytes: number;
  size: number;
  state: 'waiting' | 'downloading' | 'done' | 'present';
}

export interface PullProgress {
  layers: LayerProgress[];
  bytes: number;
  total: number;
}

export interface PullOptions {
  name?: string;
  /**
   * Or the name chosen once the image's ID (its config's digest) is known: a front end
   * that keeps images by reference can keep another image of the same name apart.
   */
  chooseName?: (id: string) => string;
  /**
   * A mirror of Docker Hub (docker's registry-mirrors): HOST[:PORT], or an http(s) URL.
   * An image of docker.io is pulled from it; other registries' images are not.
   */
  mirror?: string;
  /** os/arch[/variant]; default this machine's, linux. */
  platform?: string;
  store?: ImageStore;
  credentials?: Credentials;
  insecure?: boolean;
  /** Layers fetched at once. */
  concurrency?: number;
  onProgress?: (p: PullProgress) => void;
  /** Called once per layer when it is committed (or found in the store). */
  onLayer?: (layer: LayerProgress) => void;
  temps?: Set<string>;
  fetch?: typeof fetch;
  env?: NodeJS.ProcessEnv;
}

export interface PullResult {
  image: Image;
  /** The manifest's digest: what `REF@DIGEST` pins. */
  digest: string;
  fetched: string[];
  reused: string[];
}

const NODE_ARCH: Record<string, Platform> = {
  x64: { os: 'linux', architecture: 'amd64' },
  arm64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
  ia32: { os: 'linux', architecture: '386' },
  ppc64: { os: 'linux', architecture: 'ppc64le' },
  s390x: { os: 'linux', architecture: 's390x' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
};

export function parsePlatform(text: string | undefined): Platform {
  if (text === undefined) return NODE_ARCH[process.arch] ?? { os: 'linux', architecture: process.arch };
  const [os, architecture, variant] = text.split('/');
  if (!os || !architecture || text.split('/').length > 3)
    throw new DiycError('usage', `--platform ${text}: use OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

const formatPlatform = (p: Platform): string => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/** The index entry for `want`: os and architecture must match; a variant, when asked, too. */
export function choosePlatform(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = manifests.filter((m) => m.platform?.os === want.os && m.platform.architecture === want.architecture);
  if (want.variant === undefined) return candidates[0];
  // arm64 images often omit their variant v8.
  return (
    candidates.find((m) => m.platform?.variant === want.variant) ??
    candidates.find((m) => m.platform?.variant === undefined && want.variant === 'v8')
  );
}

/**
 * A descriptor's digest, which goes into a URL path: from the registry, so anything but
 * sha256:64-hex (`sha256:../../other/repo`) is refused before it is used.
 */
function checkedDigest(descriptor: Descriptor | undefined, what: string): string {
  const digest = descriptor?.digest;
  if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest))
    throw new DiycError('invalid', `${what} names '${String(digest)}', which is not a sha256 digest: refused`);
  return digest;
}

const sha256 = (data: Buffer): string => `sha256:${crypto().createHash('sha256').update(data).digest('hex')}`;

/** A small document (manifest, config) read whole, at most `limit` bytes, checked against `digest`. */
async function readVerified(
  response: Response,
  digest: string | undefined,
  what: string,
  limit = 8 * 1024 * 1024,
): Promise<{ body: Buffer; digest: string }> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > limit) throw new DiycError('invalid', `${what} is ${declared} bytes: more than a ${what} can be (${limit})`);
  const body = Buffer.from(await response.arrayBuffer());
  if (body.length > limit) throw new DiycError('invalid', `${what} is more than ${limit} bytes`);
  const actual = sha256(body);
  if (digest !== undefined && actual !== digest)
    throw new DiycError('invalid', `${what}: the registry sent content whose digest is ${actual}, not ${digest}: refused`);
  return { body, digest: actual };
}

function parseJson<T>(body: Buffer, what: string): T {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch (err) {
    throw new DiycError('invalid', `${what} is not JSON: ${(err as Error).message}`);
  }
}

/** Bytes of a response body, hashed and counted as they pass, refused beyond `size`. */
async function* verifiedBody(
  body: ReadableStream<Uint8Array>,
  layer: LayerProgress,
  hash: Hash,
  onBytes: (n: number) => void,
): AsyncGenerator<Buffer> {
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    layer.bytes += buf.length;
    if (layer.size > 0 && layer.bytes > layer.size)
      throw new DiycError(
        'invalid',
        `layer ${layer.digest}: the registry sent more than the ${layer.size} bytes its manifest gives: refused`,
      );
    hash.update(buf);
    onBytes(buf.length);
    yield buf;
  }
}

/** Runs `jobs` with at most `limit` at once; the first failure aborts the rest and is thrown. */
async function pool<T>(items: T[], limit: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await job(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

/** The image manifest for `ref`: the one it names, or this platform's from the index it names. */
async function resolveManifest(
  client: RegistryClient,
  ref: ImageReference,
  platform: string | undefined,
): Promise<{ manifest: Manifest; digest: string }> {
  const reference = ref.digest ?? (ref.tag as string);
  let { body, digest } = await readVerified(await client.get(`manifests/${reference}`, MANIFEST_TYPES), ref.digest, 'the manifest');
  let manifest = parseJson<Manifest>(body, 'the manifest');
  if (manifest.schemaVersion === 1)
    throw new DiycError(
      'unsupported',
      `${formatReference(ref)} has a schema 1 manifest, which registries stopped serving: push it again with a current tool`,
    );
  if (manifest.manifests) {
    const want = parsePlatform(platform);
    const chosen = choosePlatform(manifest.manifests, want);
    if (!chosen) {
      const have = manifest.manifests
        .map((m) => m.platform)
        .filter((p): p is Platform => p !== undefined && p.os !== 'unknown')
        .map(formatPlatform);
      throw new DiycError(
        'not-found',
        `${formatReference(ref)} has no ${formatPlatform(want)} image (it has ${have.join(', ') || 'none'}): choose one with --platform`,
      );
    }
    const chosenDigest = checkedDigest(chosen, 'the index');
    ({ body, digest } = await readVerified(
      await client.get(`manifests/${chosenDigest}`, [MEDIA.ociManifest, MEDIA.dockerManifest]),
      chosenDigest,
      "the platform's manifest",
    ));
    manifest = parseJson<Manifest>(body, "the platform's manifest");
  }
  return { manifest, digest };
}

/** The manifest's layers and the image config, checked: sha256 digests, one diff_id per layer. */
async function readImageConfig(
  client: RegistryClient,
  ref: ImageReference,
  manifest: Manifest,
): Promise<{ layers: Descriptor[]; config: ImageConfig; diffIds: string[]; id: string }> {
  if (!manifest.config || !manifest.layers)
    throw new DiycError('invalid', `${formatReference(ref)}: the manifest has no config or no layers`);
  const configDigest = checkedDigest(manifest.config, "the manifest's config");
  for (const layer of manifest.layers) checkedDigest(layer, "the manifest's layers");
  const configDoc = await readVerified(await client.get(`blobs/${configDigest}`), configDigest, 'the image config');
  const { config, diffIds } = fromConfig(parseJson<OciConfigFile>(configDoc.body, 'the image config'));
  if (diffIds.length !== manifest.layers.length)
    throw new DiycError(
      'invalid',
      `${formatReference(ref)}: the manifest has ${manifest.layers.length} layers and the config ${diffIds.length} diff_ids`,
    );
  return { layers: manifest.layers, config, diffIds, id: configDigest };
}

interface FetchContext {
  client: RegistryClient;
  store: ImageStore;
  temps: Set<string>;
  descriptors: Descriptor[];
  diffIds: string[];
  options: PullOptions;
}

/** The layers of one pull: fetched a few at a time, each committed when its digests check. */
class LayerFetcher {
  readonly progress: PullProgress;
  readonly fetched: string[] = [];
  readonly reused: string[] = [];
  readonly sizes: Record<string, number> = {};
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();

  readonly #pull: FetchContext;

  constructor(pull: FetchContext) {
    this.#pull = pull;
    const layers = pull.descriptors.map((l): LayerProgress => ({ digest: l.digest, bytes: 0, size: l.size ?? 0, state: 'waiting' }));
    this.progress = { layers, bytes: 0, total: layers.reduce((sum, l) => sum + l.size, 0) };
  }

  report(): void {
    this.#pull.options.onProgress?.(this.progress);
  }

  /** Fetches every layer, at most `concurrency` at once; the first failure stops the others. */
  async fetchAll(concurrency: number): Promise<void> {
    this.report();
    try {
      await pool(
        this.#pull.descriptors.map((_, i) => i),
        concurrency,
        (i) => this.#fetch(i),
      );
    } catch (err) {
      this.#abort.abort();
      throw err;
    }
  }

  async #fetch(index: number): Promise<void> {
    const descriptor = this.#pull.descriptors[index] as Descriptor;
    const layer = this.progress.layers[index] as LayerProgress;
    const diffId = this.#pull.diffIds[index] as string;
    if (descriptor.mediaType && /zstd/.test(descriptor.mediaType))
      throw new DiycError('unsupported', `layer ${descriptor.digest} is zstd-compressed, which diyc cannot read yet`);
    if (descriptor.urls?.length)
      throw new DiycError(
        'unsupported',
        `layer ${descriptor.digest} is a foreign layer (served from ${descriptor.urls[0]}), which diyc does not fetch`,
      );
    // Two layers of one image with the same content: the second waits for the first.
    const same = this.#inFlight.get(diffId);
    if (same || this.#pull.store.hasLayer(diffId)) {
      await same;
      layer.state = 'present';
      this.progress.bytes += layer.size;
      this.reused.push(diffId);
      this.#done(layer);
      return;
    }
    const work = this.#download(descriptor, layer, diffId);
    this.#inFlight.set(diffId, work);
    await work;
  }

  /** Streams one layer from the registry into a temporary directory, and commits it when both digests check. */
  async #download(descriptor: Descriptor, layer: LayerProgress, diffId: string): Promise<void> {
    layer.state = 'downloading';
    const { client, store, temps } = this.#pull;
    const response = await client.get(`blobs/${descriptor.digest}`, [], this.#abort.signal);
    if (!response.body) throw new DiycError('invalid', `layer ${descriptor.digest}: the registry sent no content`);
    const dir = store.makeTemp();
    temps.add(dir);
    const hash = crypto().createHash('sha256');
    const result = await extractLayer(
      verifiedBody(response.body, layer, hash, (n) => {
        this.progress.bytes += n;
        this.report();
      }),
      dir,
    );
    const blobDigest = `sha256:${hash.digest('hex')}`;
    if (blobDigest !== descriptor.digest)
      throw new DiycError(
        'invalid',
        `layer ${descriptor.digest}: the registry sent content whose digest is ${blobDigest}: refused, nothing kept`,
      );
    if (result.diffId !== diffId)
      throw new DiycError(
        'invalid',
        `layer ${descriptor.digest}: its content is ${result.diffId}, the image config says ${diffId}: refused, nothing kept`,
      );
    store.commitLayer(dir, diffId);
    temps.delete(dir);
    this.sizes[diffId] = result.bytes;
    layer.state = 'done';
    this.fetched.push(diffId);
    this.#done(layer);
  }

  #done(layer: LayerProgress): void {
    this.#pull.options.onLayer?.(layer);
    this.report();
  }
}

export async function pullImage(text: string, options: PullOptions = {}): Promise<PullResult> {
  const ref: ImageReference = parseReference(text);
  const checkName = (name: string): string => {
    const problem = nameProblem(name, 'image name');
    if (problem) throw new DiycError('invalid', `${problem}${options.name === undefined ? ' (choose one with --name)' : ''}`);
    return name;
  };
  if (options.name !== undefined || !options.chooseName) checkName(options.name ?? defaultImageName(ref));
  const store = options.store ?? new ImageStore();
  const temps = options.temps ?? new Set<string>();
  const source = options.mirror !== undefined && ref.registry === DOCKER_HUB ? mirrored(ref, options.mirror) : { ref, insecure: false };
  // Docker Hub's saved credentials are Docker Hub's: a mirror gets its own, if any.
  const credentials = options.credentials ?? dockerConfigCredentials(source.ref === ref ? ref.registry : source.ref.apiHost, options.env);
  const client = new RegistryClient(source.ref, {
    ...(credentials ? { credentials } : {}),
    ...(options.insecure || source.insecure ? { insecure: true } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  store.removeStaleTemps();
  try {
    const { manifest, digest } = await resolveManifest(client, ref, options.platform);
    const { layers, config, diffIds, id } = await readImageConfig(client, ref, manifest);
    const name = checkName(options.name ?? options.chooseName?.(id) ?? defaultImageName(ref));
    const fetcher = new LayerFetcher({ client, store, temps, descriptors: layers, diffIds, options });
    await fetcher.fetchAll(options.concurrency ?? 3);
    const known = new Map(store.listImages().flatMap((i) => Object.entries(i.layerSizes ?? {})));
    const layerSizes: Record<string, number> = {};
    for (const id of diffIds) layerSizes[id] = fetcher.sizes[id] ?? known.get(id) ?? 0;
    const image: Image = {
      name,
      id,
      layers: diffIds,
      config,
      source: `${formatReference({ ...ref, digest })}`,
      created: new Date().toISOString(),
      size: Object.values(layerSizes).reduce((a, b) => a + b, 0),
      layerSizes,
    };
    store.saveImage(image);
    // The reference as asked (a tag, or a digest) names it from now on.
    store.tag(formatReference(ref), name);
    return { image, digest, fetched: fetcher.fetched, reused: fetcher.reused };
  } finally {
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
    temps.clear();
  }
}
