// The device cgroup's rules (OCI linux.resources.devices), for both cgroup versions.
//
// cgroup v1 has a devices controller: rules are written to devices.deny / devices.allow
// in order. cgroup v2 has none: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the
// cgroup decides each access (as runc and crun do). This file turns the same rules into
// the v1 lines and into that program's instructions; @diyc/syscalls loads and attaches it.
// https://docs.kernel.org/admin-guide/cgroup-v1/devices.html
// https://docs.kernel.org/admin-guide/cgroup-v2.html#device-controller
import type { DeviceRule } from '@diyc/record';

/** A rule for every device and every access resets the list (as writing "a" in v1). */
function resets(rule: DeviceRule): boolean {
  return (rule.type ?? 'a') === 'a' && rule.major == null && rule.minor == null && /r/.test(rule.access ?? 'rwm') &&
    /w/.test(rule.access ?? 'rwm') && /m/.test(rule.access ?? 'rwm');
}

/** v1: the lines to write, in order, each to devices.allow or devices.deny. */
export function v1DeviceLines(rules: readonly DeviceRule[]): { file: 'devices.allow' | 'devices.deny'; line: string }[] {
  return rules.map((rule) => {
    const type = rule.type ?? 'a';
    const line = type === 'a' ? 'a' : `${type} ${rule.major ?? '*'}:${rule.minor ?? '*'} ${rule.access ?? 'rwm'}`;
    return { file: rule.allow ? 'devices.allow' : 'devices.deny', line };
  });
}

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } where
// access_type = access << 16 | type (include/uapi/linux/bpf.h).
const DEV_BLOCK = 1;
const DEV_CHAR = 2;
const ACC = { m: 1, r: 2, w: 4 } as const;

// The few eBPF instructions the program needs (include/uapi/linux/bpf_common.h, bpf.h).
const OP = {
  LDXW: 0x61, // dst = *(u32 *)(src + off)
  AND32: 0x54, // dst &= imm
  RSH32: 0x74, // dst >>= imm
  MOV32X: 0xbc, // dst = src
  MOV64: 0xb7, // dst = imm
  JNE: 0x55, // if dst != imm: pc += off
  EXIT: 0x95, // return r0
} as const;

interface Insn { code: number; dst: number; src: number; off: number; imm: number }
const insn = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });

function accessBits(access: string): number {
  let bits = 0;
  for (const c of access) bits |= ACC[c as keyof typeof ACC] ?? 0;
  return bits;
}

/** One rule: jumps past itself unless the device matches, then returns allow or deny. */
function ruleBlock(rule: DeviceRule): Insn[] {
  const checks: Insn[][] = [];
  const type = rule.type ?? 'a';
  if (type !== 'a') checks.push([insn(OP.JNE, 2, 0, 0, type === 'c' ? DEV_CHAR : DEV_BLOCK)]);
  const allowed = accessBits(rule.access ?? 'rwm');
  // The access asked must be within the rule's: (access & ~allowed) == 0.
  if (allowed !== 7) checks.push([insn(OP.MOV32X, 1, 3), insn(OP.AND32, 1, 0, 0, ~allowed & 7), insn(OP.JNE, 1, 0, 0, 0)]);
  if (rule.major != null) checks.push([insn(OP.JNE, 4, 0, 0, rule.major)]);
  if (rule.minor != null) checks.push([insn(OP.JNE, 5, 0, 0, rule.minor)]);
  const verdict = [insn(OP.MOV64, 0, 0, 0, rule.allow ? 1 : 0), insn(OP.EXIT)];
  const body = [...checks.flat(), ...verdict];
  // Each conditional jump leaves the block: its offset counts the instructions after it.
  return body.map((ins, i) => (ins.code === OP.JNE ? { ...ins, off: body.length - i - 1 } : ins));
}

/**
 * The cgroup v2 program for `rules`, as raw struct bpf_insn bytes. The rules are read
 * as v1 reads its writes: a rule for all devices resets the default, and a later rule
 * overrides an earlier one, so the program tests them last first.
 */
export function deviceFilterProgram(rules: readonly DeviceRule[]): Buffer {
  let defaultAllow = true;
  let list: DeviceRule[] = [];
  for (const rule of rules) {
    if (resets(rule)) {
      defaultAllow = rule.allow;
      list = [];
    } else {
      list.push(rule);
    }
  }
  const program: Insn[] = [
    insn(OP.LDXW, 2, 1, 0), insn(OP.AND32, 2, 0, 0, 0xffff), // r2 = type
    insn(OP.LDXW, 3, 1, 0), insn(OP.RSH32, 3, 0, 0, 16), // r3 = access
    insn(OP.LDXW, 4, 1, 4), // r4 = major
    insn(OP.LDXW, 5, 1, 8), // r5 = minor
    ...[...list].reverse().flatMap(ruleBlock),
    insn(OP.MOV64, 0, 0, 0, defaultAllow ? 1 : 0), insn(OP.EXIT),
  ];
  const out = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    out.writeUInt8(ins.code, i * 8);
    out.writeUInt8((ins.src << 4) | ins.dst, i * 8 + 1);
    out.writeInt16LE(ins.off, i * 8 + 2);
    out.writeInt32LE(ins.imm | 0, i * 8 + 4);
  });
  return out;
}

/**
 * Runs a program from deviceFilterProgram on one access, as the kernel would: for tests,
 * which cannot load BPF without root. Knows only the instructions above.
 */
export function runDeviceFilter(program: Buffer, device: { type: 'c' | 'b'; major: number; minor: number; access: string }): boolean {
  const ctx = [((accessBits(device.access) << 16) | (device.type === 'c' ? DEV_CHAR : DEV_BLOCK)) >>> 0, device.major, device.minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0; pc < program.length / 8; pc++) {
    const code = program.readUInt8(pc * 8);
    const regs = program.readUInt8(pc * 8 + 1);
    const dst = regs & 0xf;
    const src = regs >> 4;
    const off = program.readInt16LE(pc * 8 + 2);
    const imm = program.readInt32LE(pc * 8 + 4);
    switch (code) {
      case OP.LDXW: r[dst] = ctx[off / 4] ?? 0; break;
      case OP.AND32: r[dst] = ((r[dst] ?? 0) & imm) >>> 0; break;
      case OP.RSH32: r[dst] = (r[dst] ?? 0) >>> imm; break;
      case OP.MOV32X: r[dst] = r[src] ?? 0; break;
      case OP.MOV64: r[dst] = imm; break;
      case OP.JNE: if ((r[dst] ?? 0) !== (imm >>> 0)) pc += off; break;
      case OP.EXIT: return r[0] === 1;
      default: throw new Error(`unknown instruction 0x${code.toString(16)}`);
    }
  }
  throw new Error('the program ran off its end');
}
