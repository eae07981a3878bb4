// A container never holds a host file through the stdio diyc hands it. Any process of the
// container can reopen another's descriptors through /proc/PID/fd/N (a magic link: opened
// anew for writing with root's capabilities, and chmod goes to the inode behind it), so
// `diyc run -i c < notes.txt`, `diyc exec c cmd > out.log` or a shell's /dev/null would
// give the container a host file to write, truncate or chmod. Each case here hands diyc a
// host file of the test's (mode 0444) and has the container try exactly that: the file
// must stay as it was, and the command must still read its input and write its output.
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { busyboxTarball, isRoot, rootReason, runBin, runCommand, tempDir, userEnv } from './helpers.js';

describe.skipIf(!isRoot)(`diyc run -i and exec never hand the container a host file (${rootReason})`, () => {
  const work = tempDir('diyc-host-fds-e2e-');
  const root = join(work.path, 'state');
  const parent = `diyc-e2e-fds-${process.pid}`;
  const env = { ...process.env, DIYC_ROOT: root, DIYC_CGROUP_PARENT: parent };
  const diyc = (args: string[]) => runBin('diyc', args, { env, timeoutMs: 60_000 });
  const sh = (script: string) => runCommand('sh', ['-c', script], { env: userEnv(env), timeoutMs: 60_000 });
  const cgroups = createCgroupManager({ parent });
  const box = `fds-${process.pid}`;
  /** A host file of the test's, read-only, with `text` in it. */
  const hostFile = (name: string, text: string): string => {
    const path = join(work.path, name);
    writeFileSync(path, text);
    chmodSync(path, 0o444);
    return path;
  };
  const modeOf = (path: string): string => (statSync(path).mode & 0o7777).toString(8);
  // What a hostile process does with a descriptor it reaches: says what it is, then writes through it and chmods it.
  const attack = (fd: string): string => `readlink ${fd}; chmod 666 ${fd}; echo PWNED > ${fd}`;

  beforeAll(async () => {
    expect((await runBin('diyc-image', ['unpack', busyboxTarball()], { env })).code).toBe(0);
    const r = await diyc(['run', '-d', '--name', box, '--net', 'none', '--pull', 'never', 'busybox', 'sleep', '300']);
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    await diyc(['rm', '-f', box]);
    for (const n of cgroups.list()) cgroups.remove(cgroups.pathOf(n), { force: true });
    cgroups.pruneParent();
    work.remove();
  });

  it('run -i < FILE: the container reads FILE through a pipe, and cannot write or chmod it', async () => {
    const input = hostFile('run-input', 'the input\n');
    const r = await sh(`diyc run -i --rm --net none --pull never busybox sh -c 'cat; ${attack('/proc/1/fd/0')}' < ${input} 2>&1`);
    expect(r.stdout).toMatch(/^the input\npipe:\[\d+\]\n/);
    expect([readFileSync(input, 'utf8'), modeOf(input)]).toEqual(['the input\n', '444']);
  });

  it('exec < FILE > FILE: no host file on 0, 1 or 2 (no input without -i, as docker); -i reads it, output still lands', async () => {
    const input = hostFile('exec-input', 'exec input\n');
    const output = join(work.path, 'exec-output');
    const script = `cat; for fd in 0 1 2; do readlink /proc/self/fd/$fd; done; chmod 666 /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2; echo PWNED > /proc/self/fd/0`;
    for (const interactive of [false, true]) {
      writeFileSync(output, '');
      chmodSync(output, 0o600);
      const r = await sh(`diyc exec ${interactive ? '-i ' : ''}${box} sh -c '${script}' < ${input} > ${output} 2>&1`);
      expect(r.code, r.stderr).toBe(0);
      const lines = readFileSync(output, 'utf8').split('\n');
      // Its output went to the host file, through a pipe of diyc's: the container never held the file.
      expect(
        lines.slice(interactive ? 1 : 0, (interactive ? 1 : 0) + 3).every((l) => /^pipe:\[\d+\]$/.test(l)),
        lines.join('\n'),
      ).toBe(true);
      if (interactive) expect(lines[0]).toBe('exec input');
      expect([readFileSync(input, 'utf8'), modeOf(input), modeOf(output)]).toEqual(['exec input\n', '444', '600']);
    }
  });

  it('exec -d: the process left running holds none of the host files diyc was given', async () => {
    const input = hostFile('detached-input', 'detached input\n');
    const output = hostFile('detached-output', 'detached output\n');
    const r = await sh(
      `diyc exec -d ${box} sh -c '(for fd in 0 1 2; do readlink /proc/$$/fd/$fd; done) > /tmp/fds; chmod 666 /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2; echo PWNED > /proc/self/fd/0; echo PWNED > /proc/self/fd/1; sleep 1' < ${input} >> ${output} 2>> ${output}`,
    );
    expect(r.code, r.stderr).toBe(0);
    await new Promise((done) => setTimeout(done, 500));
    const fds = (await diyc(['exec', box, 'cat', '/tmp/fds'])).stdout.split('\n').filter(Boolean);
    expect(fds).toHaveLength(3);
    for (const fd of fds) expect(fd.startsWith(work.path), fds.join('\n')).toBe(false);
    expect([readFileSync(input, 'utf8'), modeOf(input), readFileSync(output, 'utf8'), modeOf(output)]).toEqual([
      'detached input\n',
      '444',
      'detached output\n',
      '444',
    ]);
  });
});
