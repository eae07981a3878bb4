// The pure parts of pull: references as docker reads them, auth challenges and saved
// credentials, platforms. Pulling from a real registry is test-e2e/pull.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  RegistryClient,
  choosePlatform,
  defaultImageName,
  dockerConfigCredentials,
  formatReference,
  isLoopbackRegistry,
  parseChallenge,
  parsePlatform,
  parseReference,
  parseUserFlag,
} from '../src/index.js';

describe('parseReference', () => {
  it('reads references as docker does, Docker Hub and its library/ prefix included', () => {
    expect(parseReference('alpine')).toEqual({
      registry: 'docker.io',
      apiHost: 'registry-1.docker.io',
      repository: 'library/alpine',
      tag: 'latest',
    });
    expect(parseReference('bitnami/redis:7.2')).toMatchObject({ registry: 'docker.io', repository: 'bitnami/redis', tag: '7.2' });
    expect(parseReference('ghcr.io/o/r:v1')).toMatchObject({ registry: 'ghcr.io', apiHost: 'ghcr.io', repository: 'o/r', tag: 'v1' });
    expect(parseReference('localhost:5000/x')).toMatchObject({ registry: 'localhost:5000', repository: 'x', tag: 'latest' });
    expect(parseReference('localhost/x')).toMatchObject({ registry: 'localhost', repository: 'x' });
    const pinned = parseReference(`127.0.0.1:5000/a/b@sha256:${'a'.repeat(64)}`);
    expect(pinned).toMatchObject({ registry: '127.0.0.1:5000', repository: 'a/b', digest: `sha256:${'a'.repeat(64)}` });
    expect(pinned.tag).toBeUndefined();
    expect(formatReference(parseReference('alpine:3.19'))).toBe('docker.io/library/alpine:3.19');
  });

  it('refuses what is not a reference, saying what one looks like', () => {
    for (const bad of ['', 'Alpine', 'a//b', 'a:b:c', 'a@sha256:123', 'a:-tag', 'host:5000/../x']) {
      expect(() => parseReference(bad), bad).toThrow(/is not an image reference: .* \(e\.g\. alpine/);
    }
  });

  it('names the image by its repository, with the tag unless latest', () => {
    expect(defaultImageName(parseReference('alpine'))).toBe('alpine');
    expect(defaultImageName(parseReference('ghcr.io/o/tool:1.2'))).toBe('tool-1.2');
    expect(defaultImageName(parseReference(`x/y@sha256:${'b'.repeat(64)}`))).toBe('y');
  });

  it('allows plain HTTP only to loopback', () => {
    expect(['localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000'].map(isLoopbackRegistry)).toEqual([true, true, true, true]);
    expect(['docker.io', '10.0.0.1:5000', 'localhost.example:5000'].map(isLoopbackRegistry)).toEqual([false, false, false]);
  });
});

describe('auth', () => {
  it('parses Bearer and Basic challenges, quoted or not', () => {
    expect(
      parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"'),
    ).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' },
    });
    expect(parseChallenge('Basic realm=diyc-test')).toEqual({ scheme: 'basic', params: { realm: 'diyc-test' } });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
  });

  const dir = mkdtempSync(join(tmpdir(), 'diyc-docker-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds what docker login saved, under the keys docker uses', () => {
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw:with:colons').toString('base64') },
          'registry.example:5000': { auth: Buffer.from('me:pw').toString('base64') },
        },
      }),
    );
    const env = { DOCKER_CONFIG: dir };
    expect(dockerConfigCredentials('docker.io', env)).toEqual({ username: 'hub', password: 'pw:with:colons' });
    expect(dockerConfigCredentials('registry.example:5000', env)).toEqual({ username: 'me', password: 'pw' });
    expect(dockerConfigCredentials('ghcr.io', env)).toBeUndefined();
    expect(dockerConfigCredentials('ghcr.io', { DOCKER_CONFIG: join(dir, 'none') })).toBeUndefined();
  });

  it('asks the credential helper docker would: credHelpers for the registry, else credsStore', () => {
    // A helper as docker-credential-helpers writes them: the server on stdin, JSON out.
    // A real process on PATH; nothing but the helper's protocol is imitated.
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const helper = (name: string, script: string): void =>
      writeFileSync(join(bin, `docker-credential-${name}`), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    helper('store', 'read server; echo "{\\"ServerURL\\":\\"$server\\",\\"Username\\":\\"from-store\\",\\"Secret\\":\\"$server\\"}"');
    helper('ecr', 'read server; echo "{\\"Username\\":\\"AWS\\",\\"Secret\\":\\"ecr-$server\\"}"');
    helper('empty', 'echo "credentials not found in native keychain"; exit 1');
    helper('token', 'echo \'{"Username":"<token>","Secret":"refresh"}\'');
    helper('broken', 'echo "no keyring"; exit 3');
    const config = join(dir, 'helpers');
    mkdirSync(config, { recursive: true });
    const env = { DOCKER_CONFIG: config, PATH: `${bin}:/usr/bin:/bin` };
    const write = (json: object): void => writeFileSync(join(config, 'config.json'), JSON.stringify(json));

    write({ credsStore: 'store', credHelpers: { 'aws.example': 'ecr' }, auths: { 'docker.io': {} } });
    expect(dockerConfigCredentials('docker.io', env)).toEqual({ username: 'from-store', password: 'https://index.docker.io/v1/' });
    expect(dockerConfigCredentials('registry.example:5000', env)).toEqual({ username: 'from-store', password: 'registry.example:5000' });
    expect(dockerConfigCredentials('aws.example', env)).toEqual({ username: 'AWS', password: 'ecr-aws.example' });
    write({ credsStore: 'empty' });
    expect(dockerConfigCredentials('ghcr.io', env)).toBeUndefined();
    write({ credsStore: 'token' });
    expect(() => dockerConfigCredentials('ghcr.io', env)).toThrow(/identity token for ghcr.io.*give --user/);
    write({ credsStore: 'broken' });
    expect(() => dockerConfigCredentials('ghcr.io', env)).toThrow(/docker-credential-broken get exited with 3: no keyring/);
    write({ credsStore: 'desktop' });
    expect(() => dockerConfigCredentials('ghcr.io', env)).toThrow(
      /names the credential helper desktop, but docker-credential-desktop is not on PATH: install it, or give --user/,
    );
    // The name becomes a command: a config.json cannot make it a path.
    write({ credHelpers: { 'ghcr.io': '../../../bin/sh' } });
    expect(() => dockerConfigCredentials('ghcr.io', env)).toThrow(/credential helper '\.\.\/\.\.\/\.\.\/bin\/sh' is not a helper name/);
  });

  it('takes the answer of a helper that exits without reading its stdin (EPIPE is no failure)', () => {
    const bin = join(dir, 'bin-unread');
    mkdirSync(bin, { recursive: true });
    const config = join(dir, 'unread');
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'config.json'), JSON.stringify({ credsStore: 'unread' }));
    // It closes its stdin unread. A server name longer than a pipe holds (64 KiB) makes
    // the write fail with EPIPE every time, not only when the helper wins the race.
    writeFileSync(
      join(bin, 'docker-credential-unread'),
      '#!/bin/sh\nexec 0<&-\necho "credentials not found in native keychain"\nexit 1\n',
      { mode: 0o755 },
    );
    const env = { DOCKER_CONFIG: config, PATH: `${bin}:/usr/bin:/bin` };
    expect(dockerConfigCredentials(`${'a'.repeat(100_000)}.example`, env)).toBeUndefined();
    writeFileSync(join(bin, 'docker-credential-unread'), '#!/bin/sh\nexec 0<&-\necho \'{"Username":"u","Secret":"s"}\'\n', { mode: 0o755 });
    expect(dockerConfigCredentials(`${'b'.repeat(100_000)}.example`, env)).toEqual({ username: 'u', password: 's' });
  });

  it('sends credentials to a token service only over HTTPS (or loopback, or --insecure)', async () => {
    // A registry imitated by a fetch function: no traffic leaves this process.
    const asked: string[] = [];
    const registry = (realm: string): typeof fetch =>
      (async (input: string | URL | Request) => {
        const url = String(input);
        asked.push(url);
        if (url.includes('/v2/'))
          return new Response(null, { status: 401, headers: { 'www-authenticate': `Bearer realm="${realm}",service="reg"` } });
        return Response.json({ token: 't0ken' });
      }) as typeof fetch;
    const ref = parseReference('registry.example/team/app');
    const credentials = { username: 'me', password: 'secret' };
    const clear = new RegistryClient(ref, { credentials, fetch: registry('http://auth.example/token') });
    await expect(clear.get('manifests/latest')).rejects.toThrow(
      'registry.example sends the credentials to a token service over plain HTTP (http://auth.example), where anyone on the way could read them: refused (--insecure allows it)',
    );
    expect(asked.some((u) => u.startsWith('http://auth.example'))).toBe(false);
    // Anonymous, there is nothing to read; on loopback, nothing crosses a network.
    for (const [realm, options] of [
      ['http://auth.example/token', {}],
      ['http://127.0.0.1:5001/token', { credentials }],
    ] as const) {
      asked.length = 0;
      await expect(new RegistryClient(ref, { ...options, fetch: registry(realm) }).get('manifests/latest')).rejects.toThrow(
        /HTTP 401|unauthorized/,
      );
      expect(asked.some((u) => u.startsWith(realm))).toBe(true);
    }
    await expect(new RegistryClient(ref, { fetch: registry('file:///etc/passwd') }).get('manifests/latest')).rejects.toThrow(
      'is not an HTTP URL',
    );
  });

  it('reads --user USER:PASSWORD', () => {
    expect(parseUserFlag('a:b:c')).toEqual({ username: 'a', password: 'b:c' });
    expect(() => parseUserFlag('nopassword')).toThrow('USER:PASSWORD');
  });
});

describe('platforms', () => {
  const index = [
    { digest: 'sha256:1', platform: { os: 'linux', architecture: 'amd64' } },
    { digest: 'sha256:2', platform: { os: 'linux', architecture: 'arm64' } },
    { digest: 'sha256:3', platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    { digest: 'sha256:4', platform: { os: 'unknown', architecture: 'unknown' } },
  ];
  it("reads OS/ARCH[/VARIANT], and defaults to this machine's", () => {
    expect(parsePlatform('linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform(undefined).os).toBe('linux');
    expect(() => parsePlatform('amd64')).toThrow('OS/ARCH');
  });
  it('matches os and architecture, and a variant when asked (arm64 images often omit v8)', () => {
    expect(choosePlatform(index, { os: 'linux', architecture: 'amd64' })?.digest).toBe('sha256:1');
    expect(choosePlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v8' })?.digest).toBe('sha256:2');
    expect(choosePlatform(index, { os: 'linux', architecture: 'arm', variant: 'v6' })).toBeUndefined();
    expect(choosePlatform(index, { os: 'linux', architecture: 's390x' })).toBeUndefined();
  });
});
