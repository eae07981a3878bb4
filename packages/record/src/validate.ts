// Shape checks for the fields of a record that diyc acts on. A config.json is written by
// whoever made the bundle or the image: every field is checked before anything uses it,
// and the first problem is reported with its path ("process.rlimits[1].hard must be ...").
// Fields diyc does not know are left alone (diyc-oci decides which it can honour).

/** Returns why `value` (at `path`) is wrong, or null. */
type Check = (value: unknown, path: string) => string | null;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const str: Check = (v, p) => (typeof v === 'string' ? null : `${p} must be a string`);
const bool: Check = (v, p) => (typeof v === 'boolean' ? null : `${p} must be true or false`);
const int: Check = (v, p) => (Number.isSafeInteger(v) ? null : `${p} must be a whole number`);
const uint: Check = (v, p) => (Number.isSafeInteger(v) && (v as number) >= 0 ? null : `${p} must be a whole number, 0 or more`);
/** A uint64 in JSON: numbers past 2^53 lose precision but still mean "very large". */
const u64: Check = (v, p) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? null : `${p} must be a whole number, 0 or more`);
const absPath: Check = (v, p) => (typeof v === 'string' && v.startsWith('/') ? null : `${p} must be an absolute path`);
const nulless: Check = (v, p) => (typeof v === 'string' && !v.includes('\0') ? null : `${p} must be a string without NUL`);
const oneOf =
  (...values: string[]): Check =>
  (v, p) =>
    typeof v === 'string' && values.includes(v) ? null : `${p} must be one of ${values.join(', ')}`;
const nullable =
  (check: Check): Check =>
  (v, p) =>
    v === null ? null : check(v, p);

function arrayOf(check: Check): Check {
  return (v, p) => {
    if (!Array.isArray(v)) return `${p} must be an array`;
    for (let i = 0; i < v.length; i++) {
      const problem = check(v[i], `${p}[${i}]`);
      if (problem) return problem;
    }
    return null;
  };
}

/** An object whose listed keys, when present, pass their checks; `required` must be there. */
function object(fields: Record<string, Check>, required: string[] = []): Check {
  return (v, p) => {
    if (!isObject(v)) return `${p} must be an object`;
    for (const key of required) if (v[key] === undefined) return `${p}.${key} is missing`;
    for (const [key, check] of Object.entries(fields)) {
      if (v[key] === undefined) continue;
      const problem = check(v[key], `${p}.${key}`);
      if (problem) return problem;
    }
    return null;
  };
}

function recordOf(check: Check): Check {
  return (v, p) => {
    if (!isObject(v)) return `${p} must be an object`;
    for (const [key, value] of Object.entries(v)) {
      const problem = check(value, `${p}.${key}`);
      if (problem) return problem;
    }
    return null;
  };
}

const strings = arrayOf(nulless);
const NAMESPACES = ['mount', 'uts', 'ipc', 'pid', 'network', 'cgroup', 'user', 'time'];

const capabilities = object({ bounding: strings, effective: strings, permitted: strings, inheritable: strings, ambient: strings });
const idMapping = object({ containerID: uint, hostID: uint, size: uint }, ['containerID', 'hostID', 'size']);
const hook = object({ path: absPath, args: strings, env: strings, timeout: int }, ['path']);
const hooks = object(
  Object.fromEntries(
    ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'].map((k) => [k, arrayOf(hook)]),
  ),
);

const deviceRule = object(
  {
    allow: bool,
    type: oneOf('a', 'c', 'b'),
    major: nullable(int),
    minor: nullable(int),
    // r, w and m in any order ("mrw", "wr"); runc ignores an "a" in it (its own tests write "rwa").
    access: (v, p) => (typeof v === 'string' && /^[rwma]*$/.test(v) ? null : `${p} must be made of r, w and m`),
  },
  ['allow'],
);

const resources = object({
  memory: object({
    limit: int,
    reservation: int,
    swap: int,
    kernel: int,
    kernelTCP: int,
    swappiness: uint,
    disableOOMKiller: bool,
    useHierarchy: bool,
    checkBeforeUpdate: bool,
  }),
  pids: object({ limit: int }),
  cpu: object({
    shares: u64,
    quota: int,
    period: u64,
    burst: u64,
    realtimeRuntime: int,
    realtimePeriod: u64,
    cpus: str,
    mems: str,
    idle: int,
  }),
  devices: arrayOf(deviceRule),
  hugepageLimits: arrayOf(object({ pageSize: str, limit: u64 }, ['pageSize', 'limit'])),
  unified: recordOf(str),
});

const seccompArg = object({ index: uint, value: u64, valueTwo: u64, op: str }, ['index', 'value', 'op']);
const seccomp = object(
  {
    defaultAction: str,
    defaultErrnoRet: uint,
    architectures: strings,
    flags: strings,
    listenerPath: str,
    listenerMetadata: str,
    syscalls: arrayOf(object({ names: strings, action: str, errnoRet: uint, args: arrayOf(seccompArg) }, ['names', 'action'])),
  },
  ['defaultAction'],
);

const device = object(
  {
    path: absPath,
    type: oneOf('c', 'b', 'u', 'p'),
    major: int,
    minor: int,
    fileMode: uint,
    uid: uint,
    gid: uint,
  },
  ['path', 'type'],
);

const RECORD = object(
  {
    ociVersion: str,
    root: object({ path: nulless, readonly: bool }, ['path']),
    process: object(
      {
        terminal: bool,
        consoleSize: object({ height: uint, width: uint }),
        args: strings,
        env: arrayOf((v, p) =>
          typeof v === 'string' && !v.includes('\0') && v.includes('=') && !v.startsWith('=') ? null : `${p} must be KEY=VALUE`,
        ),
        cwd: absPath,
        user: object({ uid: uint, gid: uint, umask: uint, additionalGids: arrayOf(uint), username: str }, ['uid', 'gid']),
        capabilities,
        noNewPrivileges: bool,
        rlimits: arrayOf(object({ type: str, hard: u64, soft: u64 }, ['type', 'hard', 'soft'])),
        oomScoreAdj: (v, p) =>
          Number.isInteger(v) && (v as number) >= -1000 && (v as number) <= 1000 ? null : `${p} must be a whole number from -1000 to 1000`,
        apparmorProfile: str,
        selinuxLabel: str,
      },
      ['args', 'env', 'cwd'],
    ),
    hostname: str,
    domainname: str,
    mounts: arrayOf(object({ destination: absPath, type: str, source: nulless, options: strings }, ['destination'])),
    hooks,
    linux: object(
      {
        namespaces: arrayOf(object({ type: oneOf(...NAMESPACES), path: absPath }, ['type'])),
        uidMappings: arrayOf(idMapping),
        gidMappings: arrayOf(idMapping),
        cgroupsPath: nulless,
        resources,
        devices: arrayOf(device),
        maskedPaths: arrayOf(absPath),
        readonlyPaths: arrayOf(absPath),
        seccomp,
        sysctl: recordOf(str),
        rootfsPropagation: oneOf('private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable'),
        mountLabel: str,
      },
      ['namespaces'],
    ),
    annotations: recordOf(str),
  },
  ['process', 'mounts', 'linux'],
);

/** Why the record is not well formed (the first problem, with its path), or null. */
export function checkRecord(record: unknown): string | null {
  return RECORD(record, '')?.replace(/^\./, '') ?? null;
}
