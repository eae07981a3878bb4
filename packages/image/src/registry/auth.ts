// Registry credentials and the challenges of the distribution API's auth.
// A registry answers 401 with `WWW-Authenticate: Basic realm=...` (send the user and
// password) or `Bearer realm=URL,service=S,scope=repository:NAME:pull` (ask URL for a
// token, with the credentials if any, and send it). Docker Hub uses the second even for
// anonymous pulls. https://distribution.github.io/distribution/spec/auth/token/
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DiycError } from '@diyc/record';
import { childProcess } from '../lazy-builtins.js';
import { DOCKER_HUB } from './reference.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header: a scheme, then key="value" pairs (quoted or not). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = (m[1] as string).toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] as string).matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[(p[1] as string).toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}

/** `--user USER:PASSWORD`. */
export function parseUserFlag(text: string): Credentials {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new DiycError('usage', '--user takes USER:PASSWORD');
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/**
 * The credentials `docker login` saved for `registry`, found as docker finds them in
 * $DOCKER_CONFIG/config.json (default ~/.docker/config.json): the registry's entry in
 * `credHelpers`, else `credsStore`, run as `docker-credential-NAME get`; else its `auths`
 * entry (base64 "user:password").
 */
export function dockerConfigCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const file = join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
  if (!existsSync(file)) return undefined;
  let config: DockerConfig;
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as DockerConfig;
  } catch {
    throw new DiycError('invalid', `${file} is not valid JSON: fix it, or give --user`);
  }
  const keys =
    registry === DOCKER_HUB
      ? ['https://index.docker.io/v1/', 'index.docker.io', DOCKER_HUB]
      : [registry, `https://${registry}`, `http://${registry}`];
  const helper = keys.map((key) => config.credHelpers?.[key]).find((name) => name !== undefined) ?? config.credsStore;
  if (helper) return helperCredentials(helper, keys[0] as string, file, env);
  for (const key of keys) {
    const entry = config.auths?.[key] ?? config.auths?.[`${key}/`];
    if (!entry) continue;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  }
  return undefined;
}

/**
 * Asks a docker credential helper (docker/docker-credential-helpers' protocol): the server
 * on stdin, `{"Username","Secret"}` on stdout, or a failure with "credentials not found".
 * The helper's stderr is the user's: a helper such as `pass` may ask for a passphrase.
 */
function helperCredentials(name: string, server: string, file: string, env: NodeJS.ProcessEnv): Credentials | undefined {
  // The name becomes a command: a config.json must not name a path (`../../bin/sh`).
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
    throw new DiycError('invalid', `${file}: credential helper '${name}' is not a helper name (docker-credential-NAME)`);
  const command = `docker-credential-${name}`;
  const answer = childProcess().spawnSync(command, ['get'], {
    input: server,
    env,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'inherit'],
    timeout: 60_000,
  });
  // EPIPE: the helper ended without reading the server name from its stdin, which it need
  // not do (one with no credentials at all may answer at once). Its answer still counts.
  if (answer.error && (answer.error as NodeJS.ErrnoException).code !== 'EPIPE') {
    const missing = (answer.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new DiycError(
      missing ? 'missing' : 'system',
      missing
        ? `${file} names the credential helper ${name}, but ${command} is not on PATH: install it, or give --user`
        : `${command} get failed: ${answer.error.message}`,
    );
  }
  if (answer.status !== 0) {
    if (/credentials not found/i.test(answer.stdout)) return undefined;
    throw new DiycError(
      'system',
      `${command} get exited with ${answer.status ?? answer.signal}: ${answer.stdout.trim() || 'no message'}; give --user`,
    );
  }
  let found: { Username?: unknown; Secret?: unknown };
  try {
    found = JSON.parse(answer.stdout) as typeof found;
  } catch {
    throw new DiycError('system', `${command} get printed no JSON; give --user`);
  }
  if (typeof found.Username !== 'string' || typeof found.Secret !== 'string')
    throw new DiycError('system', `${command} get gave no Username and Secret; give --user`);
  // "<token>" marks an identity token (an OAuth refresh token), not a password.
  if (found.Username === '<token>')
    throw new DiycError(
      'unsupported',
      `${command} holds an identity token for ${server}, which diyc cannot use yet: give --user USER:PASSWORD (or a personal access token)`,
    );
  return { username: found.Username, password: found.Secret };
}

export function basicAuth(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}
