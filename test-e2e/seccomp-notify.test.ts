// seccomp notify (SCMP_ACT_NOTIFY): diyc-oci hands the filter's listener to the agent named by
// linux.seccomp.listenerPath, with the container's state, as runc does; the agent answers the
// calls it is asked about. The agent is test-e2e/seccomp-agent.c, run on the host.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { isRoot, ociBundle, repo, rootReason, runBin, runCommand, tempDir } from './helpers.js';

describe.skipIf(!isRoot)(`seccomp notify (${rootReason})`, () => {
  const work = tempDir('diyc-seccomp-e2e-');
  const root = join(work.path, 'root');
  const parent = `diyc-e2e-seccomp-${process.pid}`;
  const agentBin = join(work.path, 'seccomp-agent');
  const ids = new Set<string>();
  let agent: ChildProcess | undefined;

  /** Starts the agent on its socket; `exit`: it takes the listener and ends at once. */
  const startAgent = async (mode: 'continue' | 'exit'): Promise<{ socket: string; report: string }> => {
    const socket = join(work.path, `agent-${mode}.sock`);
    const report = join(work.path, `agent-${mode}.txt`);
    agent = spawn(agentBin, [socket, report, mode], { stdio: 'inherit' });
    for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 10));
    return { socket, report };
  };

  /** Runs `script` in a container whose filter notifies the agent of chmod and mkdir calls. */
  const runNotified = async (id: string, socket: string, script: string) => {
    ids.add(id);
    const dir = await ociBundle(join(work.path, id), script, `/${parent}/${id}`, (config) => {
      config.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        listenerPath: socket,
        listenerMetadata: 'from-the-test',
        syscalls: [{ names: ['chmod', 'fchmod', 'fchmodat', 'mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
      };
    });
    return runBin('diyc-oci', ['--root', root, 'run', '--bundle', dir, id], { timeoutMs: 30_000 });
  };

  beforeAll(async () => {
    mkdirSync(root, { recursive: true });
    const built = await runCommand('gcc', ['-O2', '-Wall', '-o', agentBin, join(repo, 'test-e2e', 'seccomp-agent.c')]);
    expect(built.code, built.stderr).toBe(0);
  });
  afterEach(() => {
    agent?.kill('SIGKILL');
    agent = undefined;
  });
  afterAll(async () => {
    for (const id of ids) await runBin('diyc-oci', ['--root', root, 'delete', '--force', id]);
    createCgroupManager({ parent }).pruneParent();
    work.remove();
  });

  it("gives the agent the listener with the container's state; its answers reach the container", async () => {
    const { socket, report } = await startAgent('continue');
    const r = await runNotified('notify', socket, 'touch /tmp/f; chmod 600 /tmp/f; echo chmod=$?; mkdir /tmp/d && echo made');
    expect(r.code, r.stderr).toBe(0);
    // The agent failed chmod with ENOMEDIUM and let mkdir go on.
    expect(r.stdout).toContain('chmod=1');
    expect(r.stderr).toMatch(/No medium found/);
    expect(r.stdout).toContain('made');
    const [line] = readFileSync(report, 'utf8').trim().split('\n');
    const [json, fd] = (line as string).split('\t');
    expect(fd).toBe('anon_inode:seccomp notify');
    const message = JSON.parse(json as string);
    expect(message).toMatchObject({ fds: ['seccompFd'], metadata: 'from-the-test', state: { id: 'notify', status: 'creating' } });
    expect(message.pid).toBeGreaterThan(0);
    expect(message.state.pid).toBe(message.pid);
  });

  it('once the agent is gone, the calls it was asked about fail with ENOSYS; a profile naming no agent is refused', async () => {
    const { socket } = await startAgent('exit');
    const r = await runNotified('gone', socket, 'touch /tmp/f; chmod 600 /tmp/f; echo chmod=$?');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('chmod=1');
    expect(r.stderr).toMatch(/Function not implemented/);
    const missing = await runNotified('nowhere', join(work.path, 'no-agent.sock'), 'true');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('failed to connect with seccomp agent specified in the seccomp profile');
  });
});
