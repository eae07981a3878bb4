// @diyc/oci: runc's command line over @diyc/container: a bundle in, the core's
// operations, the answers in the form engines read.
export { loadBundle, unsupportedFields, deviceRules } from './bundle.js';
export type { Bundle } from './bundle.js';
export { DEFAULT_ROOT, checkId, createContainer, deleteContainer, existingContainer, listIds, ociContainer, ociRuntime, startContainer } from './lifecycle.js';
export type { OciContext, OciCreateOptions } from './lifecycle.js';
export { runContainer } from './run.js';
export { execInContainer, parseProcess, processFromArgs } from './exec.js';
export { features, listStates, containerPids, versionText } from './info.js';
export { ociCommand, parseGlobals, main } from './cli.js';
export { defaultSpec } from './spec.js';
