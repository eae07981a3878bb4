// Registry credentials and the challenges of the distribution API's auth.
// A registry answers 401 with `WWW-Authenticate: Basic realm=...` (send the user and
// password) or `Bearer realm=URL,service=S,scope=repository:NAME:pull` (ask URL for a
// token, with the credentials if any, and send it). Docker Hub uses the second even for
// anonymous pulls. https://distribution.github.io/distribution/spec/auth/token/
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DiycError } from '@diyc/record';
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

/**
 * The credentials `docker login` saved for `registry` in $DOCKER_CONFIG/config.json
 * (default ~/.docker/config.json): its `auths` entry, base64 "user:password". Credential
 * helpers (credsStore, credHelpers) are not run.
 */
export function dockerConfigCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const file = join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
  if (!existsSync(file)) return undefined;
  let auths: Record<string, { auth?: string; username?: string; password?: string }>;
  try {
    auths = (JSON.parse(readFileSync(file, 'utf8')) as { auths?: typeof auths }).auths ?? {};
  } catch {
    throw new DiycError('invalid', `${file} is not valid JSON: fix it, or give --user`);
  }
  const keys = registry === DOCKER_HUB ? ['https://index.docker.io/v1/', 'index.docker.io', DOCKER_HUB] : [registry, `https://${registry}`, `http://${registry}`];
  for (const key of keys) {
    const entry = auths[key] ?? auths[`${key}/`];
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

export function basicAuth(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}
