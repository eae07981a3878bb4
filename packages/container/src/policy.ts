// What differs between diyc-run and diyc-oci is a small policy, not a second lifecycle:
// create, start, exec, kill and delete are written once (create.ts ...), and read this.
import type { StageContext } from '@diyc/record';

export interface Policy {
  /**
   * OCI: what cannot be done as the record asks is an error (runc's behaviour), never a
   * warning; diyc-run warns (a limit the machine has no controller for) and goes on.
   */
  strict: boolean;
  /**
   * diyc-run: the image's User is looked up in the container's own /etc/passwd, and
   * /etc/hostname, /etc/hosts and /etc/resolv.conf are written into its root before it
   * starts. OCI: the bundle's root is the engine's, and nothing is written into it.
   */
  prepareRootfs: boolean;
  /**
   * diyc-run: once its process ends, the container's stages are undone (its files stay)
   * and it is stopped. OCI: a stopped container keeps its cgroup and mounts until delete.
   */
  teardownOnExit: boolean;
  /** diyc-run: a stopped container is made again over its files; OCI: "already exists". */
  reuse: boolean;
  /**
   * OCI: after joining a PID namespace (which takes a fork), the container's process is
   * left to the caller's subreaper (containerd's shim), as runc's is. diyc-run keeps a
   * relay between it and diyc-run instead.
   */
  handOver: boolean;
  /** OCI allows a container without a mount namespace of its own (chroot only). */
  allowHostMountNamespace: boolean;
}

/** diyc-run's: diyC's containers, which keep their files and can run again. */
export const RUN_POLICY: Policy = {
  strict: false,
  prepareRootfs: true,
  teardownOnExit: true,
  reuse: true,
  handOver: false,
  allowHostMountNamespace: false,
};

/** diyc-oci's: the OCI runtime spec's lifecycle, as runc behaves. */
export const OCI_POLICY: Policy = {
  strict: true,
  prepareRootfs: false,
  teardownOnExit: false,
  reuse: false,
  handOver: true,
  allowHostMountNamespace: true,
};

/** Where a container lives and how it is run: the stages' context, the policy, the caches. */
export interface Runtime extends StageContext {
  policy: Policy;
  /** Where compiled seccomp filters are kept between runs. */
  seccompCache: string;
}
