// The compiled addon, typed. Only this package talks to it; everything it takes has
// been validated by the TypeScript callers (spawn.ts, wrappers.ts).
import { createRequire } from 'node:module';

export interface NativePlan {
  cloneFlags: number;
  joins: { path: string; nstype: number }[];
  cgroupProcs: string[];
  newCgroupns: boolean;
  hostname?: string;
  domainname?: string;
  makeRootPrivate: boolean;
  mounts: NativeMountStep[];
  root?: string;
  cwd?: string;
  uid?: number;
  gid?: number;
  argv: string[];
  env: string[];
  path?: string;
  stdio: (number | null)[];
  setsid: boolean;
  foreground: boolean;
  hold: boolean;
}

export interface NativeMountStep {
  op: number;
  source?: string;
  target: string;
  fstype?: string;
  flags?: number;
  data?: string;
  mode?: number;
  major?: number;
  minor?: number;
}

export interface NativeBinding {
  spawn(plan: NativePlan): { pid: number; pidfd: number; holdFd: number; errorFd: number };
  release(holdFd: number, errorFd: number): [step: number, index: number, errno: number] | null;
  abandon(holdFd: number, errorFd: number): void;
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
  tcsetpgrp(fd: number, pgrp: number): void;
  getpgrp(): number;
  strerror(errno: number): [code: string, message: string];
}

const require = createRequire(import.meta.url);
export const native = require('../build/Release/diyc_syscalls.node') as NativeBinding;
