// nsexec, run as a user runs it, checked from inside the namespaces it makes.
import { execFileSync, spawn as spawnProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxTarball, isRoot, onTerminal, rootReason, runBin, runCommand, tempDir, userEnv } from './helpers.js';

describe('nsexec: bad input (any user)', () => {
  it('prints usage and exits 2 on an unknown flag', async () => {
    const r = await runBin('nsexec', ['--bogus', 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown option --bogus');
    expect(r.stderr).toContain('usage: nsexec');
  });

  it('exits 2 without a command', async () => {
    const r = await runBin('nsexec', ['-p']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing CMD/);
  });

  it('refuses a hostname over 64 bytes or with invalid characters before doing anything', async () => {
    const long = await runBin('nsexec', ['-u', 'a'.repeat(65), 'true']);
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('at most 64 bytes');
    const bad = await runBin('nsexec', ['-u', 'no_way!', 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a valid hostname');
  });

  it('says in one line that it needs root', async () => {
    const r = await runCommand('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'nsexec', '-p', 'true'], { env: userEnv() });
    expect(r.code).toBe(125);
    expect(r.stderr.trim()).toBe('nsexec: nsexec needs root to create namespaces: run it with sudo');
  });

  it('shows help with --help and exits 0, but passes --help after the command to it', async () => {
    const help = await runBin('nsexec', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--pid');
    if (!isRoot) return;
    const passed = await runBin('nsexec', ['printf', '%s\\n', '--help']);
    expect(passed.stdout).toBe('--help\n');
  });
});

describe.skipIf(!isRoot)(`nsexec (${rootReason})`, () => {
  it('-p: the command is PID 1 and ps shows only its own processes', async () => {
    const r = await runBin('nsexec', ['-p', 'sh', '-c', 'echo $$; busybox ps -o pid,comm']);
    expect(r.code).toBe(0);
    const [pid, , ...procs] = r.stdout.trim().split('\n');
    expect(pid).toBe('1');
    expect(procs.map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual(['1 sh', expect.stringMatching(/^\d+ busybox$/)]);
  });

  it('-u: hostname is HOST inside, unchanged outside', async () => {
    const before = hostname();
    const r = await runBin('nsexec', ['-u', 'myhost', 'hostname']);
    expect(r.stdout).toBe('myhost\n');
    expect(hostname()).toBe(before);
  });

  it('-pnu HOST as in diyC: PID 1, named HOST, only lo', async () => {
    const r = await runBin('nsexec', ['-pnu', 'myhost', 'sh', '-c', 'echo $$ $(hostname); ip -o link | cut -d: -f2']);
    expect(r.stdout).toBe('1 myhost\n lo\n');
  });

  it('always makes a private mount namespace: a mount inside is not seen outside', async () => {
    const dir = tempDir();
    try {
      const r = await runBin('nsexec', [
        'sh',
        '-c',
        `mount -t tmpfs none ${dir.path} && touch ${dir.path}/x && grep -c ' ${dir.path} ' /proc/self/mountinfo`,
      ]);
      expect(r.stdout).toBe('1\n');
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${dir.path} `);
      expect(existsSync(join(dir.path, 'x'))).toBe(false);
    } finally {
      dir.remove();
    }
  });

  it('-i and -C: new IPC and cgroup namespaces; in the cgroup one, its own cgroup is the root', async () => {
    const host = (ns: string) => execFileSync('readlink', [`/proc/self/ns/${ns}`], { encoding: 'utf8' }).trim();
    const r = await runBin('nsexec', [
      '-i',
      '-C',
      'sh',
      '-c',
      'readlink /proc/self/ns/ipc /proc/self/ns/cgroup; cut -d: -f3 /proc/self/cgroup | sort -u',
    ]);
    const [ipc, cgroup, ...paths] = r.stdout.trim().split('\n');
    expect(ipc).not.toBe(host('ipc'));
    expect(cgroup).not.toBe(host('cgroup'));
    expect(paths).toEqual(['/']);
  });

  it('--netns joins a named network namespace', async () => {
    const name = `diyc-e2e-${process.pid}`;
    execFileSync('ip', ['netns', 'add', name]);
    try {
      execFileSync('ip', ['-n', name, 'link', 'add', 'diyct0', 'type', 'veth', 'peer', 'name', 'diyct1']);
      const r = await runBin('nsexec', ['--netns', name, 'ip', '-o', 'link']);
      expect(r.stdout).toContain('diyct0');
    } finally {
      execFileSync('ip', ['netns', 'delete', name]);
    }
  });

  describe('--root', () => {
    // Made in beforeAll: a run filtered to other tests makes none, so leaves none.
    let root = { path: '', remove: () => {} };
    beforeAll(async () => {
      root = tempDir('diyc-nsexec-root-');
      await tar.extract({ file: busyboxTarball(), cwd: root.path });
    });
    afterAll(() => root.remove());

    it('shows the new root and no trace of the old one', async () => {
      const r = await runBin('nsexec', ['-p', '--root', root.path, '/bin/sh', '-c', 'ls /; echo ---; cat /proc/self/mountinfo']);
      expect(r.code, r.stderr).toBe(0);
      const [listing = '', mountinfo = ''] = r.stdout.split('---\n');
      expect(listing.trim().split('\n')).toEqual([
        'bin',
        'dev',
        'etc',
        'home',
        'linuxrc',
        'mnt',
        'proc',
        'root',
        'run',
        'sbin',
        'sys',
        'tmp',
        'usr',
        'var',
      ]);
      // No mount point outside the new root survives the pivot: the old root is detached.
      const mountPoints = mountinfo
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[4]);
      expect(mountPoints.every((m) => m === '/' || /^\/(proc|dev|sys)(\/|$)/.test(m ?? ''))).toBe(true);
    });

    it('mounts /proc, a minimal /dev and a read-only /sys inside', async () => {
      const r = await runBin('nsexec', [
        '-p',
        '--root',
        root.path,
        '/bin/sh',
        '-c',
        'ls /dev | tr "\\n" " "; echo; echo hi > /dev/null && echo null-ok; touch /sys/x 2>/dev/null || echo sys-ro; cut -d" " -f5 /proc/self/mountinfo | tr "\\n" " "',
      ]);
      const [dev, nullOk, sysRo, mounts] = r.stdout.trim().split('\n');
      expect(dev?.trim().split(' ').sort()).toEqual([
        'fd',
        'full',
        'null',
        'ptmx',
        'pts',
        'random',
        'shm',
        'stderr',
        'stdin',
        'stdout',
        'tty',
        'urandom',
        'zero',
      ]);
      expect(nullOk).toBe('null-ok');
      expect(sysRo).toBe('sys-ro');
      expect(mounts?.trim().split(' ')).toEqual(['/', '/proc', '/dev', '/dev/pts', '/dev/shm', '/sys']);
    });
  });

  describe('exit status', () => {
    it("is the command's own", async () => {
      expect((await runBin('nsexec', ['sh', '-c', 'exit 7'])).code).toBe(7);
    });

    it('is 128+N when signal N ends the command', async () => {
      expect((await runBin('nsexec', ['sh', '-c', 'kill -TERM $$'])).code).toBe(143);
    });

    it('is 127 with "command not found" for a missing command', async () => {
      const r = await runBin('nsexec', ['-p', 'no-such-command-diyc']);
      expect(r.code).toBe(127);
      expect(r.stderr.trim()).toBe('nsexec: no-such-command-diyc: command not found');
    });

    it('is 126 for a file that is not executable', async () => {
      const r = await runBin('nsexec', ['/etc/hostname']);
      expect(r.code).toBe(126);
      expect(r.stderr).toContain('/etc/hostname: cannot execute');
    });
  });

  it('passes SIGTERM, SIGINT, SIGHUP, SIGUSR1 on to the command', async () => {
    for (const [sig, num] of [
      ['SIGTERM', 15],
      ['SIGINT', 2],
      ['SIGHUP', 1],
      ['SIGUSR1', 10],
    ] as const) {
      const child = spawnProcess(
        'nsexec',
        ['-p', 'sh', '-c', `trap "exit ${num}" ${sig.slice(3)}; echo ready; while :; do sleep 0.05; done`],
        { env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      child.kill(sig);
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code, sig).toBe(num);
    }
  });

  it('-v traces each step as HOST| and CONTAINER| lines', async () => {
    const r = await runBin('nsexec', ['-v', '-pu', 'box', 'true']);
    expect(r.stderr).toContain('HOST| namespaces: new mount, pid, uts');
    expect(r.stderr).toContain('CONTAINER| sethostname box');
    expect(r.stderr).toContain('CONTAINER| mount proc on /proc');
    expect(r.stderr).toContain('HOST| exec true');
  });

  it('gives a usable interactive shell on a terminal (tmux)', async () => {
    await onTerminal(['nsexec', '-pu', 'box', 'sh'], {}, async (t) => {
      await t.screen(/#\s*$/m);
      t.keys('echo "pid=$$ host=$(hostname)"', 'Enter');
      await t.screen(/pid=1 host=box/);
      // Ctrl-C reaches the shell's foreground job, not nsexec.
      t.keys('sleep 30', 'Enter');
      await new Promise((r) => setTimeout(r, 200));
      t.keys('C-c');
      t.keys('echo still-here', 'Enter');
      await t.screen(/^still-here$/m);
      t.keys('exit 3', 'Enter');
      expect(await t.exitStatus()).toBe('3');
    });
  });
});
