// @diyc/container/lite: what diyc-oci's state, list, kill, pause and resume need of the
// core, and no more: the container, its policy, signals and the freezer. The package's
// index also loads the stages (create's and delete's) with net, overlay and nsexec: a call
// that imports only this starts faster (issue 22). The same modules as the index's, so a
// Container from one is a Container of the other.
export { Container, listContainers } from './container.js';
export type { ContainerState } from './container.js';
export { OCI_POLICY } from './policy.js';
export type { Runtime } from './policy.js';
export { kill } from './signal.js';
export { pause } from './control.js';
