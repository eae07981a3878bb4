// diyc-overlay mount NAME [--image IMAGE] | umount NAME | rm NAME
import { createTrace, defineCli, one } from '@diyc/cli';
import { ANNOTATION, checkName, formatRecord, readRecordInput, stateRoot } from '@diyc/record';
import { removeRootfs, umountRootfs } from './overlay.js';
import { overlayStage } from './stage.js';

const mountCommand = defineCli({
  meta: {
    name: 'mount',
    description:
      "Mount a container's root filesystem (image layers + its own upper layer) on $DIYC_ROOT/containers/NAME/merged; prints the record",
  },
  args: {
    name: { type: 'positional', description: 'the container' },
    image: { type: 'string', valueHint: 'IMAGE', description: 'the image (default: from the record on stdin)' },
    record: { type: 'string', valueHint: 'FILE|-', description: 'read the record from FILE (default: stdin when it is not a terminal)' },
  },
  async main({ flags, operands }) {
    const record = await readRecordInput(one(flags.record));
    const image = one(flags.image);
    if (image !== undefined) record.annotations[ANNOTATION.image] = image;
    const name = checkName(operands[0] as string, 'container name');
    const next = overlayStage.apply(record, { name, root: stateRoot(), trace: createTrace(false), warn: () => {} });
    process.stdout.write(formatRecord(next));
  },
});

const umountCommand = defineCli({
  meta: { name: 'umount', description: "Unmount a container's root filesystem; its upper layer (its files) stays" },
  args: { name: { type: 'positional', description: 'the container' } },
  main({ operands }) {
    umountRootfs(operands[0] as string);
  },
});

const rmCommand = defineCli({
  meta: { name: 'rm', description: "Unmount and remove a container's upper layer, work and mount directories" },
  args: { name: { type: 'positional', description: 'the container' } },
  main({ operands }) {
    removeRootfs(operands[0] as string);
  },
});

export const overlayCommand = defineCli({
  meta: { name: 'diyc-overlay', description: "Mount and unmount containers' root filesystems with overlayfs" },
  subCommands: { mount: mountCommand, umount: umountCommand, rm: rmCommand },
});
