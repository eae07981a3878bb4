// @diyc/oci: runc's command line over @diyc/container: a bundle in, the core's
// operations, the answers in the form engines and runc's own test suite read.
export { loadBundle, unsupportedFields, deviceRules } from './bundle.js';
export type { Bundle } from './bundle.js';
export { adoptCgroupDriver, checkId, existingContainer, listIds, ociContainer, ociRuntime } from './containers.js';
export { checkTerminal, createContainer, deleteContainer, startContainer } from './lifecycle.js';
export { killContainer, pauseContainer } from './control.js';
export type { OciCreateOptions } from './lifecycle.js';
export { runContainer } from './run.js';
export { execCommand, parseProcess, processFromArgs, subCgroupProcs } from './exec.js';
export { features } from './info.js';
export { DEFAULT_ROOT, ociCommand, runOci, main, versionText, intFlag } from './cli.js';
export type { OciContext, Session } from './cli.js';
export { runcSpec, specText } from './spec.js';
export { Logger, formatLine, goQuote, rfc3339 } from './log.js';
export type { Level, LogOptions } from './log.js';
export {
  appHelp,
  commandHelp,
  dispatch,
  parseFlags,
  parseGlobalLine,
  reorderArgs,
  IncorrectUsage,
  NoHelpTopic,
  usageText,
} from './shell.js';
export type { AppInfo, OciCommand } from './shell.js';
export { listStates, runcState, tabwriter } from './state.js';
export type { RuncState } from './state.js';
export { filterPs } from './ps.js';
export { askedResources, ramInBytes, updateSteps } from './update.js';
export { parseDuration } from './events.js';
export { containerStats, cpuList, goJson, keyed, oomCount, cgroupDirs } from './stats.js';
export { cgroupMounts, controllersOf } from './cgroup-mounts.js';
export { dumpArgs, prepareImagePaths, restoreArgs } from './checkpoint.js';
export { parseSignal } from './signal.js';
