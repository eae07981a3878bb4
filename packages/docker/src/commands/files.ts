// diyc cp, save, load: files between the host and a container (cp.ts), images to and from
// docker's archives (@diyc/image's saveImages and loadImages).
import { closeSync, openSync, renameSync, rmSync } from 'node:fs';
import { defineCli, one, writeErr, writeOut } from '@diyc/cli';
import { ImageStore, loadImages, parseReference, saveImages, type SavedImage } from '@diyc/image';
import { DiycError, stateRoot } from '@diyc/record';
import { findContainer } from '../containers.js';
import { absoluteLocal, containerPath, cpDirection } from '../cp-plan.js';
import { writeFully } from '../cp-tree.js';
import { copyIn, copyOut, withContainerRoot } from '../cp.js';
import { humanSize } from '../human.js';
import { familiar, fullReference, requireImage, shortId, storeNameFor } from '../images.js';
import { requireRoot } from './common.js';

/** All of stdin, for `diyc cp - CONTAINER:DEST` (the copy itself runs synchronously, under a lock for a stopped container). */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export const cpCommand = defineCli({
  meta: {
    name: 'cp',
    description:
      "Copy files between a container and the host: CONTAINER:SRC DEST or SRC CONTAINER:DEST ('-' for a tar on stdin or stdout); the container's paths stay inside it",
  },
  args: {
    archive: { type: 'boolean', alias: 'a', description: 'archive mode: the files keep their uid and gid (else root owns them)' },
    'follow-link': { type: 'boolean', alias: 'L', description: 'follow a symlink at SRC (inside the container, for a container SRC)' },
    quiet: { type: 'boolean', alias: 'q', description: 'do not say what was copied' },
    src: { type: 'positional', description: 'SRC: a host path, CONTAINER:PATH, or -' },
    dest: { type: 'positional', description: 'DEST: a host path, CONTAINER:PATH, or -' },
  },
  async main({ flags, operands }) {
    const [srcArg, destArg] = operands;
    if (srcArg === undefined || destArg === undefined || operands.length !== 2)
      throw new DiycError(
        'usage',
        '"diyc cp" requires exactly 2 arguments: CONTAINER:SRC_PATH DEST_PATH|- or SRC_PATH|- CONTAINER:DEST_PATH',
      );
    const direction = cpDirection(srcArg, destArg);
    requireRoot();
    const root = stateRoot();
    const { container } = findContainer(direction.container, root);
    const options = {
      archive: flags.archive === true,
      followLink: flags['follow-link'] === true,
      warn: (m: string) => writeErr(`WARNING: ${m}\n`),
    };
    const label = direction.container;
    let shown: string;
    let bytes: number;
    if (direction.from === 'container') {
      const dest = absoluteLocal(direction.dest, process.cwd());
      const src = containerPath(direction.src);
      ({ bytes } = withContainerRoot(container, (rootFd) => copyOut(rootFd, src, dest, label, options), root));
      shown = dest;
    } else {
      const stdin = direction.src === '-' ? await readStdin() : undefined;
      const src = absoluteLocal(direction.src, process.cwd());
      const dest = containerPath(direction.dest);
      ({ bytes } = withContainerRoot(container, (rootFd) => copyIn(rootFd, src, dest, label, options, stdin), root));
      shown = `${label}:${dest}`;
    }
    // As docker: said on a terminal only, and never over a tar on stdout.
    if (flags.quiet !== true && process.stderr.isTTY === true && direction.dest !== '-')
      writeErr(`Successfully copied ${humanSize(bytes)} to ${shown}\n`);
    return 0;
  },
});

export const saveCommand = defineCli({
  meta: { name: 'save', description: 'Save images to a tar archive (docker save format), to a file or to stdout' },
  stopAtOperand: true,
  args: {
    output: { type: 'string', alias: 'o', valueHint: 'FILE', description: 'write to FILE instead of stdout' },
    images: { type: 'positional', description: 'the images: references or IDs' },
  },
  async main({ flags, operands }) {
    if (operands.length === 0) throw new DiycError('usage', '"diyc save" requires at least 1 argument: IMAGE [IMAGE...]');
    const output = one(flags.output);
    if (output === undefined && process.stdout.isTTY === true)
      throw new DiycError('invalid', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const store = new ImageStore(stateRoot());
    // One entry per image, with every name it was asked by (an ID adds none).
    const byName = new Map<string, SavedImage>();
    for (const text of operands) {
      const found = requireImage(store, text);
      const saved = byName.get(found.name) ?? { image: found.image, repoTags: [] };
      byName.set(found.name, saved);
      // Named (by a reference, or by the store name diyc-image unpack gave): that name is its tag.
      const named = found.reference ?? (found.name === text.replace(/:latest$/, '') ? fullReference(text) : undefined);
      if (named !== undefined && !saved.repoTags.includes(familiar(named))) saved.repoTags.push(familiar(named));
    }
    const images = [...byName.values()];
    if (output === undefined) {
      await saveImages(images, (chunk) => writeFully(1, chunk), { store });
      return 0;
    }
    // Written beside FILE, then renamed: a failed save leaves no half archive under its name.
    const temp = `${output}.diyc-${process.pid}`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      await saveImages(images, (chunk) => writeFully(fd, chunk), { store });
      closeSync(fd);
      renameSync(temp, output);
    } catch (err) {
      closeSync(fd);
      rmSync(temp, { force: true });
      throw err;
    }
    return 0;
  },
});

export const loadCommand = defineCli({
  meta: {
    name: 'load',
    description: 'Load images from a tar archive (docker save, or an OCI image layout; plain or gzip), from a file or stdin',
  },
  args: {
    input: { type: 'string', alias: 'i', valueHint: 'FILE', description: 'read from FILE instead of stdin' },
    quiet: { type: 'boolean', alias: 'q', description: 'no progress (diyc shows none)' },
  },
  async main({ flags, operands }) {
    if (operands.length > 0) throw new DiycError('usage', '"diyc load" accepts no arguments: give the archive with -i FILE or on stdin');
    const input = one(flags.input);
    if (input === undefined && process.stdin.isTTY === true)
      throw new DiycError('invalid', 'requested load from stdin, but stdin is empty');
    requireRoot();
    const store = new ImageStore(stateRoot());
    const loaded = await loadImages(input ?? process.stdin, {
      store,
      nameFor: (references, id) => {
        const [first] = references;
        return first !== undefined ? storeNameFor(store, parseReference(first), id) : `loaded-${shortId(id)}`;
      },
    });
    for (const { references, id } of loaded) {
      if (references.length === 0) writeOut(`Loaded image ID: ${id}\n`);
      for (const reference of references) writeOut(`Loaded image: ${familiar(reference)}\n`);
    }
    return 0;
  },
});
