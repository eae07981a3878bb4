// Named volumes, as docker's local driver keeps them: a directory under the state root that
// outlives the containers that mount it.
//
//   $DIYC_ROOT/volumes/NAME/_data        what the containers see (a bind mount of it)
//   $DIYC_ROOT/volumes/NAME/volume.json  {CreatedAt, Labels, Anonymous}
//
// `-v NAME:/path` makes one when it is missing (docker does too); `-v /path` makes an
// anonymous one (64 hex digits), removed with its container by `rm -v` and `--rm`. A
// volume a container's record mounts is in use: `volume rm` refuses it.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listContainers } from '@diyc/container';
import { removeTree } from '@diyc/overlay';
import { containersDir, DiycError, parseRecord, privateDir, stateRoot } from '@diyc/record';

export interface VolumeInfo {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: 'local';
  Options: Record<string, string>;
  /** Made for one container (`-v /path`): removed with it by --rm and rm -v. */
  Anonymous?: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function volumesDir(root: string = stateRoot()): string {
  return join(root, 'volumes');
}

/** A volume's name, checked: it becomes a directory name, never `..` or a path. */
export function checkVolumeName(name: string): string {
  if (!NAME.test(name))
    throw new DiycError('invalid', `volume name '${name}': use letters, digits, '_', '.' and '-', starting with a letter or digit`);
  return name;
}

export function volumeDir(name: string, root: string = stateRoot()): string {
  return join(volumesDir(root), checkVolumeName(name));
}

/** Where a volume's files are: what a container mounts. */
export function volumeData(name: string, root: string = stateRoot()): string {
  return join(volumeDir(name, root), '_data');
}

export function getVolume(name: string, root: string = stateRoot()): VolumeInfo | undefined {
  const dir = volumeDir(name, root);
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'volume.json'), 'utf8')) as Partial<VolumeInfo>;
    return {
      Name: name,
      Driver: 'local',
      Mountpoint: join(dir, '_data'),
      CreatedAt: meta.CreatedAt ?? '',
      Labels: meta.Labels ?? {},
      Scope: 'local',
      Options: {},
      ...(meta.Anonymous ? { Anonymous: true } : {}),
    };
  } catch {
    return existsSync(join(dir, '_data'))
      ? { Name: name, Driver: 'local', Mountpoint: join(dir, '_data'), CreatedAt: '', Labels: {}, Scope: 'local', Options: {} }
      : undefined;
  }
}

/** Makes volume `name` if it is missing (as docker's `volume create` and `-v NAME:/path`); returns it. */
export function createVolume(
  name: string,
  options: { labels?: Record<string, string>; anonymous?: boolean; root?: string } = {},
): VolumeInfo {
  const root = options.root ?? stateRoot();
  const existing = getVolume(name, root);
  if (existing) return existing;
  const dir = volumeDir(name, root);
  privateDir(volumesDir(root));
  mkdirSync(join(dir, '_data'), { recursive: true, mode: 0o755 });
  const meta = { CreatedAt: new Date().toISOString(), Labels: options.labels ?? {}, ...(options.anonymous ? { Anonymous: true } : {}) };
  const temp = join(dir, `.volume.json.${process.pid}`);
  writeFileSync(temp, `${JSON.stringify(meta, null, 2)}\n`);
  renameSync(temp, join(dir, 'volume.json'));
  return getVolume(name, root) as VolumeInfo;
}

export function listVolumes(root: string = stateRoot()): VolumeInfo[] {
  const dir = volumesDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => NAME.test(n))
    .map((n) => getVolume(n, root))
    .filter((v): v is VolumeInfo => v !== undefined)
    .sort((a, b) => a.Name.localeCompare(b.Name));
}

/** The containers whose record mounts volume `name`. */
export function volumeUsers(name: string, root: string = stateRoot()): string[] {
  const data = volumeData(name, root);
  return listContainers(containersDir(root)).filter((container) => {
    try {
      const record = parseRecord(readFileSync(join(containersDir(root), container, 'config.json'), 'utf8'));
      return record.mounts.some((m) => m.source === data);
    } catch {
      return false;
    }
  });
}

/** Removes volume `name` and its files; one in use only with `force`. */
export function removeVolume(name: string, options: { force?: boolean; root?: string } = {}): void {
  const root = options.root ?? stateRoot();
  if (!getVolume(name, root)) throw new DiycError('not-found', `No such volume: ${name}`);
  const users = volumeUsers(name, root);
  if (users.length > 0 && !options.force) {
    throw new DiycError(
      'exists',
      `remove ${name}: volume is in use - [${users.join(', ')}]: remove ${users.length > 1 ? 'them' : 'it'} first (diyc rm)`,
    );
  }
  // What a container wrote there may be any depth: removeTree copes.
  removeTree(volumeDir(name, root));
}
