// A real registry for the pull tests: Debian's docker-registry (the CNCF distribution
// server) on 127.0.0.1, on a free port, with its own storage; images pushed to it with
// skopeo, as a user would push them. Also what the tests push: docker-save archives of
// given layers, and an OCI layout holding a multi-platform index.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { runCommand } from './helpers.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export type RegistryAuth = { htpasswd: string } | { token: { realm: string; service: string; issuer: string; certFile: string } };

export interface Registry {
  /** 127.0.0.1:PORT, as it goes in an image reference. */
  host: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startRegistry(dir: string, auth?: RegistryAuth): Promise<Registry> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const authYaml = !auth
    ? []
    : 'htpasswd' in auth
      ? ['auth:', '  htpasswd:', '    realm: diyc-test', `    path: ${auth.htpasswd}`]
      : [
          'auth:',
          '  token:',
          `    realm: ${auth.token.realm}`,
          `    service: ${auth.token.service}`,
          `    issuer: ${auth.token.issuer}`,
          `    rootcertbundle: ${auth.token.certFile}`,
        ];
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      ...authYaml,
      '',
    ].join('\n'),
  );
  const server: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/v2/`);
      await r.body?.cancel();
      break;
    } catch {
      if (i > 100 || server.exitCode !== null) throw new Error(`docker-registry did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    host: `127.0.0.1:${port}`,
    dir,
    async stop() {
      if (server.exitCode !== null) return;
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    },
  };
}

/** An htpasswd file with one user, its password hashed with bcrypt (libxcrypt, through python3's crypt). */
export async function htpasswd(file: string, user: string, password: string): Promise<void> {
  const r = await runCommand('python3', [
    '-W',
    'ignore',
    '-c',
    'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))',
    password,
  ]);
  if (r.code !== 0) throw new Error(`bcrypt failed: ${r.stderr}`);
  writeFileSync(file, `${user}:${r.stdout.trim()}\n`);
}

/** skopeo copy SOURCE docker://REF (plain HTTP to the loopback registry). */
export async function push(source: string, ref: string, creds?: string): Promise<void> {
  const r = await runCommand(
    'skopeo',
    [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      ...(creds ? ['--dest-creds', creds] : []),
      ...(source.startsWith('oci:') ? ['--all'] : []),
      source,
      `docker://${ref}`,
    ],
    { timeoutMs: 120_000 },
  );
  if (r.code !== 0) throw new Error(`skopeo copy ${source} ${ref} failed: ${r.stderr}`);
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** A `docker save` archive of `layers` (uncompressed tars, bottom first). */
export async function dockerArchive(dir: string, layers: Buffer[], tag: string): Promise<string> {
  const parts = join(dir, `archive-${sha256(tag).slice(0, 8)}`);
  mkdirSync(parts, { recursive: true });
  const names = layers.map((layer, i) => {
    writeFileSync(join(parts, `layer${i}.tar`), layer);
    return `layer${i}.tar`;
  });
  writeFileSync(
    join(parts, 'config.json'),
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha256(l)}`) },
    }),
  );
  writeFileSync(join(parts, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: [tag], Layers: names }]));
  const archive = `${parts}.tar`;
  const r = await runCommand('tar', ['-cf', archive, '-C', parts, 'manifest.json', 'config.json', ...names]);
  if (r.code !== 0) throw new Error(r.stderr);
  return archive;
}

/**
 * An OCI layout with a multi-platform index: for each platform a manifest whose config
 * names it, over the base layer and a layer holding /platform (the platform's name).
 */
export async function multiPlatformLayout(
  dir: string,
  base: Buffer,
  platforms: string[],
  tarOf: (files: Record<string, string>) => Promise<Buffer>,
): Promise<string> {
  const layout = join(dir, 'multi');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const blob = (data: Buffer | string, mediaType: string) => {
    const hex = sha256(data);
    writeFileSync(join(blobs, hex), data);
    return { mediaType, digest: `sha256:${hex}`, size: Buffer.byteLength(data) };
  };
  const baseDesc = blob(base, 'application/vnd.oci.image.layer.v1.tar');
  const manifests = [];
  for (const platform of platforms) {
    const [os, architecture] = platform.split('/') as [string, string];
    const marker = await tarOf({ platform: `${platform}\n` });
    const config = blob(
      JSON.stringify({
        architecture,
        os,
        config: { Cmd: ['cat', '/platform'] },
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(base)}`, `sha256:${sha256(marker)}`] },
      }),
      'application/vnd.oci.image.config.v1+json',
    );
    const manifest = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config,
        layers: [baseDesc, blob(marker, 'application/vnd.oci.image.layer.v1.tar')],
      }),
      'application/vnd.oci.image.manifest.v1+json',
    );
    manifests.push({ ...manifest, platform: { os, architecture } });
  }
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const index = blob(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
    'application/vnd.oci.image.index.v1+json',
  );
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...index, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }),
  );
  return `oci:${layout}:latest`;
}
