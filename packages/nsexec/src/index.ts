export { planFromRecord } from './plan.js';
export type { PlanOptions } from './plan.js';
export { runRecord, startRecord, releaseChild, superviseChild, startError, StartError } from './run.js';
export { recordFromOptions, netnsPath, OptionsError } from './options.js';
export type { NsexecOptions } from './options.js';
export { containerMounts, containerDevices, DEV_SYMLINKS } from './container-mounts.js';
export { parseMountOptions } from './mount-options.js';
export type { ParsedMountOptions } from './mount-options.js';
export { nsexecCommand, runNsexec, traceRecord, EXIT_RUNTIME_ERROR } from './cli.js';
