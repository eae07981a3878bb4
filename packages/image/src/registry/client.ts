// A client of the OCI distribution API v2, for pulling: GET manifests and blobs, with the
// auth a registry asks for. https://github.com/opencontainers/distribution-spec/blob/main/spec.md
import { DiycError } from '@diyc/record';
import { basicAuth, parseChallenge, type Credentials } from './auth.js';
import { isLoopbackRegistry, type ImageReference } from './reference.js';

export interface RegistryOptions {
  credentials?: Credentials;
  /** Plain HTTP to a registry that is not on loopback. */
  insecure?: boolean;
  /** For tests: another fetch. */
  fetch?: typeof fetch;
}

interface ErrorBody {
  errors?: { code?: string; message?: string }[];
}

/** Why fetch() failed, from undici's cause: ECONNREFUSED, ENOTFOUND, a TLS error... */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

export class RegistryClient {
  readonly base: string;
  readonly #ref: ImageReference;
  readonly #options: RegistryOptions;
  readonly #fetch: typeof fetch;
  #authorization: string | undefined;

  constructor(ref: ImageReference, options: RegistryOptions = {}) {
    const scheme = options.insecure || isLoopbackRegistry(ref.apiHost) ? 'http' : 'https';
    this.base = `${scheme}://${ref.apiHost}/v2/${ref.repository}`;
    this.#ref = ref;
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
  }

  /** GET base/path, authenticating when challenged; any answer but 2xx becomes a DiycError. */
  async get(path: string, accept: string[] = [], signal?: AbortSignal): Promise<Response> {
    let response = await this.#send(path, accept, signal);
    if (response.status === 401) {
      await response.body?.cancel();
      await this.#authenticate(response.headers.get('www-authenticate'), signal);
      response = await this.#send(path, accept, signal);
    }
    if (!response.ok) throw await this.#failure(response, path);
    return response;
  }

  async #send(path: string, accept: string[], signal?: AbortSignal): Promise<Response> {
    const url = `${this.base}/${path}`;
    const headers: Record<string, string> = { 'user-agent': 'diyc-image' };
    if (accept.length > 0) headers.accept = accept.join(', ');
    if (this.#authorization) headers.authorization = this.#authorization;
    try {
      return await this.#fetch(url, { headers, redirect: 'follow', ...(signal ? { signal } : {}) });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const hint = url.startsWith('https:') && !this.#options.insecure ? ' (if it serves plain HTTP, add --insecure)' : '';
      throw new DiycError('system', `registry ${this.#ref.registry} is not reachable at ${url}: ${networkReason(err)}${hint}`, {
        cause: err,
      });
    }
  }

  /** Answers a 401's challenge: Basic with the credentials, or a Bearer token from the realm. */
  async #authenticate(header: string | null, signal?: AbortSignal): Promise<void> {
    const challenge = header ? parseChallenge(header) : undefined;
    const { credentials } = this.#options;
    if (!challenge) throw this.#unauthorized('it asked for authentication in a way diyc does not know');
    if (challenge.scheme === 'basic') {
      if (!credentials) throw this.#unauthorized('it needs a user name and password');
      this.#authorization = basicAuth(credentials);
      return;
    }
    const realm = challenge.params.realm;
    if (!realm) throw this.#unauthorized('its Bearer challenge names no realm');
    const url = new URL(realm);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw this.#unauthorized(`its token service ${realm} is not an HTTP URL`);
    // The credentials go to the token service: never in clear across a network.
    if (credentials && url.protocol === 'http:' && !this.#options.insecure && !isLoopbackRegistry(url.host)) {
      throw new DiycError(
        'invalid',
        `${this.#ref.registry} sends the credentials to a token service over plain HTTP (${url.origin}), where anyone on the way could read them: refused (--insecure allows it)`,
      );
    }
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', challenge.params.scope ?? `repository:${this.#ref.repository}:pull`);
    const headers: Record<string, string> = { 'user-agent': 'diyc-image' };
    if (credentials) headers.authorization = basicAuth(credentials);
    let response: Response;
    try {
      response = await this.#fetch(url, { headers, ...(signal ? { signal } : {}) });
    } catch (err) {
      throw new DiycError(
        'system',
        `the token service of ${this.#ref.registry} is not reachable at ${url.origin}${url.pathname}: ${networkReason(err)}`,
        { cause: err },
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw this.#unauthorized(
        `its token service refused${credentials ? ' these credentials' : ' an anonymous pull'} (HTTP ${response.status})`,
      );
    }
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw this.#unauthorized('its token service answered without a token');
    this.#authorization = `Bearer ${token}`;
  }

  #unauthorized(why: string): DiycError {
    const fix = this.#options.credentials
      ? 'check the user name and password'
      : `log in: give --user USER:PASSWORD, or save them with docker login ${this.#ref.registry}`;
    return new DiycError('missing', `unauthorized: ${this.#ref.registry} refused to serve ${this.#ref.repository}: ${why}; ${fix}`);
  }

  async #failure(response: Response, path: string): Promise<DiycError> {
    let body: ErrorBody = {};
    try {
      body = (await response.json()) as ErrorBody;
    } catch {
      /* not JSON */
    }
    const code = body.errors?.[0]?.code;
    const message = body.errors?.[0]?.message;
    const what = `${this.#ref.registry}/${this.#ref.repository}`;
    if (response.status === 401 || response.status === 403) return this.#unauthorized(message ?? `HTTP ${response.status}`);
    if (code === 'NAME_UNKNOWN')
      return new DiycError(
        'not-found',
        `image ${what} not found: no such repository in ${this.#ref.registry} (if it is private, give --user)`,
      );
    if (response.status === 404 || code === 'MANIFEST_UNKNOWN' || code === 'BLOB_UNKNOWN') {
      const [kind, name] = path.split('/') as [string, string];
      if (kind === 'blobs') return new DiycError('invalid', `${what}: the registry has no blob ${name}, which its manifest names`);
      return new DiycError('not-found', `image ${what} has no ${name.startsWith('sha256:') ? 'manifest' : 'tag'} ${name}`);
    }
    if (response.status === 429) {
      const after = response.headers.get('retry-after');
      return new DiycError(
        'system',
        `rate limited by ${this.#ref.registry}${after ? `: retry after ${after} seconds` : ': retry later'}${this.#options.credentials ? '' : ' (logged-in pulls have higher limits)'}`,
      );
    }
    return new DiycError('system', `${this.#ref.registry} answered HTTP ${response.status} for ${path}${message ? `: ${message}` : ''}`);
  }
}
