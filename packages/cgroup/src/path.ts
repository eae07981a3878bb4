// cgroup paths: "/diyc/box", or an OCI config's linux.cgroupsPath. Whatever a config.json
// says, a path stays inside the cgroup hierarchy: no `..`, no empty or odd components.
import { DiycError } from '@diyc/record';

/** Normalizes a cgroup path ("a/b" and "/a//b/" are "/a/b"), refusing one that leaves the tree. */
export function cgroupPath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  for (const part of parts) {
    if (part === '..' || part.includes('\0') || part.length > 255)
      throw new DiycError('invalid', `cgroup path '${path}' must not go up (..) or hold odd names`);
  }
  if (parts.length === 0)
    throw new DiycError('invalid', `cgroup path '${path}' is the root of the hierarchy: a container needs a cgroup of its own`);
  return `/${parts.join('/')}`;
}

/** "/a/b/c" -> ["/a", "/a/b", "/a/b/c"]: each level, top first. */
export function levels(path: string): string[] {
  const parts = cgroupPath(path).split('/').slice(1);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}
