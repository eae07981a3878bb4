// Image references as docker reads them: `alpine` is docker.io/library/alpine:latest,
// `ghcr.io/o/r:v1`, `localhost:5000/x@sha256:...`. The first component is a registry
// when it has a '.' or a ':', or is `localhost`; Docker Hub's API lives at another host.
// https://github.com/distribution/reference (the grammar) and docker's normalisation.
import { DiycError } from '@diyc/record';

export interface ImageReference {
  /** The registry as users write it: docker.io, ghcr.io, 127.0.0.1:5000. */
  registry: string;
  /** The host the API is served from (registry-1.docker.io for docker.io). */
  apiHost: string;
  /** The repository path: library/alpine, o/r. */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

const refError = (text: string, why: string): DiycError =>
  new DiycError(
    'usage',
    `'${text}' is not an image reference: ${why} (e.g. alpine, alpine:3.19, ghcr.io/owner/name:tag, host:5000/name@sha256:...)`,
  );

export function parseReference(text: string): ImageReference {
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw refError(text, `'${digest}' is not a sha256 digest`);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw refError(text, `'${tag}' is not a tag`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    parts.shift();
  }
  if (!/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(registry)) throw refError(text, `'${registry}' is not a registry host`);
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p)))
    throw refError(text, 'a repository is lower-case letters, digits and . _ - separated by /');
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const ref: ImageReference = { registry, apiHost: registry === DOCKER_HUB ? DOCKER_HUB_API : registry, repository: parts.join('/') };
  if (tag === undefined && digest === undefined) tag = 'latest';
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The full name: docker.io/library/alpine:latest, with @digest when pinned. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The name the pulled image gets by default: alpine, or alpine-3.19 for another tag. */
export function defaultImageName(ref: ImageReference): string {
  const base = ref.repository.split('/').pop() as string;
  const name = ref.tag === undefined || ref.tag === 'latest' ? base : `${base}-${ref.tag}`;
  return name.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 32);
}

/** A registry on this machine's loopback: plain HTTP is allowed there, as docker allows it. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
