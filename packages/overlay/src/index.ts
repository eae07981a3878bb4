export { mountRootfs, umountRootfs, removeRootfs, rootfsPaths, isMounted, overlayOptions, PAGE_SIZE } from './overlay.js';
export type { RootfsPaths, MountResult } from './overlay.js';
export { overlayStage } from './stage.js';
export { removeTree } from './remove-tree.js';
export { parseMountinfo, readMounts, mountAt } from './mountinfo.js';
export type { MountInfo } from './mountinfo.js';
export { overlayCommand } from './cli.js';
