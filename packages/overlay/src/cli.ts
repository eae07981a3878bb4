// diyc-overlay mount NAME [--image IMAGE] | umount NAME | rm NAME
import { CliError, defineCli, one } from '@diyc/cli';
import { ImageError } from '@diyc/image';
import { formatRecord, readRecordInput, RecordError } from '@diyc/record';
import { OverlayError, removeRootfs, umountRootfs } from './overlay.js';
import { overlayStage } from './stage.js';

function userError(err: unknown): never {
  if (err instanceof OverlayError || err instanceof ImageError || err instanceof RecordError || err instanceof RangeError) throw new CliError(err.message);
  throw err;
}

const mountCommand = defineCli({
  meta: { name: 'mount', description: 'Mount a container\'s root filesystem (image layers + its own upper layer) on $DIYC_ROOT/containers/NAME/merged; prints the record' },
  args: {
    name: { type: 'positional', description: 'the container' },
    image: { type: 'string', valueHint: 'IMAGE', description: 'the image (default: from the record on stdin)' },
    record: { type: 'string', valueHint: 'FILE|-', description: 'read the record from FILE (default: stdin when it is not a terminal)' },
  },
  async main({ flags, operands }) {
    try {
      const record = await readRecordInput(one(flags.record));
      const image = one(flags.image);
      const next = overlayStage(record, operands[0] as string, image !== undefined ? { image } : {});
      process.stdout.write(formatRecord(next));
    } catch (err) {
      userError(err);
    }
  },
});

const umountCommand = defineCli({
  meta: { name: 'umount', description: 'Unmount a container\'s root filesystem; its upper layer (its files) stays' },
  args: { name: { type: 'positional', description: 'the container' } },
  main({ operands }) {
    try {
      umountRootfs(operands[0] as string);
    } catch (err) {
      userError(err);
    }
  },
});

const rmCommand = defineCli({
  meta: { name: 'rm', description: 'Unmount and remove a container\'s upper layer, work and mount directories' },
  args: { name: { type: 'positional', description: 'the container' } },
  main({ operands }) {
    try {
      removeRootfs(operands[0] as string);
    } catch (err) {
      userError(err);
    }
  },
});

export const overlayCommand = defineCli({
  meta: { name: 'diyc-overlay', version: '0.1.0', description: 'Mount and unmount containers\' root filesystems with overlayfs' },
  subCommands: { mount: mountCommand, umount: umountCommand, rm: rmCommand },
});
