// `features`: what this runtime can honour, as runc 1.1 reports it (runtime-spec features.md).
import { RECURSIVE_MOUNT_OPTIONS } from '@diyc/nsexec';
import { OCI_VERSION } from '@diyc/record';
import { CAPABILITIES, SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPERATORS, seccompVersion } from '@diyc/syscalls';

const MOUNT_OPTIONS = [
  'async',
  'atime',
  'bind',
  'defaults',
  'dev',
  'diratime',
  'dirsync',
  'exec',
  'lazytime',
  'mand',
  'noatime',
  'nodev',
  'nodiratime',
  'noexec',
  'nolazytime',
  'nomand',
  'norelatime',
  'nostrictatime',
  'nosuid',
  'nosymfollow',
  'private',
  'rbind',
  'relatime',
  'ro',
  'rprivate',
  'rshared',
  'rslave',
  'runbindable',
  'rw',
  'shared',
  'slave',
  'strictatime',
  'suid',
  'symfollow',
  'sync',
  'unbindable',
];

/** `features` (runtime-spec features.md): what this runtime can honour, as runc reports it. */
export function features(): object {
  const seccomp = seccompVersion();
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: [...MOUNT_OPTIONS, ...RECURSIVE_MOUNT_OPTIONS].sort(),
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts'],
      capabilities: [...CAPABILITIES],
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: false },
      seccomp: {
        enabled: seccomp !== null,
        // SCMP_ACT_NOTIFY too: the listener goes to the agent at linux.seccomp.listenerPath.
        actions: SECCOMP_ACTIONS,
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
