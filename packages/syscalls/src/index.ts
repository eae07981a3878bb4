export { spawn, spawnWithSync, Child, CHILD_STEPS } from './spawn.js';
export type {
  SpawnPlan,
  MountStep,
  CapabilitySets,
  Rlimit,
  ExitStatus,
  ChildStep,
  Released,
  IdMapping,
  SeccompListener,
  StepTime,
} from './spawn.js';
export {
  mount,
  umount2,
  setns,
  pivotRoot,
  sethostname,
  setdomainname,
  mknod,
  lsetxattr,
  sendfile,
  writeNewFile,
  sha256File,
  signalIf,
  lgetxattr,
  llistxattr,
  statfsType,
  setLinkUp,
  tcsetpgrp,
  getpgrp,
  resolveInRoot,
  mkdirInRoot,
  mkdirat,
  unlinkat,
  openat,
  attachDeviceFilter,
  socketpair,
  recvFd,
  setWindowSize,
  getWindowSize,
  pipe,
} from './wrappers.js';
export { relay } from './relay.js';
export type { Relay } from './relay.js';
export type { FileOwner, FileSha256 } from './wrappers.js';
export {
  compileSeccomp,
  seccompVersion,
  seccompFlags,
  hasNotifyRules,
  SeccompError,
  SECCOMP_ACTIONS,
  SECCOMP_OPERATORS,
  SECCOMP_ARCHES,
  SECCOMP_FLAGS,
} from './seccomp.js';
export type { Seccomp, SeccompRule, SeccompArg, SeccompAction, SeccompOperator, CompiledSeccomp } from './seccomp.js';
export { CLONE_NEW, MS, MNT, MOUNT_ATTR, O, CAPABILITIES, RLIMITS } from './constants.js';
export type { Namespace, Capability, RlimitType } from './constants.js';
export { syscallError, isSyscallError, errnoName } from './errors.js';
export type { SyscallError } from './errors.js';
export { AddonMissingError, initPath, ociFrontPath, shimPath } from './binding.js';
export { shimArgv, supervisorArgv, parseShimExit, ShimOptionsError } from './shim.js';
export type { ShimOptions, ShimExit } from './shim.js';
export { exitCodeOf, SIGNALS_FORWARDED, forwardSignals } from './exit.js';
