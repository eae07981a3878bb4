// An OCI bundle: a directory holding config.json (the full runtime spec, as containerd and
// podman write it) and the root filesystem it names. Everything in it is input from
// outside: parseRecord checks the shape of every field diyc acts on, and this file
// refuses by name each field diyc cannot honour, rather than drop it.
// https://github.com/opencontainers/runtime-spec/blob/main/bundle.md
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ociDeviceRules } from '@diyc/cgroup';
import { ANNOTATION_PREFIX, DiycError, parseRecord, type ContainerRecord, type DeviceRule, type RecordDevice } from '@diyc/record';

/** The major version of the spec diyc reads: 1.0.0 up to what runtime-tools' suite writes. */
const SUPPORTED_MAJOR = 1;

/**
 * The runtime spec's fields diyc cannot honour, where they live. A key the spec does not
 * have at all is ignored, as the spec requires ("MUST NOT generate an error if they
 * encounter an unknown property"); one it has but diyc cannot do is refused by name.
 */
const UNSUPPORTED: Record<string, readonly string[]> = {
  '': ['solaris', 'windows', 'vm', 'zos'],
  'process.': ['commandLine', 'ioPriority', 'scheduler', 'execCPUAffinity'],
  'linux.': ['timeOffsets', 'intelRdt', 'personality', 'memoryPolicy', 'netDevices'],
};

/** Is `value` absent, or an empty string/array/object: a field that asks nothing. */
const empty = (value: unknown): boolean =>
  value === undefined ||
  value === null ||
  value === '' ||
  (Array.isArray(value) && value.length === 0) ||
  (typeof value === 'object' && !Array.isArray(value) && Object.keys(value as object).length === 0);

/**
 * The fields of `raw` diyc cannot honour: each one a config asks for is refused by name.
 * An empty AppArmor profile or SELinux label asks for nothing, but says so: a warning.
 */
export function unsupportedFields(raw: Record<string, unknown>, warn: (m: string) => void): string[] {
  const refused: string[] = [];
  const process = raw.process as Record<string, unknown> | undefined;
  const linux = raw.linux as Record<string, unknown> | undefined;
  const places: Record<string, Record<string, unknown> | undefined> = { '': raw, 'process.': process, 'linux.': linux };
  for (const [prefix, keys] of Object.entries(UNSUPPORTED)) {
    for (const key of keys) if (!empty(places[prefix]?.[key])) refused.push(`${prefix}${key}`);
  }
  for (const [path, value] of [
    ['process.apparmorProfile', process?.apparmorProfile],
    ['process.selinuxLabel', process?.selinuxLabel],
    ['linux.mountLabel', linux?.mountLabel],
  ] as const) {
    if (value === undefined) continue;
    if (value === '') warn(`${path} is empty: diyc has no AppArmor or SELinux, and nothing is asked`);
    else refused.push(`${path} (diyc has no AppArmor or SELinux)`);
  }
  for (const ns of (linux?.namespaces as { type?: string }[] | undefined) ?? []) {
    if (ns.type === 'time') refused.push('linux.namespaces: time');
  }
  return refused;
}

/** The devices every container gets (runtime-spec "Default Devices"), unless the config lists them. */
const DEFAULT_DEVICES: RecordDevice[] = [
  ['/dev/null', 1, 3],
  ['/dev/zero', 1, 5],
  ['/dev/full', 1, 7],
  ['/dev/random', 1, 8],
  ['/dev/urandom', 1, 9],
  ['/dev/tty', 5, 0],
].map(([path, major, minor]) => ({
  path: path as string,
  type: 'c',
  major: major as number,
  minor: minor as number,
  fileMode: 0o666,
  uid: 0,
  gid: 0,
}));

export interface Bundle {
  dir: string;
  record: ContainerRecord;
}

/**
 * Reads BUNDLE/config.json as a record ready for the stages and the child: the rootfs
 * and relative bind sources made absolute (from the bundle), the default devices added.
 */
export function loadBundle(bundle: string, warn: (m: string) => void = () => {}): Bundle {
  const dir = resolve(bundle);
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new DiycError('not-found', `${file} does not exist: --bundle names the directory of an OCI bundle`);
  const text = readFileSync(file, 'utf8');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new DiycError('invalid', `${file} is not JSON: ${(err as Error).message}`);
  }
  if (raw.process === undefined) throw new DiycError('invalid', `${file}: process is missing (diyc-oci runs a process)`);
  const version = String(raw.ociVersion ?? '');
  if (Number(version.split('.')[0]) !== SUPPORTED_MAJOR)
    throw new DiycError('unsupported', `${file}: ociVersion '${version}' is not a 1.x spec`);
  const refused = unsupportedFields(raw, warn);
  if (refused.length > 0) throw new DiycError('unsupported', `diyc-oci cannot honour ${refused.join(', ')}`);
  const record = parseRecord(text);
  // org.diyc.* annotations are how diyc's stages talk to each other (a bridge to attach
  // to, ports to publish, an image to mount): a config from outside cannot give them orders.
  const internal = Object.keys(record.annotations).filter((key) => key.startsWith(ANNOTATION_PREFIX));
  if (internal.length > 0)
    throw new DiycError('invalid', `${file}: annotations ${internal.join(', ')} are diyc's own: a config cannot set them`);
  if (!record.root?.path) throw new DiycError('invalid', `${file}: root.path is missing`);
  const rootfs = isAbsolute(record.root.path) ? record.root.path : join(dir, record.root.path);
  if (!existsSync(rootfs)) throw new DiycError('not-found', `root.path ${rootfs} does not exist`);
  record.root = { ...record.root, path: rootfs };
  // The device cgroup's rules come from what the config asks, before the default nodes are
  // added to its list (which would make them "listed", and so not allowed by default).
  const rules = deviceRules(record);
  // The default devices go in a tmpfs /dev the config mounts; those it lists itself win.
  if (record.mounts.some((m) => m.destination === '/dev' && m.type === 'tmpfs')) {
    const listed = new Set((record.linux.devices ?? []).map((d) => d.path));
    record.linux.devices = [...DEFAULT_DEVICES.filter((d) => !listed.has(d.path)), ...(record.linux.devices ?? [])];
  }
  record.linux.resources = { ...record.linux.resources, devices: rules };
  return { dir, record };
}

/**
 * The device cgroup's rules, as runc makes them: deny everything, then the config's own
 * rules, then runc's fixed list of harmless devices. The nodes linux.devices lists are
 * made in /dev, but not allowed: a config that lists /dev/kmsg under a deny-all rule gets
 * a node it cannot open (runc's dev.bats).
 */
export function deviceRules(record: ContainerRecord): DeviceRule[] {
  return ociDeviceRules(
    record.linux.resources?.devices ?? [],
    (record.linux.devices ?? []).map((d) => d.path),
  );
}
