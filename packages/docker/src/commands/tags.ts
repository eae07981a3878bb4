// diyc tag, rmi: the references of the image store (repositories.json) as docker edits
// them: a new name for an image; a name removed, and the image with its last name (its
// layers too, when no other image uses them).
import { defineCli, writeErr, writeOut } from '@diyc/cli';
import { imageId, ImageStore } from '@diyc/image';
import { DiycError, stateRoot } from '@diyc/record';
import { findContainer, idOf } from '../containers.js';
import { familiar, fullReference, requireImage, shortId } from '../images.js';
import { viewOf } from '../view.js';

export const tagCommand = defineCli({
  meta: { name: 'tag', description: 'Give an image another name: TARGET_IMAGE[:TAG] now names SOURCE_IMAGE' },
  args: {
    source: { type: 'positional', description: 'SOURCE_IMAGE[:TAG], or an image ID' },
    target: { type: 'positional', description: 'TARGET_IMAGE[:TAG]' },
  },
  main({ operands }) {
    const [source, target] = operands;
    if (source === undefined || target === undefined || operands.length !== 2)
      throw new DiycError('usage', '"diyc tag" requires exactly 2 arguments: SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]');
    const reference = fullReference(target);
    if (reference.includes('@')) throw new DiycError('usage', 'refusing to create a tag with a digest reference');
    const store = new ImageStore(stateRoot());
    store.tag(reference, requireImage(store, source).name);
    return 0;
  },
});

export const rmiCommand = defineCli({
  meta: {
    name: 'rmi',
    description: 'Remove images: a name of one that has several, else the image and its unused layers (not while a container uses it)',
  },
  manyOperands: true,
  args: {
    force: { type: 'boolean', alias: 'f', description: "remove it even when it has several names or a stopped container's uses it" },
    images: { type: 'positional', description: 'the images: references or IDs' },
  },
  main({ flags, operands }) {
    if (operands.length === 0) throw new DiycError('usage', '"diyc rmi" requires at least 1 argument: IMAGE [IMAGE...]');
    const root = stateRoot();
    const store = new ImageStore(root);
    let failed = false;
    for (const text of operands) {
      try {
        writeOut(removeImage(store, text, flags.force === true, root));
      } catch (err) {
        failed = true;
        writeErr(`diyc: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
    return failed ? 1 : 0;
  },
});

const isRunning = (status: string): boolean => status === 'running' || status === 'paused' || status === 'restarting';

/** docker rmi's work for one operand; its lines (Untagged: ..., Deleted: ...). */
export function removeImage(store: ImageStore, text: string, force: boolean, root: string): string {
  const found = requireImage(store, text);
  const id = imageId(found.image);
  const references = store.referencesOf(found.name);
  // A name of an image that has others: only that name goes.
  if (found.reference !== undefined && references.length > 1) {
    store.untag(found.reference);
    return `Untagged: ${familiar(found.reference)}\n`;
  }
  if (references.length > 1 && !force)
    throw new DiycError(
      'state',
      `conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`,
    );
  // Running ones first: their conflict cannot be forced.
  const users = store
    .containersUsing(found.name)
    .map((name) => findContainer(name, root))
    .map(({ container, state }) => ({ state, view: viewOf(container, state) }))
    .sort((a, b) => Number(isRunning(b.view.status)) - Number(isRunning(a.view.status)));
  for (const { state, view } of users) {
    const cid = idOf(state).slice(0, 12);
    // By its name: -f takes the name away and leaves the image to the container.
    if (found.reference !== undefined) {
      if (!force)
        throw new DiycError(
          'state',
          `conflict: unable to remove repository reference "${text}" (must force) - container ${cid} is using its referenced image ${shortId(id)}`,
        );
      store.untag(found.reference);
      return `Untagged: ${familiar(found.reference)}\n`;
    }
    if (isRunning(view.status))
      throw new DiycError(
        'state',
        `conflict: unable to delete ${shortId(id)} (cannot be forced) - image is being used by running container ${cid}`,
      );
    if (!force)
      throw new DiycError(
        'state',
        `conflict: unable to delete ${shortId(id)} (must be forced) - image is being used by stopped container ${cid}`,
      );
  }
  const lines = references.map((r) => `Untagged: ${familiar(r)}\n`);
  const layers = store.removeImage(found.name);
  lines.push(`Deleted: ${id}\n`, ...layers.filter((l) => l !== id).map((l) => `Deleted: ${l}\n`));
  return lines.join('');
}
