// The child's newer steps on the real kernel: step times, startContainer hooks, the seccomp
// listener handed to an agent, bind sources opened by the parent for a user namespace,
// recursive mount attributes.
import { execFileSync, spawn as spawnProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileSeccomp, mknod, MOUNT_ATTR, MS, spawn, type SpawnPlan } from '../src/index.js';
import { capture, isRoot, PATH } from './helpers.js';

const hasPython = (() => {
  try {
    execFileSync('python3', ['-c', 'import socket; socket.recv_fds']);
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!isRoot)("the child's steps (root)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'diyc-child-'));
    chmodSync(dir, 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('notes when each step starts, on a page the parent reads: in order, each with its duration', async () => {
    const target = join(dir, 'mnt');
    mkdirSync(target);
    const child = spawn({
      argv: ['true'],
      env: [PATH],
      create: ['mount', 'pid'],
      mounts: [{ op: 'mount', source: 'tmpfs', target, fstype: 'tmpfs' }],
    });
    expect((await child.exited).code).toBe(0);
    const times = child.stepTimes();
    expect(times[0]?.step).toBe('dumpable');
    expect(times.at(-1)).toMatchObject({ step: 'execve', index: 1, durationNs: null });
    expect(times.find((t) => t.step === 'mount')).toMatchObject({ index: 0 });
    for (const [i, t] of times.entries()) {
      expect(t.startNs).toBeGreaterThan(0n);
      if (i > 0) expect(t.startNs).toBeGreaterThanOrEqual((times[i - 1] as { startNs: bigint }).startNs);
      if (t.durationNs !== null) expect(t.durationNs).toBe((times[i + 1] as { startNs: bigint }).startNs - t.startNs);
    }
    // Well under a second from clone() to execve, on any machine.
    expect(Number(times.at(-1)?.startNs)).toBeLessThan(1e9);
  });

  /** Spawns `plan` waiting on a new start FIFO, then sends what `start` sends: the state for the hooks. */
  const started = async (plan: Partial<SpawnPlan> & { argv: string[] }, state: string) => {
    const fifo = join(dir, 'exec.fifo');
    rmSync(fifo, { force: true });
    mknod(fifo, 'fifo', 0o600);
    const out = join(dir, 'out');
    const fd = openSync(out, 'w');
    const child = spawn({ env: [PATH], ...plan, startFifo: fifo, stdio: [null, fd, fd] });
    closeSync(fd);
    const json = Buffer.from(state);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(json.length);
    const w = openSync(fifo, 'w');
    writeSync(w, Buffer.concat([Buffer.from([1]), length, json]));
    closeSync(w);
    const status = await child.exited;
    return { ...status, output: readFileSync(out, 'utf8') };
  };

  it('runs the startContainer hooks after start, before the command, with the state on stdin and only 0-2 open', async () => {
    const state = JSON.stringify({ ociVersion: '1.2.0', id: 'x', status: 'created', pid: 42, bundle: '/b' });
    const r = await started(
      {
        argv: ['sh', '-c', `echo command; cat ${dir}/seen`],
        startHooks: [
          {
            path: '/bin/sh',
            args: ['sh', '-c', `cat > ${dir}/stdin; ls /proc/self/fd > ${dir}/fds; echo hook $A > ${dir}/seen; echo hook output`],
            env: ['A=one'],
          },
          { path: '/bin/sh', args: ['sh', '-c', `echo second >> ${dir}/seen`] },
        ],
      },
      state,
    );
    expect(r.code).toBe(0);
    expect(r.output).toBe('hook output\ncommand\nhook one\nsecond\n');
    expect(readFileSync(join(dir, 'stdin'), 'utf8')).toBe(state);
    // 0, 1, 2 and the one ls opened to read the directory.
    expect(readFileSync(join(dir, 'fds'), 'utf8').trim().split('\n')).toHaveLength(4);
  });

  it("ends the process as runc's init does when a hook fails, times out, or is killed by the filter", async () => {
    const failed = await started(
      { argv: ['sh', '-c', 'echo never'], startHooks: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }] },
      '{}',
    );
    expect(failed).toMatchObject({ code: 1, output: 'error running hook #0: error running hook: exit status 3\n' });
    const slow = Date.now();
    const late = await started(
      { argv: ['true'], startHooks: [{ path: '/bin/true' }, { path: '/bin/sleep', args: ['sleep', '10'], timeout: 1 }] },
      '{}',
    );
    expect(late).toMatchObject({ code: 1, output: 'error running hook #1: hook ran past specified timeout of 1.0s\n' });
    expect(Date.now() - slow).toBeLessThan(5000);
    const { program, flags } = compileSeccomp({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }],
    });
    const killed = await started(
      { argv: ['true'], seccomp: { program, flags }, startHooks: [{ path: '/bin/mkdir', args: ['mkdir', join(dir, 'nope')] }] },
      '{}',
    );
    expect(killed).toMatchObject({ code: 1, output: 'error running hook #0: error running hook: signal: bad system call\n' });
    expect(existsSync(join(dir, 'nope'))).toBe(false);
  });

  it.skipIf(!hasPython)(
    "hands the filter's listener to the seccomp agent with the state; once the agent is gone, a notified call fails with ENOSYS",
    async () => {
      const socket = join(dir, 'agent.sock');
      const report = join(dir, 'report.json');
      // An agent that takes one message (as runc's seccompagent: one recvmsg, one fd), notes
      // it, and exits: the listener's last copy goes with it.
      const agent = spawnProcess(
        'python3',
        [
          '-c',
          `
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 4096, 4)
json.dump({"message": json.loads(msg), "fds": [os.readlink("/proc/self/fd/%d" % fd) for fd in fds]}, open(sys.argv[2], "w"))
`,
          socket,
          report,
        ],
        { stdio: 'inherit' },
      );
      try {
        for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 10));
        const profile = {
          defaultAction: 'SCMP_ACT_ALLOW',
          listenerPath: socket,
          listenerMetadata: 'meta',
          syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
        };
        const { program, flags } = compileSeccomp(profile);
        const state = { ociVersion: '1.2.0', id: 'box', status: 'creating', bundle: '/b', annotations: { a: 'b' } };
        const r = await capture({
          argv: ['sh', '-c', `mkdir ${dir}/made; echo $?`],
          create: ['pid'],
          seccomp: { program, flags, listener: { path: socket, metadata: 'meta', state } },
        });
        expect(r.output).toMatch(/Function not implemented\n1\n$/);
        expect(existsSync(join(dir, 'made'))).toBe(false);
        const seen = JSON.parse(readFileSync(report, 'utf8'));
        expect(seen.fds).toEqual(['anon_inode:seccomp notify']);
        expect(Object.keys(seen.message)).toEqual(['ociVersion', 'fds', 'pid', 'metadata', 'state']);
        expect(seen.message).toMatchObject({ ociVersion: '1.2.0', fds: ['seccompFd'], metadata: 'meta', state: { ...state } });
        expect(seen.message.state.pid).toBe(seen.message.pid);
        expect(seen.message.pid).toBeGreaterThan(1);
      } finally {
        agent.kill('SIGKILL');
      }
    },
  );

  it("says it could not reach the agent, in runc's words", async () => {
    const { program, flags } = compileSeccomp({
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: join(dir, 'none.sock'),
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
    });
    expect(() => spawn({ argv: ['true'], env: [PATH], seccomp: { program, flags, listener: { path: join(dir, 'none.sock') } } })).toThrow(
      /^failed to connect with seccomp agent specified in the seccomp profile: ENOENT/,
    );
  });

  it("binds, in a new user namespace, a source only the host's root can reach: the runtime opened it", async () => {
    const source = join(dir, 'private', 'dir');
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, 'foo.txt'), 'inside\n');
    chmodSync(join(dir, 'private'), 0o700);
    const target = join(dir, 'target');
    mkdirSync(target);
    const plan = (sourceByParent: boolean) => ({
      argv: ['cat', join(target, 'foo.txt')],
      create: ['user', 'mount'] as SpawnPlan['create'],
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      mounts: [{ op: 'mount' as const, source, target, flags: MS.BIND, sourceByParent }],
    });
    expect(() => spawn({ env: [PATH], ...plan(false) })).toThrow(/EACCES/);
    expect(await capture(plan(true))).toMatchObject({ code: 0, output: 'inside\n' });
  });

  it('makes a bind read-only all the way down with mount_setattr(2) (rro), where ro reaches the top mount only', async () => {
    const source = join(dir, 'vol');
    const sub = join(source, 'sub');
    mkdirSync(sub, { recursive: true });
    const target = join(dir, 'mnt');
    mkdirSync(target);
    execFileSync('mount', ['-t', 'tmpfs', 'none', sub]);
    try {
      const touch = `touch ${target}/a 2>/dev/null; echo top=$?; touch ${target}/sub/b 2>/dev/null; echo sub=$?`;
      const bind = { op: 'mount' as const, source, target, flags: MS.BIND | MS.REC };
      const ro = { op: 'mount' as const, target, flags: MS.REMOUNT | MS.BIND | MS.RDONLY, keepFlags: true };
      expect((await capture({ argv: ['sh', '-c', touch], create: ['mount'], mounts: [bind, ro] })).output).toBe('top=1\nsub=0\n');
      const rro = { op: 'setattr' as const, target, set: MOUNT_ATTR.RDONLY, clear: 0 };
      expect((await capture({ argv: ['sh', '-c', touch], create: ['mount'], mounts: [bind, rro] })).output).toBe('top=1\nsub=1\n');
    } finally {
      execFileSync('umount', [sub]);
    }
  });
});
