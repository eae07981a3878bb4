// ps, list, features and --version: what a runtime tells about itself and its containers.
import { readFileSync } from 'node:fs';
import { ociState, type OciState } from '@diyc/container';
import { OCI_VERSION } from '@diyc/record';
import { CAPABILITIES, SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPERATORS, seccompVersion } from '@diyc/syscalls';
import { existingContainer, listIds, ociContainer } from './lifecycle.js';

/** The processes of a container (every process of its cgroup), by pid. */
export function containerPids(root: string, id: string | undefined): number[] {
  return existingContainer(root, id).pids();
}

/** A process's command line, as ps shows it. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** The state of every container under --root. */
export function listStates(root: string): OciState[] {
  return listIds(root).map((id) => ociState(ociContainer(root, id)));
}

/** runc-style version lines: the runtime's, the spec's, and libseccomp's. */
export function versionText(version: string): string {
  return `diyc-oci version ${version}\nspec: ${OCI_VERSION}\nlibseccomp: ${seccompVersion() ?? 'none'}\n`;
}

const MOUNT_OPTIONS = [
  'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'lazytime', 'mand', 'noatime', 'nodev', 'nodiratime',
  'noexec', 'nolazytime', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow', 'private', 'rbind', 'relatime', 'ro',
  'rprivate', 'rshared', 'rslave', 'runbindable', 'rw', 'shared', 'slave', 'strictatime', 'suid', 'symfollow', 'sync', 'unbindable',
];

/** `features` (runtime-spec features.md): what this runtime can honour, as runc reports it. */
export function features(): object {
  const seccomp = seccompVersion();
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: MOUNT_OPTIONS,
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts'],
      capabilities: [...CAPABILITIES],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: {
        enabled: seccomp !== null,
        actions: SECCOMP_ACTIONS.filter((a) => a !== 'SCMP_ACT_NOTIFY'),
        operators: SECCOMP_OPERATORS,
        archs: Object.keys(SECCOMP_ARCHES),
        knownFlags: Object.keys(SECCOMP_FLAGS),
        supportedFlags: Object.keys(SECCOMP_FLAGS),
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { 'org.diyc.libseccomp.version': seccomp ?? '' },
  };
}
