import { native } from './binding.js';

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

export function syscallError(errno: number, syscall: string, path?: string, step?: string): SyscallError {
  const [code, message] = native.strerror(errno);
  const where = path === undefined ? syscall : `${syscall} '${path}'`;
  const text = message.charAt(0).toLowerCase() + message.slice(1);
  const err = new Error(`${code}: ${text}, ${where}`) as SyscallError;
  err.errno = -errno;
  err.code = code;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  if (step !== undefined) err.step = step;
  return err;
}

/** True for errors carrying an errno code, such as those thrown here and by node:fs. */
export function isSyscallError(err: unknown, code?: string): err is SyscallError {
  return err instanceof Error && typeof (err as Partial<SyscallError>).code === 'string' &&
    (code === undefined || (err as SyscallError).code === code);
}
