// The overlay stage of the pipeline: record in, record with root.path out.
import { ANNOTATION, setNamespace, type ContainerRecord } from '@diyc/record';
import { mountRootfs, OverlayError } from './overlay.js';

export interface OverlayStageOptions {
  /** The image; by default the record's org.diyc.image annotation. */
  image?: string;
  root?: string;
}

/** Mounts NAME's root filesystem and records it: root.path, a mount namespace, the names. */
export function overlayStage(record: ContainerRecord, name: string, options: OverlayStageOptions = {}): ContainerRecord {
  const image = options.image ?? record.annotations[ANNOTATION.image];
  if (!image) throw new OverlayError('which image? give --image IMAGE (or pipe in the record diyc-image unpack prints)');
  const { merged } = mountRootfs(name, image, options.root !== undefined ? { root: options.root } : {});
  const next = structuredClone(record);
  next.root = { path: merged };
  next.annotations[ANNOTATION.name] = name;
  next.annotations[ANNOTATION.image] = image;
  if (!next.linux.namespaces.some((ns) => ns.type === 'mount')) setNamespace(next, 'mount');
  return next;
}

