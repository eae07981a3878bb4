// The overlay stage of the pipeline: a container made from an image gets its root
// filesystem, overlayfs over the image's layers (root.path). An OCI bundle brings its
// own root: the stage has nothing to do there.
import { ANNOTATION, DiycError, setNamespace, stageCopy, type ContainerRecord, type Stage, type StageContext } from '@diyc/record';
import { mountRootfs, removeRootfs, umountRootfs } from './overlay.js';

export const overlayStage: Stage = {
  name: 'overlay',
  package: '@diyc/overlay',
  applies: (record) => record.annotations[ANNOTATION.image] !== undefined,
  apply(record: ContainerRecord, ctx: StageContext): ContainerRecord {
    const image = record.annotations[ANNOTATION.image];
    if (!image) throw new DiycError('usage', 'which image? give --image IMAGE (or pipe in the record diyc-image unpack prints)');
    const volatile = record.annotations[ANNOTATION.volatileRootfs] === 'true';
    const { merged } = mountRootfs(ctx.name, image, { root: ctx.root, volatile });
    ctx.trace(`overlay: ${merged} (image ${image}${volatile ? ', volatile' : ''})`);
    const next = stageCopy(record);
    next.root = { ...next.root, path: merged };
    next.annotations[ANNOTATION.name] = ctx.name;
    if (!next.linux.namespaces.some((ns) => ns.type === 'mount')) setNamespace(next, 'mount');
    return next;
  },
  undo(_record: ContainerRecord, ctx: StageContext): void {
    umountRootfs(ctx.name, { root: ctx.root });
  },
  /** The container's own layer (upper, work) goes: it is kept between runs otherwise. */
  remove(_record: ContainerRecord, ctx: StageContext): void {
    removeRootfs(ctx.name, { root: ctx.root });
  },
  command(record: ContainerRecord, ctx: Pick<StageContext, 'name'>) {
    return { bin: 'diyc-overlay', args: ['mount', ctx.name, '--image', record.annotations[ANNOTATION.image] ?? ''] };
  },
};
