// Images as docker names them, over the image store (@diyc/image): a reference as docker
// reads it (busybox is docker.io/library/busybox:latest), an image ID (sha256:HEX, or a
// unique prefix of it), or the name the store keeps an image under (what diyc-image
// unpack --name gave). Pulls go to the reference's registry, or, for Docker Hub, to the
// mirror that DIYC_REGISTRY_MIRROR or /etc/diyc/daemon.json ("registry-mirrors") names.
import { readFileSync } from 'node:fs';
import { writeErr } from '@diyc/cli';
import {
  defaultImageName,
  formatReference,
  imageId,
  parseReference,
  pullImage,
  type Image,
  type ImageReference,
  type ImageStore,
} from '@diyc/image';
import { DiycError, NAME_MAX } from '@diyc/record';

/** A reference split as `docker images` shows it. */
export interface RepoTag {
  /** busybox, ghcr.io/o/r, 127.0.0.1:5000/library/busybox. */
  repository: string;
  /** The tag, or <none> for a reference by digest. */
  tag: string;
  digest?: string;
}

/** The full reference of `text`: docker.io/library/busybox:latest. A bad one is a usage error. */
export function fullReference(text: string): string {
  return formatReference(parseReference(text));
}

/** A full reference as people write it: busybox:1.36, not docker.io/library/busybox:1.36. */
export function familiar(reference: string): string {
  return reference.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

/** REPOSITORY, TAG (and digest) of a full reference. */
export function repoTag(reference: string): RepoTag {
  const ref = parseReference(reference);
  const repository = familiar(`${ref.registry}/${ref.repository}`);
  return { repository, tag: ref.tag ?? '<none>', ...(ref.digest !== undefined ? { digest: ref.digest } : {}) };
}

/** The short form of an ID: 12 hex digits. */
export const shortId = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

export interface FoundImage {
  /** Its name in the store (what containers record). */
  name: string;
  image: Image;
  /** The full reference it was found by, if it was found by one. */
  reference?: string;
}

/**
 * The image `text` names: a reference the store keeps, else a store name (`busybox`,
 * `busybox:latest`: an image unpacked with diyc-image), else an image ID or a unique prefix.
 */
export function findImage(store: ImageStore, text: string): FoundImage | undefined {
  let reference: string | undefined;
  try {
    reference = fullReference(text);
  } catch {
    /* not a reference: an ID, or nothing */
  }
  if (reference !== undefined) {
    const name = store.lookUpReference(reference);
    const image = name !== undefined ? store.getImage(name) : undefined;
    if (name !== undefined && image) return { name, image, reference };
  }
  const plain = text.replace(/:latest$/, '');
  if (!/[/:@]/.test(plain) && plain.length <= NAME_MAX) {
    const image = safeGet(store, plain);
    if (image) return { name: plain, image };
  }
  const hex = /^(?:sha256:)?([0-9a-f]{1,64})$/.exec(text)?.[1];
  if (hex !== undefined) {
    const matches = store.listImages().filter((i) => imageId(i).slice('sha256:'.length).startsWith(hex));
    if (matches.length > 1 && new Set(matches.map(imageId)).size > 1)
      throw new DiycError('usage', `image ID prefix ${text} is ambiguous: give more of it`);
    const [first] = matches;
    if (first) return { name: first.name, image: first };
  }
  return undefined;
}

function safeGet(store: ImageStore, name: string): Image | undefined {
  try {
    return store.getImage(name);
  } catch {
    return undefined;
  }
}

/** The image `text` names, or docker's "No such image" error. */
export function requireImage(store: ImageStore, text: string): FoundImage {
  const found = findImage(store, text);
  if (!found) throw new DiycError('not-found', `No such image: ${text}`);
  return found;
}

/** Where Docker Hub's images come from, and which registries may be spoken to over plain HTTP. */
export interface RegistryConfig {
  mirror?: string;
  insecure: string[];
}

/** DIYC_REGISTRY_MIRROR, else the first of /etc/diyc/daemon.json's "registry-mirrors" (docker's daemon.json keys). */
export function registryConfig(env: NodeJS.ProcessEnv = process.env, file = '/etc/diyc/daemon.json'): RegistryConfig {
  let json: { 'registry-mirrors'?: unknown; 'insecure-registries'?: unknown } = {};
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as typeof json;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new DiycError('invalid', `${file}: ${(err as Error).message}`);
  }
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const mirror = env.DIYC_REGISTRY_MIRROR || list(json['registry-mirrors'])[0];
  return { ...(mirror ? { mirror } : {}), insecure: list(json['insecure-registries']) };
}

/**
 * The store name for an image pulled as `ref` whose ID is `id`: busybox, busybox-1.36 (as
 * diyc-image names them), unless that name holds another image that something still needs
 * (a container, another reference): then NAME-ID12, and the old one stays, untagged, as
 * docker keeps an image a pull has replaced.
 */
export function storeNameFor(store: ImageStore, ref: ImageReference, id: string): string {
  const base = defaultImageName(ref);
  const existing = safeGet(store, base);
  if (!existing || imageId(existing) === id) return base;
  const reference = formatReference(ref);
  const others = store.referencesOf(base).filter((r) => r !== reference);
  const replaceable =
    store.repositories().references[reference] === base && others.length === 0 && store.containersUsing(base).length === 0;
  return replaceable ? base : `${base.slice(0, NAME_MAX - 13)}-${shortId(id)}`;
}

export interface PullOutput {
  /** Where docker's lines go: stdout for `pull`, stderr for the pull a `run` does. */
  write: (line: string) => void;
  /** -q: only the reference (pull), or nothing (run). */
  quiet: boolean;
  /** End with the full reference, as `docker pull` does (not the pull of a run). */
  reference: boolean;
}

/**
 * Pulls `text` as `docker pull` does, saying so as docker does: "latest: Pulling from
 * library/busybox", a line per layer, the digest and the status, then the reference.
 */
export async function pull(
  store: ImageStore,
  text: string,
  options: { platform?: string; out: PullOutput; env?: NodeJS.ProcessEnv },
): Promise<FoundImage> {
  const ref = parseReference(text);
  const reference = formatReference(ref);
  const before = store.lookUpReference(reference);
  const beforeId = before !== undefined ? imageId(store.getImage(before) as Image) : undefined;
  const config = registryConfig(options.env);
  const { out } = options;
  const say = (line: string): void => {
    if (!out.quiet) out.write(`${line}\n`);
  };
  if (!/:[^/]+$/.test(text.replace(/@.*$/, '')) && ref.digest === undefined) say('Using default tag: latest');
  say(`${ref.tag ?? ref.digest}: Pulling from ${familiar(`${ref.registry}/${ref.repository}`).replace(/^([^/]+)$/, 'library/$1')}`);
  const result = await pullImage(text, {
    store,
    chooseName: (id) => storeNameFor(store, ref, id),
    ...(config.mirror !== undefined ? { mirror: config.mirror } : {}),
    ...(config.insecure.includes(ref.registry) ? { insecure: true } : {}),
    ...(options.platform !== undefined ? { platform: options.platform } : {}),
    onLayer: (l) => say(`${shortId(l.digest)}: ${l.state === 'present' ? 'Already exists' : 'Pull complete'}`),
  });
  const id = imageId(result.image);
  say(`Digest: ${result.digest}`);
  say(`Status: ${beforeId === id ? 'Image is up to date' : 'Downloaded newer image'} for ${familiar(reference)}`);
  if (out.reference) out.write(`${reference}\n`);
  return { name: result.image.name, image: result.image, reference };
}

/** docker run's --pull: missing (the default), always or never. */
export type PullPolicy = 'missing' | 'always' | 'never';

/** The image `text` names, pulled when the policy asks; docker's messages on stderr. */
export async function ensureImage(
  store: ImageStore,
  text: string,
  policy: PullPolicy,
  options: { platform?: string; quiet: boolean },
): Promise<FoundImage> {
  const found = policy === 'always' ? undefined : findImage(store, text);
  if (found) return found;
  if (policy === 'never') throw new DiycError('not-found', `No such image: ${text}`);
  if (policy === 'missing') writeErr(`Unable to find image '${familiar(fullReference(text))}' locally\n`);
  try {
    return await pull(store, text, {
      ...(options.platform !== undefined ? { platform: options.platform } : {}),
      out: { write: (l) => writeErr(l), quiet: options.quiet, reference: false },
    });
  } catch (err) {
    if (err instanceof DiycError && policy === 'missing') {
      throw new DiycError(err.kind, `${err.message} (the images here: diyc images)`, { cause: err });
    }
    throw err;
  }
}
