// runc's -ENOSYS stub (libcontainer/seccomp/patchbpf), put in front of the filter
// libseccomp compiled: a system call numbered above every one the profile names, on an
// architecture the profile names, fails with ENOSYS ("not implemented") instead of the
// profile's default action (EPERM, or a kill). A program then falls back as it would on an
// older kernel: glibc tries clone3(2) and, told ENOSYS, uses clone(2); told EPERM it gives
// up. A profile whose default action lets calls through (allow, log, trace) or answers
// ENOSYS already needs no stub.
//
// The stub is classic BPF (seccomp(2), "Filter programs"): it reads the architecture, jumps
// to that architecture's section, compares the call's number with the highest one known,
// and returns SECCOMP_RET_ERRNO | ENOSYS or falls through to the filter. x86_64 and x32
// share one audit architecture; x32 calls carry bit 30 in their number.

/** One struct sock_filter. */
export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

const BPF_LD_W_ABS = 0x20;
const BPF_JA = 0x05;
const BPF_JEQ = 0x15;
const BPF_JGT = 0x25;
const BPF_JSET = 0x45;
const BPF_RET_K = 0x06;
/** seccomp_data: nr at 0, arch at 4. */
const NR = 0;
const ARCH = 4;
const ENOSYS = 38;
const RET_ERRNO_ENOSYS = (0x00050000 | ENOSYS) >>> 0;
const X32_BIT = 0x40000000;

const load = (offset: number): Insn => ({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k: offset });
const jump = (skip: number): Insn => ({ code: BPF_JA, jt: 0, jf: 0, k: skip });
const jumpIf = (code: number, value: number, jt: number, jf = 0): Insn => ({ code, jt, jf, k: value >>> 0 });
const ret = (value: number): Insn => ({ code: BPF_RET_K, jt: 0, jf: 0, k: value >>> 0 });

/** The kernel's AUDIT_ARCH_* for each libseccomp architecture name (x32 shares x86_64's). */
export const AUDIT_ARCH: Readonly<Record<string, number>> = {
  x86: 0x40000003,
  x86_64: 0xc000003e,
  x32: 0xc000003e,
  arm: 0x40000028,
  aarch64: 0xc00000b7,
  mips: 0x00000008,
  mips64: 0x80000008,
  mips64n32: 0xa0000008,
  mipsel: 0x40000008,
  mipsel64: 0xc0000008,
  mipsel64n32: 0xe0000008,
  ppc: 0x00000014,
  ppc64: 0x80000015,
  ppc64le: 0xc0000015,
  s390: 0x00000016,
  s390x: 0x80000016,
  riscv64: 0xc00000f3,
};

/** Whether a profile gets the stub: not when its default lets calls through or says ENOSYS. */
export function needsEnosysStub(defaultAction: string, defaultErrnoRet: number | undefined): boolean {
  if (defaultAction === 'SCMP_ACT_ALLOW' || defaultAction === 'SCMP_ACT_LOG' || defaultAction === 'SCMP_ACT_TRACE') return false;
  return !(defaultAction === 'SCMP_ACT_ERRNO' && defaultErrnoRet === ENOSYS);
}

/**
 * The stub for `lastSyscalls` (libseccomp architecture name -> the highest call number the
 * profile names there; 0 or absent: none, that architecture is left to the filter), in
 * the order given. Jumps are counted from the end, as runc counts them, so that each
 * section can be put in front of what follows it; a jump past 255 takes a long `ja`.
 */
export function enosysStub(lastSyscalls: Readonly<Record<string, number>>): Insn[] {
  // Grouped by the kernel's architecture: x86_64 and x32 make one section.
  const byAudit = new Map<number, Map<string, number>>();
  for (const [arch, last] of Object.entries(lastSyscalls)) {
    const audit = AUDIT_ARCH[arch];
    if (audit === undefined || !(last > 0)) continue;
    const group = byAudit.get(audit) ?? new Map<string, number>();
    group.set(arch, last);
    byAudit.set(audit, group);
  }
  // [fall through to the filter, ENOSYS]: the sections jump to one or the other.
  let tail: Insn[] = [jump(1), ret(RET_ERRNO_ENOSYS)];
  const sectionEnd = new Map<number, number>();
  for (const [audit, group] of [...byAudit].reverse()) {
    const toEnosys = tail.length - 1;
    const toFilter = toEnosys + 1;
    const section: Insn[] = [load(NR)];
    if (group.size === 1) {
      const [[arch, last]] = [...group] as [[string, number]];
      // s390 multiplexes large call numbers through number 0 (setup), which is never
      // used for itself any more: unknown calls arrive as 0.
      if (arch === 's390' || arch === 's390x') section.push(jumpIf(BPF_JEQ, 0, 0, 1), ret(RET_ERRNO_ENOSYS));
      let rest: Insn[] =
        toEnosys + 1 <= 255
          ? [jumpIf(BPF_JGT, last, toEnosys + 1), jump(toFilter)]
          : [jumpIf(BPF_JGT, last, 0, 1), jump(toEnosys + 1), jump(toFilter)];
      // x86_64 alone: an x32 call skips to the filter; x32 alone: an x86_64 call does.
      if (arch === 'x86_64') rest = [jumpIf(BPF_JSET, X32_BIT, rest.length - 1), ...rest];
      if (arch === 'x32') rest = [jumpIf(BPF_JSET, X32_BIT, 0, rest.length - 1), ...rest];
      section.push(...rest);
    } else {
      const x86 = group.get('x86_64');
      const x32 = group.get('x32');
      if (group.size !== 2 || x86 === undefined || x32 === undefined)
        throw new Error(`seccomp: architectures ${[...group.keys()].join(', ')} overlap`);
      section.push(
        ...(toEnosys + 2 <= 255
          ? [jumpIf(BPF_JSET, X32_BIT, 1), jumpIf(BPF_JGT, x86, toEnosys + 2, 1), jumpIf(BPF_JGT, x32, toEnosys + 1), jump(toFilter)]
          : [jumpIf(BPF_JSET, X32_BIT, 1), jumpIf(BPF_JGT, x86, 1, 2), jumpIf(BPF_JGT, x32, 0, 1), jump(toEnosys + 1), jump(toFilter)]),
      );
    }
    tail = [...section, ...tail];
    sectionEnd.set(audit, tail.length);
  }
  // Any other architecture goes straight to the filter (which refuses it).
  tail = [jump(tail.length), ...tail];
  for (const audit of [...byAudit.keys()].reverse()) {
    const skip = tail.length - (sectionEnd.get(audit) as number);
    tail = skip <= 255 ? [jumpIf(BPF_JEQ, audit, skip), ...tail] : [jumpIf(BPF_JEQ, audit, 0, 1), jump(skip), ...tail];
  }
  return [load(ARCH), ...tail];
}

/** Instructions as struct sock_filter[] in this machine's byte order (what seccomp(2) reads). */
export function assemble(insns: readonly Insn[]): Buffer {
  const out = Buffer.alloc(insns.length * 8);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  insns.forEach((insn, i) => {
    const at = i * 8;
    if (le) {
      out.writeUInt16LE(insn.code, at);
      out.writeUInt32LE(insn.k, at + 4);
    } else {
      out.writeUInt16BE(insn.code, at);
      out.writeUInt32BE(insn.k, at + 4);
    }
    out.writeUInt8(insn.jt, at + 2);
    out.writeUInt8(insn.jf, at + 3);
  });
  return out;
}
