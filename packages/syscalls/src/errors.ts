import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { setErrorFactory } from './binding.js';

/**
 * A failed system call, shaped like Node's own fs errors: `code` ('ENOENT'),
 * negative `errno`, `syscall`, and `path` when one was involved. Errors from a
 * container's first process also say which `step` of its plan failed.
 */
export interface SyscallError extends Error {
  errno: number;
  code: string;
  syscall: string;
  path?: string;
  step?: string;
}

let errorMap: Map<number, [string, string]> | undefined;

/** Texts for the errnos libuv's table lacks that a container's start can meet. */
const MORE_TEXTS: Record<string, string> = { ENOEXEC: 'exec format error', ECHILD: 'no child processes', ESRCH: 'no such process' };

/**
 * The errnos a container's ordinary start and end meet (a file not there yet, a mount
 * gone already), with libuv's texts: naming them needs no table of every errno, which
 * getSystemErrorMap builds (~0.4 ms of a process's first such error, issue 22).
 */
const COMMON: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  EINVAL: 'invalid argument',
  EBUSY: 'resource busy or locked',
  ENOTDIR: 'not a directory',
  EAGAIN: 'resource temporarily unavailable',
  ESRCH: 'no such process',
};
let common: Map<number, [string, string]> | undefined;

/** Node's own name and text of an errno (a positive number): ['ENOENT', 'no such file or directory']. */
export function errnoName(errno: number): [code: string, message: string] {
  common ??= new Map(Object.entries(COMMON).map(([name, text]) => [constants.errno[name as keyof typeof constants.errno], [name, text]]));
  const found = common.get(errno);
  if (found) return found;
  errorMap ??= getSystemErrorMap();
  const known = errorMap.get(-errno);
  if (known) return known;
  // libuv names only the errnos it maps; os.constants.errno has them all.
  const name = Object.entries(constants.errno).find(([, n]) => n === errno)?.[0];
  return name ? [name, MORE_TEXTS[name] ?? name.toLowerCase()] : ['UNKNOWN', `unknown error ${errno}`];
}

export function syscallError(errno: number, syscall: string, path?: string, step?: string): SyscallError {
  const [code, message] = errnoName(errno);
  const where = path === undefined ? syscall : `${syscall} '${path}'`;
  const err = new Error(`${code}: ${message}, ${where}`) as SyscallError;
  err.errno = -errno;
  err.code = code;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  if (step !== undefined) err.step = step;
  return err;
}

setErrorFactory((errno, syscall, path) => syscallError(errno, syscall, path));

/** True for errors carrying an errno code, such as those thrown here and by node:fs. */
export function isSyscallError(err: unknown, code?: string): err is SyscallError {
  // A system call's error names it; an error with only a code (a missing addon) is not one.
  return (
    err instanceof Error &&
    typeof (err as Partial<SyscallError>).code === 'string' &&
    typeof (err as Partial<SyscallError>).syscall === 'string' &&
    (code === undefined || (err as SyscallError).code === code)
  );
}
