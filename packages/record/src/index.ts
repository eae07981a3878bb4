export {
  ANNOTATION, DEFAULT_PATH, emptyRecord, parseRecord, formatRecord, setNamespace, setEnv, RecordError,
} from './record.js';
export type { ContainerRecord, RecordMount, RecordDevice, Resources, NamespaceType } from './record.js';
export { hostnameProblem, nameProblem, checkName, hostnameFor, HOST_NAME_MAX, NAME_MAX } from './names.js';
export { stateRoot, imagesDir, layersDir, containersDir, containerDir, runDir } from './paths.js';
export { withLock, isProcessAlive, sleepSync } from './lock.js';
export { readRecordInput } from './input.js';
