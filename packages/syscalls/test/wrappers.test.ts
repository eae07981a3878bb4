import {
  closeSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getSystemErrorMap } from 'node:util';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  errnoName,
  lgetxattr,
  llistxattr,
  lsetxattr,
  mknod,
  mount,
  sendfile,
  setLinkUp,
  sha256File,
  signalIf,
  statfsType,
  umount2,
  writeNewFile,
} from '../src/index.js';
import { native } from '../src/binding.js';
import { isRoot } from './helpers.js';

const TMPFS_MAGIC = 0x01021994;

describe('system call wrappers', () => {
  it('throws errors shaped like node:fs errors', () => {
    expect(() => umount2('/nonexistent/diyc')).toThrow(
      expect.objectContaining({
        code: 'ENOENT',
        errno: -2,
        syscall: 'umount2',
        path: '/nonexistent/diyc',
        message: "ENOENT: no such file or directory, umount2 '/nonexistent/diyc'",
      }),
    );
  });

  it("names each errno as Node does, the common ones without Node's table too", () => {
    const nodes = getSystemErrorMap();
    for (const [name, errno] of Object.entries(constants.errno)) {
      const node = nodes.get(-errno);
      if (node) expect(errnoName(errno), name).toEqual(node);
      else expect(errnoName(errno)[0], name).toMatch(/^E[A-Z0-9]+$/);
    }
    expect(errnoName(3)).toEqual(['ESRCH', 'no such process']);
    expect(errnoName(100000)).toEqual(['UNKNOWN', 'unknown error 100000']);
  });

  it.skipIf(!isRoot)('sets a link up and down as ip link set does (root: a veth pair of its own)', () => {
    const name = `dsl${process.pid}`;
    const isUp = () => (Number.parseInt(readFileSync(`/sys/class/net/${name}/flags`, 'utf8'), 16) & 1) === 1;
    execFileSync('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
    try {
      expect(isUp()).toBe(false);
      setLinkUp(name, true);
      expect(isUp()).toBe(true);
      setLinkUp(name, false);
      expect(isUp()).toBe(false);
    } finally {
      execFileSync('ip', ['link', 'del', name]);
    }
    expect(() => setLinkUp(name, false)).toThrow(expect.objectContaining({ code: 'ENODEV', syscall: 'ioctl' }));
    expect(() => setLinkUp('x'.repeat(16), false)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it.skipIf(!isRoot)('mounts and unmounts a tmpfs (root)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-wrap-'));
    try {
      mount('tmpfs', dir, 'tmpfs', 0, 'size=1m');
      try {
        expect(statfsType(dir)).toBe(TMPFS_MAGIC);
        expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(` ${dir} `);
      } finally {
        umount2(dir);
      }
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${dir} `);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!isRoot)('makes device nodes and reads back extended attributes (root)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-wrap-'));
    try {
      mknod(join(dir, 'whiteout'), 'char', 0o000, 0, 0);
      const file = join(dir, 'f');
      writeFileSync(file, '');
      lsetxattr(file, 'trusted.diyc.test', Buffer.from('y'));
      expect(lgetxattr(file, 'trusted.diyc.test')?.toString()).toBe('y');
      expect(llistxattr(file)).toContain('trusted.diyc.test');
      expect(lgetxattr(file, 'trusted.diyc.absent')).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('copies a range of one file to another in the kernel, and stops where the source ends', () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-wrap-'));
    try {
      writeFileSync(join(dir, 'in'), 'abcdefghij');
      const input = openSync(join(dir, 'in'), 'r');
      const output = openSync(join(dir, 'out'), 'w');
      try {
        expect(sendfile(output, input, 2, 3)).toBe(3);
        expect(sendfile(output, input, 8, 100)).toBe(2); // the source ends after 2
        // The source's own offset did not move: a read from it starts at its beginning.
        const head = Buffer.alloc(1);
        readSync(input, head, 0, 1, null);
        expect(head.toString()).toBe('a');
      } finally {
        closeSync(input);
        closeSync(output);
      }
      expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('cdeij');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("hashes a file on libuv's thread pool as node:crypto does; a NUL in the path is refused, an unreadable file named", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-wrap-'));
    try {
      // Over two of the thread's 1 MB reads, ending inside a third.
      const data = Buffer.alloc((2 << 20) + 777);
      for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
      writeFileSync(join(dir, 'f'), data);
      expect(await sha256File(join(dir, 'f')).digest).toBe(createHash('sha256').update(data).digest('hex'));
      expect(() => sha256File(`${dir}/f\0x`)).toThrow(/NUL byte/);
      // The binding itself refuses a stop flag with no room for the flag (its thread would read nothing).
      expect(() => native().sha256File(join(dir, 'f'), new Int32Array(0))).toThrow(TypeError);
      await expect(sha256File(join(dir, 'none')).digest).rejects.toMatchObject({
        code: 'ENOENT',
        syscall: 'open',
        path: join(dir, 'none'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('signals a process only while the check says it is the one, and says false once it is gone', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
    const pid = child.pid as number;
    try {
      let checks = 0;
      expect(
        signalIf(pid, constants.signals.SIGTERM, () => {
          checks++;
          return false; // not the process we mean: no signal
        }),
      ).toBe(false);
      expect(checks).toBe(1);
      expect(signalIf(pid, 0, () => true)).toBe(true); // still alive: the refusal sent nothing
      expect(signalIf(pid, constants.signals.SIGTERM, () => true)).toBe(true);
      expect(await exited).toBe('SIGTERM');
      // Reaped: its pid names no process. Signal 0, which is no signal: were the pid taken by
      // another process already, that one must not be hurt.
      expect(signalIf(pid, 0, () => true)).toBe(false);
      expect(() => signalIf(0, 15, () => true)).toThrow(RangeError);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('makes a new file in one call: its body, mode and times; never over a name that is there, nor through a symlink', () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-wrap-'));
    const umask = process.umask(0);
    try {
      const file = join(dir, 'f');
      writeNewFile(file, 0o640, Buffer.from('..body..'), 2, 6, null, 1_500_000_000, 1_600_000_000.5);
      const st = lstatSync(file);
      expect([readFileSync(file, 'utf8'), (st.mode & 0o7777).toString(8), st.atimeMs, st.mtimeMs]).toEqual([
        'body',
        '640',
        1_500_000_000_000,
        1_600_000_000_500,
      ]);
      expect(() => writeNewFile(file, 0o644, Buffer.alloc(0), 0, 0, null, 0, 0)).toThrow(
        expect.objectContaining({ code: 'EEXIST', syscall: 'open', path: file }),
      );
      symlinkSync(join(dir, 'target'), join(dir, 'link'));
      expect(() => writeNewFile(join(dir, 'link'), 0o644, Buffer.alloc(0), 0, 0, null, 0, 0)).toThrow(
        expect.objectContaining({ code: 'EEXIST' }),
      );
      expect(() => readFileSync(join(dir, 'target'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      expect(() => writeNewFile(join(dir, 'g'), 0o644, Buffer.alloc(4), 2, 8, null, 0, 0)).toThrow(
        expect.objectContaining({ code: 'EINVAL' }),
      );
      expect(() => writeNewFile(join(dir, 'h'), 0o644, Buffer.alloc(0), 0, 0, { uid: 2 ** 32, gid: 0 }, 0, 0)).toThrow(RangeError);
    } finally {
      process.umask(umask);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // A red-team find: these differed from what node:fs does, so a layer's file got other
  // times, or another name, when its body was read with its header.
  it('does what node:fs does with a NUL in the path and with times: refused; a time before 1970 is now, the others to the microsecond', () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-wrap-'));
    const umask = process.umask(0);
    try {
      expect(() => writeNewFile(join(dir, 'n\0ul'), 0o644, Buffer.alloc(0), 0, 0, null, 0, 0)).toThrow('a path with a NUL byte');
      expect(readdirSync(dir)).toEqual([]);
      const file = join(dir, 'f');
      const before = Date.now();
      writeNewFile(file, 0o644, Buffer.alloc(0), 0, 0, null, -1.5, 1_600_000_000.1234567);
      const st = lstatSync(file, { bigint: true });
      expect(st.mtimeNs).toBe(1_600_000_000_123_456_000n);
      expect(Number(st.atimeNs / 1_000_000n)).toBeGreaterThanOrEqual(before - 1000);
      for (const t of [1e19, 1e300]) {
        expect(() => writeNewFile(join(dir, 'g'), 0o644, Buffer.alloc(0), 0, 0, null, 0, t)).toThrow(
          expect.objectContaining({ code: 'EINVAL' }),
        );
      }
    } finally {
      process.umask(umask);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
