// A record's process as the child's plan: the command, its environment and directory,
// its user and groups, capabilities, no_new_privs, rlimits, OOM score and seccomp filter.
// The same for a container's first process and for a command exec'd into it later.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CAPABILITIES,
  RLIMITS,
  compileSeccomp,
  hasNotifyRules,
  isSyscallError,
  seccompFlags,
  seccompVersion,
  SeccompError,
  type Capability,
  type CapabilitySets,
  type RlimitType,
  type SpawnPlan,
} from '@diyc/syscalls';
import { DiycError, type RecordProcess } from '@diyc/record';
import type { Trace } from '@diyc/record';

const SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;

/** The capability sets by name, refusing one the kernel does not know (CAP_TEST). */
export function capabilityPlan(process: RecordProcess): CapabilitySets | undefined {
  const caps = process.capabilities;
  if (!caps) return undefined;
  const sets: CapabilitySets = {};
  for (const set of SETS) {
    const names = caps[set] ?? [];
    for (const name of names) {
      if (!CAPABILITIES.includes(name as Capability))
        throw new DiycError('invalid', `process.capabilities.${set}: unknown capability ${name}`);
    }
    sets[set] = names as Capability[];
  }
  return sets;
}

function rlimitPlan(process: RecordProcess): SpawnPlan['rlimits'] {
  return (process.rlimits ?? []).map((r, i) => {
    if (!RLIMITS.includes(r.type as RlimitType)) throw new DiycError('invalid', `process.rlimits[${i}].type: unknown resource ${r.type}`);
    if (r.soft > r.hard) throw new DiycError('invalid', `process.rlimits[${i}]: soft ${r.soft} is above hard ${r.hard}`);
    // JSON numbers past 2^53 (RLIM_INFINITY is 2^64-1) arrive rounded: they mean "unlimited".
    const value = (n: number): bigint => (n >= Number.MAX_SAFE_INTEGER ? 0xffffffffffffffffn : BigInt(n));
    return { type: r.type as RlimitType, soft: value(r.soft), hard: value(r.hard) };
  });
}

/** The parts of a spawn plan that a process (first or exec'd) brings. */
export function processPlan(
  process: RecordProcess,
): Pick<
  SpawnPlan,
  'argv' | 'env' | 'cwd' | 'uid' | 'gid' | 'groups' | 'umask' | 'capabilities' | 'noNewPrivileges' | 'rlimits' | 'oomScoreAdj'
> {
  if (process.args.length === 0) throw new DiycError('invalid', 'the record has no command (process.args is empty)');
  const plan: ReturnType<typeof processPlan> = { argv: process.args, env: process.env, cwd: process.cwd };
  if (process.user) {
    plan.uid = process.user.uid;
    plan.gid = process.user.gid;
    plan.groups = process.user.additionalGids ?? [];
    if (process.user.umask !== undefined) plan.umask = process.user.umask;
  }
  const caps = capabilityPlan(process);
  if (caps) plan.capabilities = caps;
  if (process.noNewPrivileges) plan.noNewPrivileges = true;
  const rlimits = rlimitPlan(process);
  if (rlimits && rlimits.length > 0) plan.rlimits = rlimits;
  if (process.oomScoreAdj !== undefined) plan.oomScoreAdj = process.oomScoreAdj;
  return plan;
}

export interface SeccompPlanOptions {
  trace?: Trace;
  /**
   * Where compiled filters are kept, by their profile and the libseccomp version:
   * compiling Docker's profile takes about 6 ms, reading it back a tenth of one.
   */
  cacheDir?: string;
}

/** Changes when @diyc/syscalls compiles differently (the binary tree, the -ENOSYS stub): old files go unused. */
const COMPILED_FORM = 'tree-2-enosys';

/**
 * A file name for a cache key: two 32-bit FNV-1a hashes of it, in hex. Not node:crypto,
 * whose loading cost every container start about 4 ms: the file holds the whole key, which
 * is compared before its program is used, so two keys of one name only miss the cache.
 */
export function cacheName(key: string): string {
  // Four bytes a round, not a character: the key holds the whole profile (~6 kB for
  // Docker's), hashed at each start by the interpreter: ~0.9 ms a character at a time, ~0.6 so.
  // Buffer.alloc never hands out a slice of its pool: the words are aligned.
  const bytes = Buffer.alloc((Buffer.byteLength(key) + 3) & ~3);
  const length = bytes.write(key);
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ length;
  for (let i = 0; i < words.length; i++) {
    const c = words[i] as number;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return `${(a >>> 0).toString(16).padStart(8, '0')}${(b >>> 0).toString(16).padStart(8, '0')}`;
}

/** A cache file: the key's length (u32, little-endian), the key, then the program. */
export function encodeCached(key: string, program: Uint8Array): Buffer {
  const text = Buffer.from(key);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(text.length);
  return Buffer.concat([head, text, program]);
}

/** The program a cache file holds for `key`, or undefined when it holds another key's (or is torn). */
export function decodeCached(file: Buffer, key: string): Buffer | undefined {
  if (file.length < 4) return undefined;
  const length = file.readUInt32LE(0);
  if (file.length < 4 + length || file.toString('utf8', 4, 4 + length) !== key) return undefined;
  const program = file.subarray(4 + length);
  return program.length > 0 && program.length % 8 === 0 ? Buffer.from(program) : undefined;
}

function cached(seccomp: Parameters<typeof compileSeccomp>[0], options: SeccompPlanOptions): NonNullable<SpawnPlan['seccomp']> {
  const compile = (): NonNullable<SpawnPlan['seccomp']> => {
    const compiled = compileSeccomp(seccomp);
    if (compiled.skipped.length > 0) options.trace?.(`seccomp: this libseccomp does not know ${compiled.skipped.join(', ')}: left out`);
    return { program: compiled.program, flags: compiled.flags };
  };
  if (options.cacheDir === undefined) return compile();
  const key = `${COMPILED_FORM}\0${seccompVersion()}\0${process.arch}\0${JSON.stringify(seccomp)}`;
  const file = join(options.cacheDir, `${cacheName(key)}.filter`);
  try {
    const program = decodeCached(readFileSync(file), key);
    if (program) return { program, flags: seccompFlags(seccomp) };
  } catch {
    /* not compiled yet */
  }
  const plan = compile();
  try {
    mkdirSync(options.cacheDir, { recursive: true });
    const temp = `${file}.${process.pid}`;
    writeFileSync(temp, encodeCached(key, plan.program));
    renameSync(temp, file);
  } catch {
    /* a cache that cannot be written only costs time */
  }
  return plan;
}

/**
 * The compiled filter of a record's linux.seccomp, or undefined. With SCMP_ACT_NOTIFY rules
 * it names the seccomp agent its listener goes to (listenerPath, listenerMetadata); the
 * container's state is the caller's to add (`listener.state`): without it, the agent is
 * told the process's pid and little else.
 */
export function seccompPlan(
  seccomp: Parameters<typeof compileSeccomp>[0] | undefined,
  options: SeccompPlanOptions = {},
): SpawnPlan['seccomp'] {
  if (!seccomp) return undefined;
  try {
    const plan = cached(seccomp, options);
    if (hasNotifyRules(seccomp) && seccomp.listenerPath) {
      plan.listener = { path: seccomp.listenerPath, ...(seccomp.listenerMetadata ? { metadata: seccomp.listenerMetadata } : {}) };
    }
    return plan;
  } catch (err) {
    if (err instanceof SeccompError) throw new DiycError('invalid', err.message);
    if (isSyscallError(err)) throw new DiycError('invalid', `linux.seccomp: ${err.message}`);
    throw err;
  }
}
