// diyc-image unpack FILE|- [--name NAME] [--json] | pull REF | ls | inspect NAME | rm NAME [--force]
import { rmSync } from 'node:fs';
import { createProgress, defineCli, formatBytes, one, printTable } from '@diyc/cli';
import { DiycError, formatRecord } from '@diyc/record';
import { withImage } from './image-record.js';
import { ImageStore, type Image } from './store.js';
import { unpackImage } from './unpack.js';
import { parseUserFlag } from './registry/auth.js';
import { pullImage } from './registry/pull.js';
import { formatReference, parseReference } from './registry/reference.js';

/** The system errors of an unpack, said with what to do. (runCli prints any other error's message.) */
function unpackError(err: unknown): never {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC')
    throw new DiycError('system', 'the disk is full: nothing was kept; free some space and unpack again', { cause: err });
  if (code === 'EACCES' || code === 'EPERM')
    throw new DiycError('system', `${(err as Error).message}: diyc-image needs root to keep owners and device nodes (run it with sudo)`, {
      cause: err,
    });
  throw err;
}

const json = { type: 'boolean', description: 'print JSON' } as const;

const unpack = defineCli({
  meta: {
    name: 'unpack',
    description:
      'Unpack an image: a rootfs tarball, a docker save archive or an OCI layout (dir or tar), plain or gzip. Prints the pipeline record when piped.',
  },
  args: {
    file: { type: 'positional', description: 'the archive, an OCI layout directory, or - for stdin' },
    name: { type: 'string', valueHint: 'NAME', description: 'the image name (default: its tag, or the file name)' },
    json: {
      type: 'boolean',
      description: 'print the pipeline record (the default when stdout is not a terminal: the next stage reads it)',
    },
  },
  async main({ flags, operands }) {
    const source = operands[0] as string;
    const temps = new Set<string>();
    cleanUpOnSignal(temps);
    const progress = createProgress(`unpacking ${source === '-' ? 'stdin' : source}`);
    try {
      const { image, extracted, reused } = await unpackImage(source, {
        ...(one(flags.name) !== undefined ? { name: one(flags.name) as string } : {}),
        temps,
        onProgress: (p) => progress.update(p.bytesRead, p.total),
      });
      progress.finish();
      // A pipeline stage: piped, it hands its record to the next one (diyc-run --dry-run).
      if (flags.json === true || !process.stdout.isTTY) {
        process.stdout.write(formatRecord(withImage(image)));
      } else {
        process.stdout.write(
          `${image.name}: ${image.layers.length} layer${image.layers.length === 1 ? '' : 's'} (${extracted.length} new, ${reused.length} shared), ${formatBytes(image.size)}\n`,
        );
      }
    } catch (err) {
      progress.finish();
      unpackError(err);
    }
  },
});

/** Removes this run's temporary directories on Ctrl-C or kill, then exits as killed. */
function cleanUpOnSignal(temps: Set<string>): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
}

const short = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

const pull = defineCli({
  meta: {
    name: 'pull',
    description:
      'Pull an image from a registry (Docker Hub, ghcr.io, quay.io, a registry:2): alpine, alpine:3.19, host:5000/name@sha256:...',
  },
  args: {
    ref: { type: 'positional', description: 'the image reference, as docker reads it' },
    name: {
      type: 'string',
      valueHint: 'NAME',
      description: "the image name here (default: the repository's last part, with -TAG unless latest)",
    },
    platform: {
      type: 'string',
      valueHint: 'OS/ARCH',
      description: "which image of a multi-platform one (default this machine's, e.g. linux/amd64)",
    },
    user: {
      type: 'string',
      alias: 'u',
      valueHint: 'USER:PASSWORD',
      description: 'credentials (default: those docker login saved in ~/.docker/config.json)',
    },
    insecure: { type: 'boolean', description: 'plain HTTP to a registry not on this machine (loopback registries get it anyway)' },
    json: { type: 'boolean', description: 'print the pulled image as JSON' },
  },
  async main({ flags, operands }) {
    const text = operands[0] as string;
    const ref = parseReference(text);
    const temps = new Set<string>();
    cleanUpOnSignal(temps);
    const progress = createProgress(`pulling ${formatReference(ref)}`);
    const user = one(flags.user);
    const platform = one(flags.platform);
    const name = one(flags.name);
    try {
      const result = await pullImage(text, {
        temps,
        ...(name !== undefined ? { name } : {}),
        ...(platform !== undefined ? { platform } : {}),
        ...(user !== undefined ? { credentials: parseUserFlag(user) } : {}),
        ...(flags.insecure === true ? { insecure: true } : {}),
        onLayer: (l) => progress.log(`${short(l.digest)}: ${l.state === 'present' ? 'already here' : `${formatBytes(l.bytes)}, done`}`),
        onProgress: (p) => {
          const done = p.layers.filter((l) => l.state === 'done' || l.state === 'present').length;
          progress.update(p.bytes, p.total, `${done}/${p.layers.length} layers`);
        },
      });
      progress.finish();
      if (flags.json === true) {
        process.stdout.write(`${JSON.stringify({ ...result.image, digest: result.digest }, null, 2)}\n`);
      } else {
        const { image } = result;
        process.stdout.write(
          `${image.name}: ${image.source}, ${image.layers.length} layer${image.layers.length === 1 ? '' : 's'} (${result.fetched.length} fetched, ${result.reused.length} already here), ${formatBytes(image.size)}\n`,
        );
      }
    } catch (err) {
      progress.finish();
      unpackError(err);
    }
  },
});

const ls = defineCli({
  meta: { name: 'ls', description: 'List the images' },
  args: { json },
  main({ flags }) {
    const images = new ImageStore().listImages();
    if (flags.json === true) {
      process.stdout.write(`${JSON.stringify(images, null, 2)}\n`);
      return;
    }
    const rows = images.map((i) => [
      i.name,
      String(i.layers.length),
      formatBytes(i.size),
      i.created.slice(0, 19).replace('T', ' '),
      i.source,
    ]);
    printTable(['NAME', 'LAYERS', 'SIZE', 'UNPACKED', 'SOURCE'], rows);
  },
});

const inspect = defineCli({
  meta: { name: 'inspect', description: 'Show an image as JSON: its layers and config' },
  args: {
    name: { type: 'positional', description: 'the image' },
    json: { type: 'boolean', description: "print JSON (inspect's only format, as docker inspect)" },
  },
  main({ operands }) {
    const store = new ImageStore();
    const image: Image = store.requireImage(operands[0] as string);
    process.stdout.write(`${JSON.stringify({ ...image, layerPaths: image.layers.map((l) => store.layerPath(l)) }, null, 2)}\n`);
  },
});

const rm = defineCli({
  meta: { name: 'rm', description: 'Remove an image, and the layers no other image uses' },
  args: {
    name: { type: 'positional', description: 'the image' },
    force: { type: 'boolean', alias: 'f', description: 'remove it even while containers use it' },
  },
  main({ flags, operands }) {
    const name = operands[0] as string;
    const store = new ImageStore();
    store.requireImage(name);
    const users = store.containersUsing(name);
    if (users.length > 0 && flags.force !== true) {
      throw new DiycError(
        'state',
        `image '${name}' is used by container${users.length > 1 ? 's' : ''} ${users.join(', ')}: remove ${users.length > 1 ? 'them' : 'it'} first (diyc-rm), or use --force`,
      );
    }
    const layers = store.removeImage(name);
    process.stdout.write(`removed ${name}${layers.length ? ` and ${layers.length} unused layer${layers.length > 1 ? 's' : ''}` : ''}\n`);
  },
});

export const imageCommand = defineCli({
  meta: { name: 'diyc-image', description: 'Unpack, pull and manage container images in $DIYC_ROOT/images (default /var/lib/diyc)' },
  subCommands: { unpack, pull, ls, inspect, rm },
});
