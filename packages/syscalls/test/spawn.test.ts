// spawn() on the real kernel: each namespace is checked from inside the child.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn, type SyscallError } from '../src/index.js';
import { capture, isRoot, PATH } from './helpers.js';

describe.skipIf(!isRoot)('spawn (root: creates namespaces)', () => {
  it('runs the command as PID 1 of a new PID namespace', async () => {
    const r = await capture({ argv: ['sh', '-c', 'echo $$'], create: ['pid'] });
    expect(r).toMatchObject({ code: 0, signal: null, output: '1\n' });
  });

  it("sets the hostname in a new UTS namespace and leaves the host's alone", async () => {
    const before = hostname();
    const r = await capture({
      argv: ['sh', '-c', 'hostname; domainname 2>/dev/null || cat /proc/sys/kernel/domainname'],
      create: ['uts'],
      hostname: 'inner',
      domainname: 'diyc',
    });
    expect(r.output).toBe('inner\ndiyc\n');
    expect(hostname()).toBe(before);
  });

  it('gives a new network namespace only a loopback interface', async () => {
    const r = await capture({ argv: ['ip', '-o', 'link'], create: ['network'] });
    expect(r.code).toBe(0);
    const names = r.output
      .trim()
      .split('\n')
      .map((l) => l.split(':')[1]?.trim());
    expect(names).toEqual(['lo']);
  });

  it('keeps a mount made inside a new mount namespace away from the host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-mnt-'));
    try {
      const r = await capture({
        argv: ['sh', '-c', `echo secret > ${dir}/file && grep -c " ${dir} " /proc/self/mountinfo`],
        create: ['mount'],
        mounts: [{ op: 'mount', source: 'tmpfs', target: dir, fstype: 'tmpfs' }],
      });
      expect(r.output).toBe('1\n');
      expect(readdirSync(dir)).toEqual([]);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${dir} `);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('joins a named network namespace by path', async () => {
    const name = `diyc-test-${process.pid}`;
    execFileSync('ip', ['netns', 'add', name]);
    try {
      const want = statSync(`/run/netns/${name}`).ino;
      const r = await capture({
        argv: ['stat', '-L', '-c', '%i', '/proc/self/ns/net'],
        join: [{ type: 'network', path: `/run/netns/${name}` }],
      });
      expect(Number(r.output.trim())).toBe(want);
    } finally {
      execFileSync('ip', ['netns', 'delete', name]);
    }
  });

  it('pivots into a new root and detaches the old one', async () => {
    const root = mkdtempSync(join(tmpdir(), 'diyc-root-'));
    try {
      for (const d of ['bin', 'proc']) execFileSync('mkdir', ['-p', join(root, d)]);
      execFileSync('cp', ['/bin/busybox', join(root, 'bin', 'busybox')]);
      const r = await capture({
        argv: ['/bin/busybox', 'sh', '-c', 'echo $(/bin/busybox ls /); /bin/busybox cat /proc/self/mountinfo'],
        env: ['PATH=/bin'],
        create: ['mount', 'pid'],
        mounts: [{ op: 'mount', source: 'proc', target: '/proc', fstype: 'proc' }],
        root,
      });
      expect(r.code).toBe(0);
      const [listing, ...mountinfo] = r.output.split('\n');
      expect(listing?.split(/\s+/).sort()).toEqual(['bin', 'proc']);
      // Only the new root and its /proc are mounted: nothing of the host's tree.
      const mountPoints = mountinfo.filter((l) => l.trim()).map((l) => l.split(' ')[4]);
      expect(mountPoints).toEqual(['/', '/proc']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('holds the child before its first step until released', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-hold-'));
    try {
      const marker = join(dir, 'ran');
      const child = spawn({ argv: ['touch', marker], env: [PATH], hold: true });
      await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(marker)).toBe(false);
      await child.release();
      expect(await child.exited).toEqual({ code: 0, signal: null });
      expect(existsSync(marker)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs release's meanwhile beside the child it lets go, and rejects with what meanwhile throws", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-meanwhile-'));
    try {
      const marker = join(dir, 'ran');
      const child = spawn({ argv: ['touch', marker], env: [PATH], hold: true });
      let sawIt = false;
      await child.release({
        // The child runs while meanwhile does: it makes the file meanwhile waits for.
        meanwhile: () => {
          const pause = new Int32Array(new SharedArrayBuffer(4));
          for (let i = 0; i < 500 && !sawIt; i++) {
            sawIt = existsSync(marker);
            if (!sawIt) Atomics.wait(pause, 0, 0, 10);
          }
        },
      });
      expect(sawIt).toBe(true);
      expect(await child.exited).toEqual({ code: 0, signal: null });

      const sleeper = spawn({ argv: ['sleep', '30'], env: [PATH], hold: true });
      await expect(
        sleeper.release({
          meanwhile: () => {
            throw new Error('the caller failed');
          },
        }),
      ).rejects.toThrow('the caller failed');
      sleeper.kill('SIGKILL');
      expect(await sleeper.exited).toEqual({ code: null, signal: 9 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports the step, syscall, code and path of a failed mount', () => {
    let error: SyscallError | undefined;
    try {
      spawn({
        argv: ['true'],
        env: [PATH],
        create: ['mount'],
        mounts: [{ op: 'mount', source: 'tmpfs', target: '/nonexistent/diyc', fstype: 'tmpfs' }],
      });
    } catch (err) {
      error = err as SyscallError;
    }
    expect(error).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'openat2', step: 'resolve', path: '/nonexistent/diyc' });
  });
});

describe('spawn', () => {
  it('reports a command that is not found as ENOENT from execve, with its name', () => {
    expect(() => spawn({ argv: ['no-such-command-diyc'], env: [PATH] })).toThrow(
      expect.objectContaining({
        code: 'ENOENT',
        syscall: 'execve',
        step: 'execve',
        path: 'no-such-command-diyc',
      }),
    );
  });

  it('reports a file that is not executable as EACCES', () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-exec-'));
    try {
      writeFileSync(join(dir, 'script'), 'echo hi\n', { mode: 0o644 });
      expect(() => spawn({ argv: [join(dir, 'script')], env: [PATH] })).toThrow(expect.objectContaining({ code: 'EACCES' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes exactly the environment given', async () => {
    const r = await capture({ argv: ['env'], env: [PATH, 'ONLY=this'] });
    expect(r.output.trim().split('\n').sort()).toEqual(['ONLY=this', PATH]);
  });

  it('reports the exit code, and death by signal as a signal number', async () => {
    expect(await capture({ argv: ['sh', '-c', 'exit 7'] })).toMatchObject({ code: 7, signal: null });
    expect(await capture({ argv: ['sh', '-c', 'kill -KILL $$'] })).toMatchObject({ code: null, signal: 9 });
  });

  it('waits without blocking the event loop', async () => {
    const child = spawn({ argv: ['sleep', '0.4'], env: [PATH] });
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
    }, 20);
    await child.exited;
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
  });

  it('resets signals Node ignores (SIGPIPE) to their default in the command', async () => {
    const r = await capture({ argv: ['sh', '-c', 'grep SigIgn /proc/self/status'] });
    expect(r.output).toMatch(/SigIgn:\s+0+\n/);
  });
});

describe('spawn: the child lets go of what is not its own', () => {
  it('an abandoned held child exits instead of waiting forever on its own hold pipe', async () => {
    const child = spawn({ argv: ['true'], env: [PATH], hold: true });
    child.abandon();
    const status = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r('still waiting'), 3000))]);
    expect(status).toEqual({ code: 127, signal: null });
  });

  // (A stray descriptor without close-on-exec, closed all the same, is tried end to end
  // in test-e2e/breakout.test.ts: Node opens its own close-on-exec.)
  it('passes on the descriptors asked for, though Node opened them close-on-exec', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-fds-'));
    const kept = openSync(dir, 'r');
    try {
      const r = await capture({ argv: ['sh', '-c', `test -e /proc/self/fd/${kept} && echo kept`], keepFds: [kept] });
      expect(r.output).toBe('kept\n');
    } finally {
      closeSync(kept);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
