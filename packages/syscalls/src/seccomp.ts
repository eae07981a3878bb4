// Seccomp filters in the OCI runtime-spec form (config.json `linux.seccomp`), compiled
// by libseccomp into the BPF program the child loads with seccomp(2).
// https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md#seccomp
// https://man7.org/linux/man-pages/man2/seccomp.2.html
import { native } from './binding.js';
import { assemble, enosysStub, needsEnosysStub } from './seccomp-enosys.js';

export type SeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export type SeccompOperator =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

/** The OCI form. Names are strings here: compileSeccomp checks each and names a bad one. */
export interface SeccompArg {
  index: number;
  value: number | bigint;
  valueTwo?: number | bigint;
  op: SeccompOperator | string;
}

export interface SeccompRule {
  names: string[];
  action: SeccompAction | string;
  errnoRet?: number;
  args?: SeccompArg[];
  comment?: string;
}

export interface Seccomp {
  defaultAction: SeccompAction | string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  /** The unix socket of the seccomp agent that gets the listener of SCMP_ACT_NOTIFY rules. */
  listenerPath?: string;
  /** Passed to the agent with it, as `metadata`. */
  listenerMetadata?: string;
  syscalls?: SeccompRule[];
}

/** libseccomp's action values (seccomp.h). ERRNO and TRACE carry a number in the low 16 bits. */
const ACTIONS: Record<SeccompAction, number> = {
  SCMP_ACT_KILL: 0x00000000,
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_ALLOW: 0x7fff0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
};

const OPERATORS: Record<SeccompOperator, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** OCI architecture names, as libseccomp names them. */
export const SECCOMP_ARCHES: Readonly<Record<string, string>> = {
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_RISCV64: 'riscv64',
};

/** seccomp(2) filter flags a profile may ask for. */
export const SECCOMP_FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
};

/** The filter answers a listener fd for its SCMP_ACT_NOTIFY rules (Linux 5.0). */
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;

const EPERM = 1;

/** The action names every runtime knows, for `features`-style reports. */
export const SECCOMP_ACTIONS = Object.keys(ACTIONS) as SeccompAction[];
export const SECCOMP_OPERATORS = Object.keys(OPERATORS) as SeccompOperator[];

export class SeccompError extends Error {
  override name = 'SeccompError';
}

function action(name: string, errnoRet: number | undefined, where: string): number {
  const value = ACTIONS[name as SeccompAction];
  if (value === undefined) throw new SeccompError(`${where}: unknown action '${name}'`);
  if (name === 'SCMP_ACT_ERRNO' || name === 'SCMP_ACT_TRACE') return (value | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
  if (errnoRet !== undefined) throw new SeccompError(`${where}: errnoRet goes only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE`);
  return value >>> 0;
}

/** Whether a profile has SCMP_ACT_NOTIFY rules: its filter then has a listener for an agent. */
export function hasNotifyRules(profile: Seccomp): boolean {
  return (profile.syscalls ?? []).some((rule) => rule.action === 'SCMP_ACT_NOTIFY');
}

/**
 * runc's refusals for SCMP_ACT_NOTIFY (libcontainer/seccomp): the runtime hears of the
 * listener by a write(2) from the container's process, so write may not wait for an
 * agent, nor may the default action; and an agent must be named.
 */
function checkNotify(profile: Seccomp): void {
  if (profile.defaultAction === 'SCMP_ACT_NOTIFY') throw new SeccompError('SCMP_ACT_NOTIFY cannot be used as default action');
  if (!hasNotifyRules(profile)) return;
  for (const rule of profile.syscalls ?? []) {
    if (rule.action === 'SCMP_ACT_NOTIFY' && rule.names.includes('write'))
      throw new SeccompError('SCMP_ACT_NOTIFY cannot be used for the write syscall');
  }
  if (!profile.listenerPath) throw new SeccompError('linux.seccomp.listenerPath is not set: SCMP_ACT_NOTIFY rules need a seccomp agent');
}

/** The seccomp(2) flags of a profile, refusing those diyc cannot honour by name. */
export function seccompFlags(profile: Seccomp): number {
  let flags = hasNotifyRules(profile) ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  for (const flag of profile.flags ?? []) {
    const value = SECCOMP_FLAGS[flag];
    if (value === undefined) throw new SeccompError(`linux.seccomp.flags: ${flag} is not supported`);
    flags |= value;
  }
  return flags;
}

export interface CompiledSeccomp {
  /** struct sock_filter[]: what seccomp(2) loads. */
  program: Buffer;
  flags: number;
  /** System call names this libseccomp does not know (left out, as runc does). */
  skipped: string[];
}

/**
 * Compiles an OCI seccomp profile with libseccomp, with runc's -ENOSYS stub in front
 * (seccomp-enosys.ts). Unknown actions, operators and architectures are refused by name;
 * unknown system call names are skipped and listed.
 */
export function compileSeccomp(profile: Seccomp): CompiledSeccomp {
  checkNotify(profile);
  const architectures = (profile.architectures ?? []).map((arch) => {
    const name = SECCOMP_ARCHES[arch];
    if (name === undefined) throw new SeccompError(`linux.seccomp.architectures: unknown architecture '${arch}'`);
    return name;
  });
  const syscalls = (profile.syscalls ?? []).map((rule, i) => {
    const where = `linux.seccomp.syscalls[${i}]`;
    if (!Array.isArray(rule.names) || rule.names.length === 0) throw new SeccompError(`${where}: names must list at least one system call`);
    return {
      names: rule.names,
      action: action(rule.action, rule.errnoRet, `${where}.action`),
      args: (rule.args ?? []).map((arg, k) => {
        const op = OPERATORS[arg.op as SeccompOperator];
        if (op === undefined) throw new SeccompError(`${where}.args[${k}]: unknown operator '${arg.op}'`);
        if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5)
          throw new SeccompError(`${where}.args[${k}]: index must be 0 to 5`);
        return { index: arg.index, value: BigInt(arg.value), valueTwo: BigInt(arg.valueTwo ?? 0), op };
      }),
    };
  });
  const defaultAction = action(profile.defaultAction, profile.defaultErrnoRet, 'linux.seccomp.defaultAction');
  const { program, skipped, lastSyscalls } = native().compileSeccomp({ defaultAction, architectures, syscalls });
  const stub = needsEnosysStub(profile.defaultAction, profile.defaultErrnoRet) ? assemble(enosysStub(lastSyscalls)) : Buffer.alloc(0);
  // seccomp(2) takes at most BPF_MAXINSNS (4096) instructions.
  if ((stub.length + program.length) / 8 > 4096)
    throw new SeccompError(`linux.seccomp: the filter is ${(stub.length + program.length) / 8} instructions long, above the kernel's 4096`);
  return { program: Buffer.concat([stub, program]), skipped, flags: seccompFlags(profile) };
}

/** The version of the libseccomp linked in, or null when built without it. */
export function seccompVersion(): string | null {
  return native().seccompVersion();
}
