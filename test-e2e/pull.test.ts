// diyc-image pull against a real registry on this machine's loopback (docker-registry),
// images pushed with skopeo: the busybox image, two layers with a whiteout, a
// multi-platform index, basic auth, and Docker Hub's Bearer token flow against a token
// service written here (the registry checks its tokens as it would Docker Hub's). No test
// reaches a host outside this machine.
import { spawn } from 'node:child_process';
import { createSign, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { busyboxTarball, isRoot, rootReason, runBin, runCommand, tempDir, userEnv } from './helpers.js';
import { dockerArchive, freePort, htpasswd, multiPlatformLayout, push, startRegistry, type Registry } from './registry.js';

const have = (command: string) => existsSync(`/usr/bin/${command}`);
/** The names in `dir`; none when it does not exist (yet). */
const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

describe.skipIf(!isRoot || !have('docker-registry') || !have('skopeo'))(`diyc-image pull (${rootReason})`, () => {
  const work = tempDir('diyc-pull-e2e-');
  const state = join(work.path, 'state');
  const parent = `diyc-e2e-pull-${process.pid}`;
  const env = { ...process.env, DIYC_ROOT: state, DIYC_CGROUP_PARENT: parent, DOCKER_CONFIG: join(work.path, 'docker') };
  const pull = (...args: string[]) => runBin('diyc-image', ['pull', ...args], { env, timeoutMs: 120_000 });
  const registries: Registry[] = [];
  let open: Registry;
  /** A tar of `files` (name: content), as a layer. */
  const tarOf = async (files: Record<string, string>): Promise<Buffer> => {
    const dir = join(work.path, `files-${randomUUID()}`);
    mkdirSync(dir);
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), content);
    }
    const r = await runCommand('tar', ['--owner=0', '--group=0', '--mtime=@0', '-cf', `${dir}.tar`, '-C', dir, ...Object.keys(files)]);
    expect(r.code, r.stderr).toBe(0);
    return readFileSync(`${dir}.tar`);
  };

  beforeAll(async () => {
    open = await startRegistry(join(work.path, 'open'));
    registries.push(open);
    const base = readFileSync(busyboxTarball());
    await push(`docker-archive:${await dockerArchive(work.path, [base], 'busybox:latest')}`, `${open.host}/diyc/busybox:latest`);
    // The second layer deletes /bin/vi (a whiteout) and adds /hello.
    const top = await tarOf({ 'bin/.wh.vi': '', hello: 'from the top layer\n' });
    await push(`docker-archive:${await dockerArchive(work.path, [base, top], 'two:latest')}`, `${open.host}/diyc/two:v1`);
    await push(await multiPlatformLayout(work.path, base, ['linux/amd64', 'linux/arm64'], tarOf), `${open.host}/diyc/multi:latest`);
  }, 180_000);

  afterAll(async () => {
    for (const r of registries) await r.stop();
    createCgroupManager({ parent }).pruneParent();
    work.remove();
  });

  it("pulls an image over the loopback registry's plain HTTP, and diyc-run runs it", async () => {
    const r = await pull(`${open.host}/diyc/busybox`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^busybox: ${open.host.replace(/\./g, '\\.')}/diyc/busybox:latest@sha256:[0-9a-f]{64}, 1 layer \\(1 fetched, 0 already here\\), [0-9.]+ MB\\n$`,
      ),
    );
    const run = await runBin('diyc-run', ['--rm', '--net', 'none', 'pulled', 'busybox', 'sh', '-c', 'echo hello from $(hostname)'], {
      env,
    });
    expect([run.code, run.stdout]).toEqual([0, 'hello from pulled\n']);
  });

  it('applies a whiteout of an upper layer, and fetches a layer another image has brought only once', async () => {
    const r = await pull('--json', `${open.host}/diyc/two:v1`);
    expect(r.code, r.stderr).toBe(0);
    const image = JSON.parse(r.stdout) as { name: string; layers: string[] };
    expect(image.name).toBe('two-v1');
    expect(image.layers).toHaveLength(2);
    const run = await runBin(
      'diyc-run',
      ['--rm', '--net', 'none', 'two', 'two-v1', 'sh', '-c', 'cat /hello; ls /bin/vi 2>&1 || echo "vi is gone"'],
      { env },
    );
    expect(run.stdout).toBe('from the top layer\nls: /bin/vi: No such file or directory\nvi is gone\n');
    // The base layer came with busybox: two-v1 fetched only its own.
    expect(readdirSync(join(state, 'layers')).filter((l) => l !== 'l')).toHaveLength(2);
    const again = await pull('--name', 'bb-again', `${open.host}/diyc/busybox:latest`);
    expect(again.stdout).toContain('1 layer (0 fetched, 1 already here)');
  });

  it("picks this machine's platform from an index, another with --platform, and names those it has", async () => {
    const mine = await pull('--name', 'multi-amd64', `${open.host}/diyc/multi`);
    expect(mine.code, mine.stderr).toBe(0);
    const arm = await pull('--name', 'multi-arm64', '--platform', 'linux/arm64', `${open.host}/diyc/multi`);
    expect(arm.code, arm.stderr).toBe(0);
    const cat = async (image: string) =>
      (await runBin('diyc-run', ['--rm', '--net', 'none', `c-${image}`, image, 'cat', '/platform'], { env })).stdout;
    expect(await cat('multi-amd64')).toBe('linux/amd64\n');
    expect(await cat('multi-arm64')).toBe('linux/arm64\n');
    const none = await pull('--platform', 'linux/s390x', `${open.host}/diyc/multi`);
    expect([none.code, none.stderr]).toEqual([
      1,
      `diyc-image pull: ${open.host}/diyc/multi:latest has no linux/s390x image (it has linux/amd64, linux/arm64): choose one with --platform\n`,
    ]);
  });

  it('says what is missing: an unknown tag, and a registry that does not answer', async () => {
    const tag = await pull(`${open.host}/diyc/busybox:nope`);
    expect([tag.code, tag.stderr]).toEqual([1, `diyc-image pull: image ${open.host}/diyc/busybox has no tag nope\n`]);
    const port = await freePort();
    const down = await pull(`127.0.0.1:${port}/diyc/busybox`);
    expect([down.code, down.stderr]).toEqual([
      1,
      `diyc-image pull: registry 127.0.0.1:${port} is not reachable at http://127.0.0.1:${port}/v2/diyc/busybox/manifests/latest: ECONNREFUSED\n`,
    ]);
    expect((await pull('Not/A/Ref')).code).toBe(2);
  });

  it('refuses a layer whose bytes are not its digest, and keeps nothing of it', async () => {
    const reg = await startRegistry(join(work.path, 'tampered'));
    registries.push(reg);
    await push(
      `docker-archive:${await dockerArchive(work.path, [await tarOf({ 'data.txt': randomBytes(65536).toString('hex') })], 'tamper:latest')}`,
      `${reg.host}/diyc/tamper:latest`,
    );
    // Change the layer blob on the registry's disk: the biggest "data" file under blobs.
    const { stdout } = await runCommand('sh', [
      '-c',
      `find ${reg.dir}/data -path '*blobs*' -name data -printf '%s %p\\n' | sort -n | tail -1 | cut -d' ' -f2`,
    ]);
    const blob = stdout.trim();
    const bytes = readFileSync(blob);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 30) ^ 0xff, bytes.length - 30);
    writeFileSync(blob, bytes);
    const before = entries(join(state, 'layers')).length;
    const r = await pull(`${reg.host}/diyc/tamper:latest`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /(the registry sent content whose digest is sha256:[0-9a-f]{64}: refused, nothing kept|the archive is (corrupt|not valid gzip))/,
    );
    expect(entries(join(state, 'layers')).length).toBe(before);
    expect(existsSync(join(state, 'images', 'tamper'))).toBe(false);
    expect(entries(join(state, 'tmp'))).toEqual([]);
  });

  it('basic auth: refused without credentials, with the fix; --user, ~/.docker/config.json and a credential helper work', async () => {
    const dir = join(work.path, 'basic');
    mkdirSync(dir, { recursive: true });
    await htpasswd(join(dir, 'htpasswd'), 'alice', 's3cret');
    const reg = await startRegistry(dir, { htpasswd: join(dir, 'htpasswd') });
    registries.push(reg);
    await push(
      `docker-archive:${await dockerArchive(work.path, [readFileSync(busyboxTarball())], 'private:latest')}`,
      `${reg.host}/diyc/private:latest`,
      'alice:s3cret',
    );
    const anonymous = await pull('--name', 'p1', `${reg.host}/diyc/private`);
    expect([anonymous.code, anonymous.stderr]).toEqual([
      1,
      `diyc-image pull: unauthorized: ${reg.host} refused to serve diyc/private: it needs a user name and password; log in: give --user USER:PASSWORD, or save them with docker login ${reg.host}\n`,
    ]);
    expect((await pull('--name', 'p1', '--user', 'alice:wrong', `${reg.host}/diyc/private`)).stderr).toContain(
      'check the user name and password',
    );
    expect((await pull('--name', 'p1', '--user', 'alice:s3cret', `${reg.host}/diyc/private`)).code).toBe(0);
    mkdirSync(env.DOCKER_CONFIG, { recursive: true });
    writeFileSync(
      join(env.DOCKER_CONFIG, 'config.json'),
      JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }),
    );
    expect((await pull('--name', 'p2', `${reg.host}/diyc/private`)).code).toBe(0);
    // A credential helper, as `docker login` with a credsStore leaves it: asked for this registry.
    const bin = join(work.path, 'helper-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'docker-credential-diyctest'),
      `#!/bin/sh\nread server\necho "$server" > ${join(work.path, 'helper-asked')}\necho '{"Username":"alice","Secret":"s3cret"}'\n`,
      { mode: 0o755 },
    );
    // Its own DOCKER_CONFIG: the tests after this one pull with the shared one.
    const helperConfig = join(work.path, 'docker-helper');
    mkdirSync(helperConfig, { recursive: true });
    writeFileSync(join(helperConfig, 'config.json'), JSON.stringify({ credsStore: 'diyctest', auths: { [reg.host]: {} } }));
    const helped = await runBin('diyc-image', ['pull', '--name', 'p3', `${reg.host}/diyc/private`], {
      env: { ...env, DOCKER_CONFIG: helperConfig, PATH: `${bin}:${process.env.PATH ?? ''}` },
      timeoutMs: 120_000,
    });
    expect(helped.code, helped.stderr).toBe(0);
    expect(readFileSync(join(work.path, 'helper-asked'), 'utf8')).toBe(`${reg.host}\n`);
  });

  describe('the Bearer token flow, as Docker Hub answers it', () => {
    let tokens: Server;
    const asked: string[] = [];

    it("gets a token from the realm the registry names, for the repository's pull scope, and pulls", async () => {
      // A key and a self-signed certificate: the registry trusts tokens signed by it.
      const dir = join(work.path, 'token');
      mkdirSync(dir, { recursive: true });
      const ssl = await runCommand('openssl', [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=diyc-test-tokens',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ]);
      expect(ssl.code, ssl.stderr).toBe(0);
      const key = readFileSync(join(dir, 'key.pem'), 'utf8');
      const certDer = (await runCommand('sh', ['-c', `openssl x509 -in ${dir}/cert.pem -outform der | base64 -w0`])).stdout;
      const b64 = (v: object | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v))).toString('base64url');
      const tokenPort = await freePort();
      // Docker Hub's answer: {token, access_token, expires_in}; anonymous pulls are allowed,
      // pushes need the user "pusher".
      tokens = createServer((req, res) => {
        const url = new URL(req.url ?? '/', `http://127.0.0.1:${tokenPort}`);
        asked.push(`${url.searchParams.get('service')} ${url.searchParams.get('scope')}`);
        const user = req.headers.authorization?.startsWith('Basic ')
          ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString()
          : '';
        const [, name, actions] = /^repository:([^:]+):(.+)$/.exec(url.searchParams.get('scope') ?? '') ?? [];
        const granted = (actions ?? '').split(',').filter((a) => a === 'pull' || user === 'pusher:push-secret');
        const now = Math.floor(Date.now() / 1000);
        const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer] };
        const claims = {
          iss: 'diyc-test-issuer',
          sub: user.split(':')[0] ?? '',
          aud: 'diyc-test-registry',
          exp: now + 300,
          nbf: now - 10,
          iat: now,
          jti: randomUUID(),
          access: name ? [{ type: 'repository', name, actions: granted }] : [],
        };
        const signing = `${b64(header)}.${b64(claims)}`;
        const token = `${signing}.${b64(createSign('RSA-SHA256').update(signing).sign(key))}`;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
      });
      await new Promise<void>((r) => tokens.listen(tokenPort, '127.0.0.1', () => r()));
      try {
        const reg = await startRegistry(join(dir, 'registry'), {
          token: {
            realm: `http://127.0.0.1:${tokenPort}/token`,
            service: 'diyc-test-registry',
            issuer: 'diyc-test-issuer',
            certFile: join(dir, 'cert.pem'),
          },
        });
        registries.push(reg);
        await push(
          `docker-archive:${await dockerArchive(work.path, [readFileSync(busyboxTarball())], 'hub:latest')}`,
          `${reg.host}/library/hubby:latest`,
          'pusher:push-secret',
        );
        asked.length = 0;
        const r = await pull('--name', 'hubby', `${reg.host}/library/hubby`);
        expect(r.code, r.stderr).toBe(0);
        expect(asked).toEqual(['diyc-test-registry repository:library/hubby:pull']);
      } finally {
        await new Promise((r) => tokens.close(r));
      }
    }, 120_000);
  });

  it('Ctrl-C half-way leaves nothing the next pull trips over', async () => {
    // A 48 MB layer of random bytes: gzip cannot shrink it, so the pull takes a moment.
    const reg = await startRegistry(join(work.path, 'big'));
    registries.push(reg);
    const big = join(work.path, 'big.bin');
    await runCommand('sh', ['-c', `head -c 50331648 /dev/urandom > ${big}`]);
    const dir = join(work.path, 'bigtree');
    mkdirSync(dir);
    await runCommand('cp', [big, join(dir, 'big.bin')]);
    const layer = (await runCommand('sh', ['-c', `tar -cf ${dir}.tar -C ${dir} big.bin && echo ok`])).stdout;
    expect(layer).toBe('ok\n');
    await push(
      `docker-archive:${await dockerArchive(work.path, [readFileSync(`${dir}.tar`)], 'big:latest')}`,
      `${reg.host}/diyc/big:latest`,
    );
    const child = spawn('diyc-image', ['pull', `${reg.host}/diyc/big`], { env: userEnv(env), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // Listened to from the start: a pull that fails at once must fail the test, not hang it.
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const tmp = join(state, 'tmp');
    for (
      let i = 0;
      i < 400 && child.exitCode === null && !(existsSync(tmp) && readdirSync(tmp).some((d) => d.startsWith(`${child.pid}-`)));
      i++
    )
      await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(join(state, 'images', 'big'))).toBe(false);
    const again = await pull(`${reg.host}/diyc/big`);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('1 layer (1 fetched, 0 already here)');
  }, 180_000);
});
