// diyc container prune, image prune, system prune: what nothing uses any more, removed, and
// the space it held counted, as docker says it.
//   container prune   every stopped container (created or exited), with its files
//   image prune       images with no name (dangling); with -a, every image no container uses
//   volume prune      (volume.ts) anonymous volumes no container mounts; -a: named ones too
//   system prune      containers, then images (their containers gone first), then with
//                     --volumes the volumes; there are no networks or build cache to prune
import { join } from 'node:path';
import { defineCli, writeOut } from '@diyc/cli';
import { imageId, ImageStore } from '@diyc/image';
import { stateRoot } from '@diyc/record';
import { humanSize } from '../human.js';
import { removeContainer } from '../lifecycle.js';
import { treeSize } from '../sizes.js';
import { allViews, debug, traceOf } from './common.js';
import { removeImage } from './tags.js';
import { confirm, pruneVolumes } from './volume.js';

interface Pruned {
  lines: string[];
  bytes: number;
}

/** Removes every stopped container: their IDs, and the bytes their own files held. */
async function pruneContainers(flags: Record<string, unknown>, root: string): Promise<Pruned> {
  const pruned: Pruned = { lines: [], bytes: 0 };
  for (const view of allViews(root)) {
    if (view.status !== 'exited' && view.status !== 'created') continue;
    const bytes = treeSize(join(view.container.dir, 'upper'));
    await removeContainer(view.container, { force: false, volumes: false, trace: traceOf(flags), root });
    pruned.lines.push(view.id);
    pruned.bytes += bytes;
  }
  return pruned;
}

/** Removes the images no name holds (dangling), or with `all` every image no container uses. */
function pruneImages(all: boolean, root: string): Pruned {
  const store = new ImageStore(root);
  const pruned: Pruned = { lines: [], bytes: 0 };
  for (const image of store.listImages()) {
    if (store.containersUsing(image.name).length > 0) continue;
    if (!all && !store.isUntagged(image.name)) continue;
    const id = imageId(image);
    const text = removeImage(store, id, true, root);
    pruned.lines.push(
      ...text
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/^Untagged: /, 'untagged: ').replace(/^Deleted: /, 'deleted: ')),
    );
    pruned.bytes += image.size;
  }
  return pruned;
}

function report(sections: [string, string[]][], bytes: number): void {
  const shown = sections
    .filter(([, lines]) => lines.length > 0)
    .map(([title, lines]) => `${title}:\n${lines.map((l) => `${l}\n`).join('')}\n`);
  writeOut(`${shown.join('')}Total reclaimed space: ${humanSize(bytes)}\n`);
}

const force = { type: 'boolean', alias: 'f', description: 'do not ask' } as const;

export const containerPruneCommand = defineCli({
  meta: { name: 'prune', description: 'Remove every stopped container' },
  args: { force, debug },
  async main({ flags }) {
    if (flags.force !== true && !(await confirm('WARNING! This will remove all stopped containers.'))) return 0;
    const { lines, bytes } = await pruneContainers(flags, stateRoot());
    report([['Deleted Containers', lines]], bytes);
    return 0;
  },
});

export const imagePruneCommand = defineCli({
  meta: { name: 'prune', description: 'Remove images with no name; with -a, every image no container uses' },
  args: { all: { type: 'boolean', alias: 'a', description: 'every image no container uses, named or not' }, force },
  async main({ flags }) {
    const all = flags.all === true;
    const warning = all
      ? 'WARNING! This will remove all images without at least one container associated to them.'
      : 'WARNING! This will remove all dangling images.';
    if (flags.force !== true && !(await confirm(warning))) return 0;
    const { lines, bytes } = pruneImages(all, stateRoot());
    report([['Deleted Images', lines]], bytes);
    return 0;
  },
});

export const systemPruneCommand = defineCli({
  meta: {
    name: 'prune',
    description: 'Remove stopped containers and dangling images (-a: every unused image; --volumes: unused anonymous volumes)',
  },
  args: {
    all: { type: 'boolean', alias: 'a', description: 'every image no container uses, not only dangling ones' },
    volumes: { type: 'boolean', description: 'anonymous volumes no container uses, too' },
    force,
    debug,
  },
  async main({ flags }) {
    const all = flags.all === true;
    const volumes = flags.volumes === true;
    const what = [
      'all stopped containers',
      ...(volumes ? ['all anonymous volumes not used by at least one container'] : []),
      all ? 'all images without at least one container associated to them' : 'all dangling images',
    ];
    if (flags.force !== true && !(await confirm(`WARNING! This will remove:\n${what.map((w) => `  - ${w}\n`).join('')}`))) return 0;
    const root = stateRoot();
    const containers = await pruneContainers(flags, root);
    const removedVolumes = volumes ? pruneVolumes(false, root) : { names: [], bytes: 0 };
    const images = pruneImages(all, root);
    report(
      [
        ['Deleted Containers', containers.lines],
        ['Deleted Volumes', removedVolumes.names],
        ['Deleted Images', images.lines],
      ],
      containers.bytes + removedVolumes.bytes + images.bytes,
    );
    return 0;
  },
});
