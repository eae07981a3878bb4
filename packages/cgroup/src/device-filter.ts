// The device cgroup's rules (OCI linux.resources.devices), for both cgroup versions.
//
// cgroup v1 has a devices controller: rules are written to devices.deny / devices.allow
// in order. cgroup v2 has none: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the
// cgroup decides each access (as runc and crun do). This file turns the same rules into
// the v1 lines and into that program's instructions; @diyc/syscalls loads and attaches it.
// https://docs.kernel.org/admin-guide/cgroup-v1/devices.html
// https://docs.kernel.org/admin-guide/cgroup-v2.html#device-controller
import type { DeviceRule } from '@diyc/record';

/**
 * A rule's access as a set, written in the kernel's order: "mrw" and "wr" are "rwm" and
 * "rw". runc reads access strings the same way (its Permissions type), in any order, and
 * ignores the letter "a" that configs sometimes carry (runc's own tests write "rwa").
 */
export function normalizeAccess(access: string | undefined): string {
  const given = access ?? 'rwm';
  return ['r', 'w', 'm'].filter((c) => given.includes(c)).join('');
}

/**
 * A rule of type "a" resets the list, whatever its access: the kernel reads any v1 line
 * that starts with "a" as "every device" (devices.allow/deny), and runc's rules emulator
 * does the same. Both writers follow that, so v1 and v2 hold a container alike.
 */
function resets(rule: DeviceRule): boolean {
  return (rule.type ?? 'a') === 'a';
}

/**
 * v1: the lines to write, in order, each to devices.allow or devices.deny. A rule whose
 * access names nothing (only "a") changes nothing and is left out: the kernel would refuse it.
 */
export function v1DeviceLines(rules: readonly DeviceRule[]): { file: 'devices.allow' | 'devices.deny'; line: string }[] {
  const lines: { file: 'devices.allow' | 'devices.deny'; line: string }[] = [];
  for (const rule of rules) {
    const file = rule.allow ? 'devices.allow' : 'devices.deny';
    if (resets(rule)) {
      lines.push({ file, line: 'a' });
      continue;
    }
    const access = normalizeAccess(rule.access);
    if (access === '') continue;
    lines.push({ file, line: `${rule.type} ${rule.major ?? '*'}:${rule.minor ?? '*'} ${access}` });
  }
  return lines;
}

/**
 * The device rules of an OCI container, as runc makes them (libcontainer/specconv): the
 * config's own linux.resources.devices, then runc's allowed devices (mknod of any node;
 * /dev/null, zero, full, random, urandom, tty; the ptys; /dev/net/tun), all after a rule
 * that denies everything. The nodes a config lists in linux.devices are made in /dev but
 * NOT allowed by that alone: a config that wants /dev/kmsg opened allows it in
 * linux.resources.devices. A default whose path the config lists itself is left out, as
 * runc leaves it (the config's node takes its place, with the config's rules).
 */
export function ociDeviceRules(configRules: readonly DeviceRule[] = [], listedPaths: readonly string[] = []): DeviceRule[] {
  const listed = new Set(listedPaths);
  return [
    { allow: false, access: 'rwm' },
    ...configRules,
    ...OCI_ALLOWED_DEVICES.filter((d) => d.path === undefined || !listed.has(d.path)).map((d) => d.rule),
  ];
}

const allowedDevice = (
  type: 'c' | 'b',
  major: number | null,
  minor: number | null,
  access: string,
  path?: string,
): { path?: string; rule: DeviceRule } => ({ ...(path !== undefined ? { path } : {}), rule: { allow: true, type, major, minor, access } });

/** runc's AllowedDevices (libcontainer/specconv/spec_linux.go), in its order. */
const OCI_ALLOWED_DEVICES: readonly { path?: string; rule: DeviceRule }[] = [
  allowedDevice('c', null, null, 'm'),
  allowedDevice('b', null, null, 'm'),
  allowedDevice('c', 1, 3, 'rwm', '/dev/null'),
  allowedDevice('c', 1, 8, 'rwm', '/dev/random'),
  allowedDevice('c', 1, 7, 'rwm', '/dev/full'),
  allowedDevice('c', 5, 0, 'rwm', '/dev/tty'),
  allowedDevice('c', 1, 5, 'rwm', '/dev/zero'),
  allowedDevice('c', 1, 9, 'rwm', '/dev/urandom'),
  allowedDevice('c', 136, null, 'rwm'), // /dev/pts/*
  allowedDevice('c', 5, 2, 'rwm'), // /dev/ptmx
  allowedDevice('c', 10, 200, 'rwm'), // /dev/net/tun
];

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

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}
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
  const allowed = accessBits(normalizeAccess(rule.access));
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
    } else if (normalizeAccess(rule.access) !== '') {
      list.push(rule);
    }
  }
  const program: Insn[] = [
    insn(OP.LDXW, 2, 1, 0),
    insn(OP.AND32, 2, 0, 0, 0xffff), // r2 = type
    insn(OP.LDXW, 3, 1, 0),
    insn(OP.RSH32, 3, 0, 0, 16), // r3 = access
    insn(OP.LDXW, 4, 1, 4), // r4 = major
    insn(OP.LDXW, 5, 1, 8), // r5 = minor
    ...[...list].reverse().flatMap(ruleBlock),
    insn(OP.MOV64, 0, 0, 0, defaultAllow ? 1 : 0),
    insn(OP.EXIT),
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
 * Runs a program from deviceFilterProgram on one access, as the kernel would: for this
 * package's tests (not exported from its index),
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
      case OP.LDXW:
        r[dst] = ctx[off / 4] ?? 0;
        break;
      case OP.AND32:
        r[dst] = ((r[dst] ?? 0) & imm) >>> 0;
        break;
      case OP.RSH32:
        r[dst] = (r[dst] ?? 0) >>> imm;
        break;
      case OP.MOV32X:
        r[dst] = r[src] ?? 0;
        break;
      case OP.MOV64:
        r[dst] = imm;
        break;
      case OP.JNE:
        if ((r[dst] ?? 0) !== imm >>> 0) pc += off;
        break;
      case OP.EXIT:
        return r[0] === 1;
      default:
        throw new Error(`unknown instruction 0x${code.toString(16)}`);
    }
  }
  throw new Error('the program ran off its end');
}
