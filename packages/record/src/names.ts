import { DiycError } from './errors.js';
// Names are checked once, at the edge: a container name becomes a hostname, a path
// component, a cgroup and part of an interface name.

/** HOST_NAME_MAX (sethostname(2)). */
export const HOST_NAME_MAX = 64;

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;

/** Why `name` is not a valid hostname (RFC 1123 labels joined by dots, at most 64 bytes), or null. */
export function hostnameProblem(name: string): string | null {
  if (name.length === 0) return 'a hostname cannot be empty';
  if (Buffer.byteLength(name) > HOST_NAME_MAX) return `a hostname is at most ${HOST_NAME_MAX} bytes (got ${Buffer.byteLength(name)})`;
  for (const label of name.split('.')) {
    if (!LABEL.test(label))
      return `'${name}' is not a valid hostname: use letters, digits, '-' and '.', starting and ending with a letter or digit`;
  }
  return null;
}

/** Container names: a hostname label of at most 32 characters, lower-case friendly. */
export const NAME_MAX = 32;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Why `name` cannot name a container or image, or null. */
export function nameProblem(name: string, what = 'name'): string | null {
  if (name.length === 0) return `${what} cannot be empty`;
  if (name.length > NAME_MAX) return `${what} '${name}' is longer than ${NAME_MAX} characters`;
  if (!NAME.test(name) || name === '.' || name === '..')
    return `${what} '${name}' may hold only letters, digits, '_', '.' and '-', and must start with a letter or digit`;
  return null;
}

/** Throws (a DiycError of kind 'invalid') when `name` is not a valid container or image name. */
export function checkName(name: string, what = 'name'): string {
  const problem = nameProblem(name, what);
  if (problem) throw new DiycError('invalid', problem);
  return name;
}

/** The hostname a container name gives: '_' is not allowed in hostnames. */
export function hostnameFor(name: string): string {
  return name.replace(/_/g, '-').replace(/\.+$/, '');
}
