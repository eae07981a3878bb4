// The compiled addon, typed and loaded on first use: a command that never makes a
// system call of ours (--help, --version, listing state) runs without it. Only this
// package talks to it; everything it takes has been validated by the TypeScript
// callers (spawn.ts, wrappers.ts, seccomp.ts).
import { createRequire } from 'node:module';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativePlan {
  cloneFlags: number;
  joins: { path: string; nstype: number }[];
  detachAfterFork: boolean;
  usernsRoot: boolean;
  cgroupProcs: string[];
  newCgroupns: boolean;
  hostname?: string;
  domainname?: string;
  oomScoreAdj?: number;
  makeRootPrivate: boolean;
  root?: string;
  noPivot: boolean;
  /** no_pivot: the host's proc and sysfs mounts the child hides before its move. */
  hostKernelMounts?: string[];
  chrootOnly: boolean;
  rootPropagation?: number;
  fs: NativeFsStep[];
  /** How many descriptors the first go carries (the steps' sourceIndex). */
  sourceFds?: number;
  syncBeforePivot: boolean;
  cwd?: string;
  consoleSocket?: string;
  consoleFd?: number;
  consoleRows?: number;
  consoleCols?: number;
  newKeyring: boolean;
  rlimits: { resource: number; soft: bigint; hard: bigint }[];
  uid?: number;
  gid?: number;
  groups: number[];
  umask?: number;
  capabilities?: { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint };
  noNewPrivileges: boolean;
  seccomp?: Buffer;
  seccompFlags?: number;
  startHooks?: { path: string; argv: string[]; env: string[]; timeout?: number }[];
  keepFds: number[];
  argv: string[];
  env: string[];
  path?: string;
  stdio: (number | null)[];
  setsid: boolean;
  foreground: boolean;
  startFifo?: string;
  hold: boolean;
  supervisorArgv?: string[];
  supervisorFds?: number[];
}

export interface NativeFsStep {
  op: number;
  opts: number;
  source?: string;
  target: string;
  fstype?: string;
  flags?: number;
  data?: string;
  mode?: number;
  major?: number;
  minor?: number;
  uid?: number;
  gid?: number;
  attrSet?: number;
  attrClr?: number;
  sourceIndex?: number;
}

export interface NativeSeccomp {
  defaultAction: number;
  architectures: string[];
  syscalls: { names: string[]; action: number; args: { index: number; value: bigint; valueTwo: bigint; op: number }[] }[];
}

export interface NativeBinding {
  setErrorFactory(factory: (errno: number, syscall: string, path?: string) => Error): void;
  spawn(plan: NativePlan): { pid: number; pidfd: number; holdFd: number; errorFd: number; times?: ArrayBuffer };
  go(holdFd: number, fds?: number[]): void;
  pidfdGetfd(pid: number, fd: number): number;
  pidfdOpen(pid: number): number;
  pidfdSendSignal(fd: number, sig: number): void;
  sendWithFd(socketPath: string, data: Buffer, fd: number): void;
  readMessage(errorFd: number): [step: number, index: number, errno: number] | null;
  watchExit(pid: number, pidfd: number, cb: (code: number | null, signal: number | null) => void): void;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  setns(path: string, nstype: number): void;
  pivotRoot(newRoot: string, putOld: string): void;
  sethostname(name: string): void;
  setdomainname(name: string): void;
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer): void;
  lgetxattr(path: string, name: string): Buffer | null;
  llistxattr(path: string): string[];
  statfsType(path: string): number;
  setLinkUp(name: string, up: boolean): void;
  tcsetpgrp(fd: number, pgrp: number): void;
  getpgrp(): number;
  socketpair(): [number, number];
  recvFd(socket: number): number | null;
  setWindowSize(fd: number, rows: number, cols: number): void;
  getWindowSize(fd: number): [rows: number, cols: number] | null;
  pipe(): [number, number];
  sendfile(outFd: number, inFd: number, offset: number, length: number): number;
  relay(from: number, to: number, onData: ((chunk: Buffer) => void) | null, onEnd: () => void): number;
  stopRelay(id: number): void;
  writeNewFile(
    path: string,
    mode: number,
    data: Buffer,
    start: number,
    end: number,
    uid: number,
    gid: number,
    atime: number,
    mtime: number,
  ): void;
  sha256File(path: string, stop: Int32Array): Promise<string>;
  resolveInRoot(rootFd: number, path: string, flags: number, mode: number): number;
  /** The fallback walk alone (tests). */
  walkInRoot(rootFd: number, path: string, flags: number, mode: number): number;
  mkdirat(dirFd: number, name: string, mode: number): void;
  mkdirInRoot(rootFd: number, path: string, mode: number): number;
  unlinkat(dirFd: number, name: string, flags: number): void;
  openat(dirFd: number, name: string, flags: number, mode: number): number;
  compileSeccomp(profile: NativeSeccomp): { program: Buffer; skipped: string[]; lastSyscalls: Record<string, number> };
  seccompVersion(): string | null;
  attachDeviceFilter(cgroupDir: string, instructions: Buffer): void;
}

/** The addon could not be loaded: not built for this system. */
export class AddonMissingError extends Error {
  override name = 'AddonMissingError';
  readonly code = 'EADDON';
}

let loaded: NativeBinding | undefined;
/** Where node-gyp builds the addon, in the package's directory (binding.gyp's target). */
const BUILT = 'build/Release/diyc_syscalls.node';
let makeError: ((errno: number, syscall: string, path?: string) => Error) | undefined;

/** Called by errors.ts: how the addon builds the errors it throws. */
export function setErrorFactory(factory: (errno: number, syscall: string, path?: string) => Error): void {
  makeError = factory;
  loaded?.setErrorFactory(factory);
}

/**
 * This package's directory (dist/..). A path, not new URL('..', import.meta.url): a bin's
 * bundle gives this file's path without making a URL (tools/bundle-bin.mjs), and a URL
 * parsed and turned back costs a start ~0.5 ms (issue 22).
 */
const packageDir = (): string => dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * The addon, loaded on first use; a missing one is one line that says how to build it.
 * node-gyp-build picks build/Release when it was compiled here, else the prebuilt binary
 * for this platform shipped in prebuilds/ (N-API: one file for every Node version).
 */
export function native(): NativeBinding {
  if (loaded) return loaded;
  const dir = packageDir();
  try {
    // The one compiled here, as node-gyp-build would pick it, without its search of the
    // package's directories (about 3 ms of every container start); else node-gyp-build.
    // process.dlopen is what require() does with a .node file, without its resolution
    // and module cache (createRequire, realpath, stat: ~1.5 ms of a start, issue 22).
    const built = join(dir, BUILT);
    if (existsSync(built)) {
      const addon = { exports: {} as NativeBinding };
      process.dlopen(addon, built);
      loaded = addon.exports;
    } else {
      loaded = (createRequire(import.meta.url)('node-gyp-build') as (dir: string) => NativeBinding)(dir);
    }
  } catch (err) {
    throw new AddonMissingError(
      `the native part of @diyc/syscalls is not built for this system (${(err as Error).message.split('\n')[0]}): build it with \`npm rebuild @diyc/syscalls\` (needs g++, make and python3)`,
    );
  }
  if (makeError) loaded.setErrorFactory(makeError);
  return loaded;
}

/**
 * The path of diyc-init, the static PID 1 built beside the addon (`diyc-run --init`):
 * compiled here, else the prebuilt one shipped for this platform, made executable.
 */
export function initPath(): string {
  return executablePath('diyc-init');
}

/**
 * The path of diyc-shim, the static supervisor of a detached container (as conmon is
 * podman's), found as diyc-init is: compiled here, else the prebuilt one, made executable.
 */
export function shimPath(): string {
  return executablePath('diyc-shim');
}

/**
 * The path of diyc-oci-front, the native part of the `diyc-oci` command (start, kill,
 * delete, state and list without a Node start), found and made executable as diyc-shim
 * is: bin/diyc-oci runs it once it has its x bits.
 */
export function ociFrontPath(): string {
  return executablePath('diyc-oci-front');
}

/** One of the executables built beside the addon (binding.gyp) and shipped in prebuilds/. */
function executablePath(name: 'diyc-init' | 'diyc-shim' | 'diyc-oci-front'): string {
  const dir = packageDir();
  const built = join(dir, 'build', 'Release', name);
  if (existsSync(built)) return built;
  const prebuilt = join(dir, 'prebuilds', `${process.platform}-${process.arch}`, name);
  if (!existsSync(prebuilt))
    throw new AddonMissingError(
      `${name} is not built for this system: build it with \`npm rebuild @diyc/syscalls\` (needs g++, make and python3)`,
    );
  // Package managers pack every file but a package's bins as 0644 (pnpm pack, npm): the
  // shipped executable loses its x bits on the way, and install scripts may not run to
  // restore them. The file is this package's own: give them back on first use.
  const { mode } = statSync(prebuilt);
  if ((mode & 0o111) !== 0o111) {
    try {
      chmodSync(prebuilt, mode | 0o555);
    } catch (err) {
      throw new AddonMissingError(
        `${prebuilt} is not executable and cannot be made so (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): chmod 755 it`,
      );
    }
  }
  return prebuilt;
}
