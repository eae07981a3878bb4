// -v/--volume, --mount and --tmpfs as docker reads them:
//
//   -v /host/dir:/path[:ro]        a bind mount of a host path (made as a directory when missing)
//   -v ./dir:/path                 the same, relative to the working directory
//   -v NAME:/path[:ro]             a named volume (made when missing)
//   -v /path                       an anonymous volume, for this container alone
//   --mount type=bind,source=/host,target=/path[,readonly]
//   --mount type=volume,source=NAME,target=/path[,readonly]   (no source: anonymous)
//   --mount type=tmpfs,target=/path[,tmpfs-size=64m][,tmpfs-mode=1777]
//   --tmpfs /path[:size=64m,mode=1777]
import { isAbsolute, posix, resolve } from 'node:path';
import { DiycError } from '@diyc/record';
import { checkVolumeName } from './volumes.js';

export type MountSpec =
  | {
      type: 'bind';
      source: string;
      target: string;
      readonly: boolean /** -v makes a missing host path; --mount refuses it. */;
      create: boolean;
    }
  | { type: 'volume'; name?: string; target: string; readonly: boolean }
  | { type: 'tmpfs'; target: string; options: string[] };

const usage = (message: string): DiycError => new DiycError('usage', message);

/** A path in the container: absolute, normalised, not / itself. */
function target(path: string, flag: string): string {
  if (!path.startsWith('/')) throw usage(`${flag}: invalid mount path: '${path}' mount path must be absolute`);
  const normal = posix.normalize(path).replace(/\/+$/, '');
  if (normal === '') throw usage(`${flag}: invalid mount path: '/' cannot be mounted over`);
  return normal;
}

/** The options after the second colon of -v: ro, rw, and those docker accepts and diyc has no use for. */
function volumeOptions(text: string, flag: string): boolean {
  let readonly = false;
  for (const opt of text.split(',').filter((o) => o !== '')) {
    if (opt === 'ro' || opt === 'readonly') readonly = true;
    else if (opt === 'rw') readonly = false;
    // SELinux relabelling and macOS consistency hints: nothing to do on a host without them.
    else if (['z', 'Z', 'cached', 'delegated', 'consistent', 'nocopy', 'rprivate', 'private'].includes(opt)) continue;
    else
      throw usage(
        `${flag}: invalid mode: ${opt} (diyc takes ro and rw${['shared', 'rshared', 'slave', 'rslave'].includes(opt) ? '; its bind mounts are private' : ''})`,
      );
  }
  return readonly;
}

/** One -v/--volume value. `cwd` resolves ./relative host paths. */
export function parseVolumeFlag(text: string, cwd: string = process.cwd()): MountSpec {
  const flag = `--volume ${text}`;
  const parts = text.split(':');
  if (parts.length === 1) return { type: 'volume', target: target(text, flag), readonly: false };
  if (parts.length > 3) throw usage(`${flag}: invalid spec: use HOST-DIR:CONTAINER-DIR[:ro], NAME:CONTAINER-DIR[:ro] or CONTAINER-DIR`);
  const [source = '', dest = '', mode = ''] = parts;
  if (source === '' || dest === '')
    throw usage(`${flag}: invalid spec: use HOST-DIR:CONTAINER-DIR[:ro], NAME:CONTAINER-DIR[:ro] or CONTAINER-DIR`);
  const readonly = volumeOptions(mode, flag);
  if (isAbsolute(source) || source.startsWith('./') || source.startsWith('../') || source === '.' || source === '..') {
    return { type: 'bind', source: resolve(cwd, source), target: target(dest, flag), readonly, create: true };
  }
  try {
    checkVolumeName(source);
  } catch {
    throw usage(
      `${flag}: "${source}" includes invalid characters for a local volume name; to mount a host directory, give an absolute path (or ./${source})`,
    );
  }
  return { type: 'volume', name: source, target: target(dest, flag), readonly };
}

/** One --mount value: comma-separated KEY=VALUE (readonly alone for readonly=true). */
export function parseMountFlag(text: string, cwd: string = process.cwd()): MountSpec {
  const flag = `--mount ${text}`;
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    fields.set(key, eq < 0 ? 'true' : part.slice(eq + 1));
  }
  const take = (...keys: string[]): string | undefined => {
    for (const key of keys) {
      const value = fields.get(key);
      fields.delete(key);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const type = take('type') ?? 'volume';
  const source = take('source', 'src');
  const dest = take('target', 'destination', 'dst');
  const ro = take('readonly', 'ro');
  const readonly = ro !== undefined && ['true', '1', ''].includes(ro.toLowerCase());
  if (ro !== undefined && !['true', '1', '', 'false', '0'].includes(ro.toLowerCase()))
    throw usage(`${flag}: readonly is true or false, not ${ro}`);
  if (dest === undefined) throw usage(`${flag}: target is required`);
  take('consistency');
  let spec: MountSpec;
  if (type === 'bind') {
    if (source === undefined) throw usage(`${flag}: source is required for a bind mount`);
    const propagation = take('bind-propagation');
    if (propagation !== undefined && !['private', 'rprivate'].includes(propagation))
      throw usage(`${flag}: bind-propagation=${propagation}: diyc's bind mounts are private`);
    spec = { type: 'bind', source: resolve(cwd, source), target: target(dest, flag), readonly, create: false };
  } else if (type === 'volume') {
    take('volume-nocopy');
    if (source !== undefined) checkVolumeName(source);
    spec = { type: 'volume', ...(source !== undefined ? { name: source } : {}), target: target(dest, flag), readonly };
  } else if (type === 'tmpfs') {
    if (source !== undefined) throw usage(`${flag}: a tmpfs mount takes no source`);
    const options: string[] = [];
    const size = take('tmpfs-size');
    const mode = take('tmpfs-mode');
    if (size !== undefined) options.push(`size=${size}`);
    if (mode !== undefined) options.push(`mode=${mode}`);
    if (readonly) options.push('ro');
    spec = { type: 'tmpfs', target: target(dest, flag), options };
  } else {
    throw usage(`${flag}: type ${type}: diyc mounts bind, volume and tmpfs`);
  }
  const left = [...fields.keys()];
  if (left.length > 0) throw usage(`${flag}: unexpected key '${left[0]}' in '${text}'`);
  return spec;
}
