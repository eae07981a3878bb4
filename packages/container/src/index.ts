// @diyc/container: diyc's runtime core, under diyc-run and diyc-oci (ARCHITECTURE.md).
export { Container, listContainers, newContainerId, processStart, sameProcess } from './container.js';
export type { ContainerState } from './container.js';
export { canDelete, canExec, canKill, canPause, canResume, canStart, canTransition } from './status.js';
export type { Status } from './status.js';
export { OCI_POLICY, RUN_POLICY } from './policy.js';
export type { Policy, Runtime } from './policy.js';
export { STAGES, prepare, teardown } from './stages.js';
export type { TeardownOptions, TeardownResult } from './stages.js';
export { create, recordNamespaces, recoverIfStaleLocked, unmountHostMounts, writePidFile } from './create.js';
export type { CreateOptions, Created } from './create.js';
export { start } from './start.js';
export { exec, execCgroupProcs, execPlan, joinedNamespaces } from './exec.js';
export type { ExecOptions } from './exec.js';
export { kill, killAll, stop } from './signal.js';
export { finish, remove, wait } from './finish.js';
export { holdingSignals, runForeground } from './foreground.js';
export type { ForegroundOptions } from './foreground.js';
export { execProcess } from './exec-process.js';
export type { ExecOverrides } from './exec-process.js';
export type { RunResult } from './finish.js';
export { pause, update } from './control.js';
export { ociState, rfc3339Nano } from './oci-state.js';
export type { OciState } from './oci-state.js';
export { runHooks } from './hooks.js';
export type { HookPoint } from './hooks.js';
export { applyUser, lookUpUser, resolveUser } from './users.js';
export type { ResolvedUser } from './users.js';
export { writeEtcFiles, containerResolvConf, SYSTEMD_RESOLV_CONF, FALLBACK_SERVERS } from './etc-files.js';
export type { ResolvInput, EtcOptions } from './etc-files.js';
export { readInRoot, writeInRoot } from './rootfs-files.js';
export { baseRecord, applySecurity, containerCapabilities, DOMAIN, INIT_PATH, TMPFS_DEFAULTS } from './spec.js';
export type { ContainerSpec, DnsOptions, NetMode, SecurityOptions, TmpfsMount, Volume } from './spec.js';
export {
  capabilityName,
  checkUser,
  checkWorkdir,
  envFlags,
  parseAddHost,
  parseDnsSearch,
  parseDnsServer,
  parseEnvFile,
  parseSysctl,
  parseTmpfs,
  parseUlimit,
  parseVolume,
  readEnvFile,
  securityOptions,
} from './spec-values.js';
export { runDetached, reap, LOG_FILE, EXIT_FILE } from './detach.js';
export { renameContainer } from './rename.js';
export type { DetachOptions } from './detach.js';
export { showLogs, parseTail, tailOffset, logFiles } from './logs.js';
export type { LogsOptions } from './logs.js';
