export {
  ANNOTATION,
  ANNOTATION_PREFIX,
  DEFAULT_PATH,
  OCI_VERSION,
  emptyRecord,
  parseRecord,
  formatRecord,
  setNamespace,
  setEnv,
} from './record.js';
export type {
  ContainerRecord,
  RecordMount,
  RecordDevice,
  DeviceRule,
  Resources,
  NamespaceType,
  RecordProcess,
  RecordUser,
  Capabilities,
  RecordRlimit,
  RecordSeccomp,
  Hook,
  Hooks,
  IdMapping,
} from './record.js';
export { checkRecord } from './validate.js';
export { sha256Hex } from './sha256.js';
export { DiycError, isDiycError, wrap } from './errors.js';
export type { ErrorKind } from './errors.js';
export { hostnameProblem, nameProblem, checkName, hostnameFor, HOST_NAME_MAX, NAME_MAX } from './names.js';
export {
  DEFAULT_ROOT,
  rootTag,
  kernelName,
  stateRoot,
  imagesDir,
  layersDir,
  containersDir,
  containerDir,
  runDir,
  privateDir,
} from './paths.js';
export { withLock, isProcessAlive, sleepSync } from './lock.js';
export { readRecordInput } from './input.js';
export type { Stage, StageContext, TimedSlice, Trace } from './stage.js';
export { stageCopy, timed } from './stage.js';
