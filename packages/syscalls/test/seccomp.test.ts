// The seccomp compiler: runc's -ENOSYS stub in front of libseccomp's filter, and runc's
// refusals for SCMP_ACT_NOTIFY. The compiled programs are run here by a small classic-BPF
// interpreter, so each test checks what the kernel would answer for a call, not bytes.
import { describe, expect, it } from 'vitest';
import { compileSeccomp, hasNotifyRules, seccompFlags, type Seccomp } from '../src/seccomp.js';
import { AUDIT_ARCH, assemble, enosysStub, needsEnosysStub } from '../src/seccomp-enosys.js';

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const X86_64 = AUDIT_ARCH.x86_64 as number;
const I386 = AUDIT_ARCH.x86 as number;
const AARCH64 = AUDIT_ARCH.aarch64 as number;
const X32_BIT = 0x40000000;
const ALLOW = 0x7fff0000;
const ENOSYS = (0x00050000 | 38) >>> 0;
const EPERM = (0x00050000 | 1) >>> 0;
const KILL_PROCESS = 0x80000000;

/**
 * Runs a classic BPF seccomp program on call `nr` with `args`, as the kernel would, and
 * returns its action. seccomp_data: nr at 0, arch at 4, ip at 8, args from 16 (two words each).
 */
function run(program: Buffer, arch: number, nr: number, args: number[] = []): number {
  const word = (offset: number): number => {
    if (offset === 0) return nr >>> 0;
    if (offset === 4) return arch >>> 0;
    if (offset >= 16 && offset < 64) {
      const arg = args[Math.floor((offset - 16) / 8)] ?? 0;
      return (offset - 16) % 8 === (LE ? 0 : 4) ? arg >>> 0 : 0;
    }
    return 0;
  };
  let a = 0;
  let x = 0;
  const mem = new Array<number>(16).fill(0);
  for (let pc = 0, steps = 0; pc * 8 < program.length; steps++) {
    if (steps > 100_000) throw new Error('looping');
    const at = pc * 8;
    const code = LE ? program.readUInt16LE(at) : program.readUInt16BE(at);
    const jt = program.readUInt8(at + 2);
    const jf = program.readUInt8(at + 3);
    const k = LE ? program.readUInt32LE(at + 4) : program.readUInt32BE(at + 4);
    const src = (code & 0x08) !== 0 ? x : k;
    switch (code & 0x07) {
      case 0x00:
        a = (code & 0xe0) === 0x20 ? word(k) : (code & 0xe0) === 0x60 ? (mem[k] as number) : k;
        pc++;
        break; // LD
      case 0x01:
        x = (code & 0xe0) === 0x60 ? (mem[k] as number) : (code & 0xe0) === 0x20 ? word(k) : k;
        pc++;
        break; // LDX
      case 0x02:
        mem[k] = a;
        pc++;
        break; // ST
      case 0x03:
        mem[k] = x;
        pc++;
        break; // STX
      case 0x04: {
        // ALU
        const op = code & 0xf0;
        a =
          op === 0x50
            ? (a & src) >>> 0
            : op === 0x40
              ? (a | src) >>> 0
              : op === 0x00
                ? (a + src) >>> 0
                : op === 0x10
                  ? (a - src) >>> 0
                  : op === 0x80
                    ? -a >>> 0
                    : op === 0xa0
                      ? (a ^ src) >>> 0
                      : (() => {
                          throw new Error(`alu ${code}`);
                        })();
        pc++;
        break;
      }
      case 0x05: {
        // JMP
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += 1 + k;
          break;
        }
        const taken =
          op === 0x10
            ? a === src
            : op === 0x20
              ? a > src
              : op === 0x30
                ? a >= src
                : op === 0x40
                  ? (a & src) !== 0
                  : (() => {
                      throw new Error(`jmp ${code}`);
                    })();
        pc += 1 + (taken ? jt : jf);
        break;
      }
      case 0x06:
        return ((code & 0x18) === 0x10 ? a : k) >>> 0; // RET
      case 0x07:
        if ((code & 0xf8) === 0x00) x = a;
        else a = x;
        pc++;
        break; // MISC: TAX / TXA
      default:
        throw new Error(`instruction ${code}`);
    }
  }
  throw new Error('the program ran off its end');
}

/** A one-rule program: the stub alone, then "return `fallthrough`" standing for the filter. */
const stubThen = (last: Record<string, number>, fallthrough = EPERM): Buffer =>
  Buffer.concat([assemble(enosysStub(last)), assemble([{ code: 0x06, jt: 0, jf: 0, k: fallthrough }])]);

describe('the -ENOSYS stub (runc patchbpf)', () => {
  it('answers ENOSYS above the highest call the profile names, and lets the filter decide at or below it', () => {
    const p = stubThen({ x86_64: 435 });
    expect(run(p, X86_64, 1000)).toBe(ENOSYS);
    expect(run(p, X86_64, 436)).toBe(ENOSYS);
    expect(run(p, X86_64, 435)).toBe(EPERM);
    expect(run(p, X86_64, 0)).toBe(EPERM);
  });

  it('leaves an architecture the profile does not name to the filter', () => {
    const p = stubThen({ x86_64: 435 });
    expect(run(p, AARCH64, 1000)).toBe(EPERM);
    expect(run(p, I386, 1000)).toBe(EPERM);
  });

  it('keeps x86_64 and x32 apart on their shared audit architecture (bit 30)', () => {
    const both = stubThen({ x86_64: 300, x32: X32_BIT + 200 });
    expect(run(both, X86_64, 301)).toBe(ENOSYS);
    expect(run(both, X86_64, 250)).toBe(EPERM);
    expect(run(both, X86_64, X32_BIT + 201)).toBe(ENOSYS);
    expect(run(both, X86_64, X32_BIT + 199)).toBe(EPERM);
    // One of the two named: the other's calls go to the filter.
    const x86only = stubThen({ x86_64: 300 });
    expect(run(x86only, X86_64, X32_BIT + 999)).toBe(EPERM);
    expect(run(x86only, X86_64, 999)).toBe(ENOSYS);
    const x32only = stubThen({ x32: X32_BIT + 200 });
    expect(run(x32only, X86_64, 999)).toBe(EPERM);
    expect(run(x32only, X86_64, X32_BIT + 999)).toBe(ENOSYS);
  });

  it('handles several architectures, each against its own highest call', () => {
    const p = stubThen({ x86: 400, x86_64: 300, x32: X32_BIT + 200, aarch64: 100 });
    expect(run(p, I386, 401)).toBe(ENOSYS);
    expect(run(p, I386, 350)).toBe(EPERM);
    expect(run(p, X86_64, 350)).toBe(ENOSYS);
    expect(run(p, AARCH64, 101)).toBe(ENOSYS);
    expect(run(p, AARCH64, 100)).toBe(EPERM);
  });

  it('takes a long jump where a conditional one cannot reach (more than 255 instructions)', () => {
    // A tail longer than 255 instructions after the sections: built by hand, as if many
    // architectures came before. Each section is still reached and still decides.
    const many: Record<string, number> = {};
    for (const arch of Object.keys(AUDIT_ARCH)) if (arch !== 'x32') many[arch] = 10;
    const stub = enosysStub(many);
    expect(stub.every((i) => i.jt <= 255 && i.jf <= 255)).toBe(true);
    const p = Buffer.concat([assemble(stub), assemble([{ code: 0x06, jt: 0, jf: 0, k: EPERM }])]);
    for (const [arch, audit] of Object.entries(AUDIT_ARCH)) {
      if (arch === 'x32') continue;
      expect(run(p, audit, 11), arch).toBe(ENOSYS);
      if (arch !== 's390' && arch !== 's390x') expect(run(p, audit, 5), arch).toBe(EPERM);
    }
  });

  it('on s390, also answers ENOSYS for call 0, through which unknown large numbers come', () => {
    const p = stubThen({ s390x: 300 });
    expect(run(p, AUDIT_ARCH.s390x as number, 0)).toBe(ENOSYS);
    expect(run(p, AUDIT_ARCH.s390x as number, 1)).toBe(EPERM);
  });

  it('is left out when the default lets calls through or already says ENOSYS', () => {
    expect(needsEnosysStub('SCMP_ACT_ALLOW', undefined)).toBe(false);
    expect(needsEnosysStub('SCMP_ACT_LOG', undefined)).toBe(false);
    expect(needsEnosysStub('SCMP_ACT_TRACE', undefined)).toBe(false);
    expect(needsEnosysStub('SCMP_ACT_ERRNO', 38)).toBe(false);
    expect(needsEnosysStub('SCMP_ACT_ERRNO', 1)).toBe(true);
    expect(needsEnosysStub('SCMP_ACT_ERRNO', undefined)).toBe(true);
    expect(needsEnosysStub('SCMP_ACT_KILL_PROCESS', undefined)).toBe(true);
  });
});

describe('compileSeccomp', () => {
  const profile = (change: Partial<Seccomp> = {}): Seccomp => ({
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: ['read', 'write', 'exit_group', 'clone'], action: 'SCMP_ACT_ALLOW' }],
    ...change,
  });

  it("puts the stub in front of libseccomp's filter: unknown calls ENOSYS, known refused ones EPERM", () => {
    const { program } = compileSeccomp(profile());
    if (process.arch !== 'x64') return;
    expect(run(program, X86_64, 0)).toBe(ALLOW); // read
    expect(run(program, X86_64, 1)).toBe(ALLOW); // write
    expect(run(program, X86_64, 2)).toBe(EPERM); // open: below clone (56)... named nowhere, below the highest
    expect(run(program, X86_64, 1000)).toBe(ENOSYS);
    expect(run(program, X86_64, 435)).toBe(ENOSYS); // clone3, above exit_group (231)
  });

  it('adds no stub to a profile whose default allows', () => {
    const allow = compileSeccomp(
      profile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_KILL_PROCESS' }] }),
    );
    if (process.arch !== 'x64') return;
    expect(run(allow.program, X86_64, 1000)).toBe(ALLOW);
    expect(run(allow.program, X86_64, 83)).toBe(KILL_PROCESS); // mkdir
  });

  it("answers a profile's own ENOSYS default without a stub", () => {
    const enosys = compileSeccomp(profile({ defaultErrnoRet: 38 }));
    const plain = compileSeccomp(profile());
    expect(enosys.program.length).toBeLessThan(plain.program.length);
  });

  it("compiles SCMP_ACT_NOTIFY rules with a listener, and refuses what runc refuses, in runc's words", () => {
    const notify = profile({
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: '/run/agent.sock',
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
    });
    expect(hasNotifyRules(notify)).toBe(true);
    expect(seccompFlags(notify)).toBe(8);
    const compiled = compileSeccomp(notify);
    expect(compiled.flags).toBe(8);
    if (process.arch === 'x64') expect(run(compiled.program, X86_64, 83)).toBe(0x7fc00000); // SECCOMP_RET_USER_NOTIF
    expect(() => compileSeccomp({ ...notify, syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_NOTIFY' }] })).toThrow(
      'SCMP_ACT_NOTIFY cannot be used for the write syscall',
    );
    expect(() => compileSeccomp({ ...notify, defaultAction: 'SCMP_ACT_NOTIFY', syscalls: [] })).toThrow(
      'SCMP_ACT_NOTIFY cannot be used as default action',
    );
    expect(() => compileSeccomp({ ...notify, listenerPath: '' })).toThrow('listenerPath is not set');
    // A listener path without NOTIFY rules is no listener at all.
    const none = profile({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', syscalls: [] });
    expect(hasNotifyRules(none)).toBe(false);
    expect(compileSeccomp(none).flags).toBe(0);
  });
});
