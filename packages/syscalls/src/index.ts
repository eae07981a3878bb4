export { spawn, Child, CHILD_STEPS } from './spawn.js';
export type { SpawnPlan, MountStep, ExitStatus, ChildStep } from './spawn.js';
export {
  mount, umount2, setns, pivotRoot, sethostname, setdomainname, mknod,
  lsetxattr, lgetxattr, llistxattr, statfsType, tcsetpgrp, getpgrp,
} from './wrappers.js';
export { CLONE_NEW, MS, MNT } from './constants.js';
export type { Namespace } from './constants.js';
export { syscallError, isSyscallError } from './errors.js';
export type { SyscallError } from './errors.js';
export { exitCodeOf, SIGNALS_FORWARDED, forwardSignals } from './exit.js';
