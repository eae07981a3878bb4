// `diyc-oci spec`: a config.json to start a bundle from, as `runc spec` writes one, with
// diyc's own defaults: Docker's capabilities, no_new_privs, a seccomp profile as Docker's,
// runc's masked and read-only paths, a read-only root, and every namespace but user.
import { capabilitySets, containerMounts, DEFAULT_CAPABILITIES, defaultSeccompProfile, MASKED_PATHS, READONLY_PATHS } from '@diyc/nsexec';
import { DEFAULT_PATH, OCI_VERSION, type ContainerRecord } from '@diyc/record';

export function defaultSpec(options: { terminal?: boolean; args?: string[] } = {}): ContainerRecord {
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: options.terminal ?? true,
      user: { uid: 0, gid: 0 },
      args: options.args ?? ['sh'],
      env: [`PATH=${DEFAULT_PATH}`, 'TERM=xterm'],
      cwd: '/',
      capabilities: capabilitySets(DEFAULT_CAPABILITIES),
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'diyc',
    mounts: containerMounts({ ipc: true }),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type: type as 'pid' })),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
      seccomp: defaultSeccompProfile(DEFAULT_CAPABILITIES),
    },
    annotations: {},
  };
}
