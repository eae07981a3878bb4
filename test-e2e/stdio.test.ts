// Every command works with any stdio, as engines and shells hand it: containerd's shim
// starts diyc-oci with fds 0, 1 and 2 on /dev/null opened read-only (go-runc's NullIO);
// a shell may close fds 1 and 2; a pipeline's reader may be gone; a supervisor may give a
// socket whose peer has closed. The exit code is the command's own in every case, and
// diyc-oci's errors still reach --log. diyc-oci create runs against a real bundle with its
// own --root and cgroup parent.
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { busyboxTarball, isRoot, repo, rootReason, runBin, runCommand, tempDir, userEnv } from './helpers.js';

const work = tempDir('diyc-stdio-e2e-');
afterAll(() => work.remove());
const env = userEnv({ ...process.env, DIYC_ROOT: join(work.path, 'state') });

type Kind = 'read-only /dev/null on 0, 1 and 2' | 'fds 1 and 2 closed' | 'a pipe whose reader is gone' | 'a socket whose reader is gone';
const kinds: Kind[] = [
  'read-only /dev/null on 0, 1 and 2',
  'fds 1 and 2 closed',
  'a pipe whose reader is gone',
  'a socket whose reader is gone',
];

let fifos = 0;
/** A pipe whose reader is gone: a FIFO opened for writing, its only reader then closed. */
function deadPipe(): number {
  const fifo = join(work.path, `fifo-${fifos++}`);
  spawnSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  closeSync(reader);
  return writer;
}

/** Runs `bin args` by name with stdio of `kind`, to its end: its exit code, or its signal. */
async function runWith(kind: Kind, bin: string, args: string[]): Promise<number | string> {
  const fds: number[] = [];
  let stdio: StdioOptions = ['ignore', 'pipe', 'pipe'];
  let [command, argv] = [bin, args];
  if (kind === 'read-only /dev/null on 0, 1 and 2') {
    const fd = openSync('/dev/null', 'r');
    fds.push(fd);
    stdio = [fd, fd, fd];
  } else if (kind === 'fds 1 and 2 closed') {
    [command, argv] = ['sh', ['-c', 'exec "$@" 1>&- 2>&-', 'sh', bin, ...args]];
    stdio = ['ignore', 'inherit', 'inherit'];
  } else if (kind === 'a pipe whose reader is gone') {
    const fd = deadPipe();
    fds.push(fd);
    stdio = ['ignore', fd, fd];
  }
  const child = spawn(command, argv, { stdio, env });
  // Node's stdio pipes are a socket pair: closing our end leaves the command's without a reader.
  child.stdout?.destroy();
  child.stderr?.destroy();
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('exit', (c, s) => r([c, s])));
  clearTimeout(timer);
  for (const fd of fds) closeSync(fd);
  return code ?? String(signal);
}

const bins = readdirSync(join(repo, 'packages'))
  .filter((dir) => dir !== 'diyc')
  .flatMap((dir) => {
    const pkg = JSON.parse(readFileSync(join(repo, 'packages', dir, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    return Object.keys(pkg.bin ?? {});
  });

describe('every command, with any stdio', () => {
  it('finds the bins', () => expect(bins.length).toBeGreaterThanOrEqual(12));

  // diyc-oci exits 1 on a usage error, as runc (whose command line it has) does; diyc, docker's 125.
  it.each(bins)(
    "%s: --version exits 0 and a usage error exits 2 (diyc: docker's 125, diyc-oci: runc's 1), whatever its stdio",
    async (bin) => {
      const calls = kinds.flatMap((kind) => [
        runWith(kind, bin, ['--version']).then((code) => [kind, '--version', code]),
        runWith(kind, bin, ['--no-such-flag']).then((code) => [kind, '--no-such-flag', code]),
      ]);
      const usage = bin === 'diyc' ? 125 : bin === 'diyc-oci' ? 1 : 2;
      const expected = kinds.flatMap((kind) => [
        [kind, '--version', 0],
        [kind, '--no-such-flag', usage],
      ]);
      expect(await Promise.all(calls)).toEqual(expected);
    },
  );
});

describe.skipIf(!isRoot)(`diyc-oci as containerd's shim runs it (${rootReason})`, () => {
  const root = join(work.path, 'oci');
  const parent = `diyc-e2e-stdio-${process.pid}`;
  const log = join(work.path, 'log.json');
  const ids: string[] = [];
  const oci = (...args: string[]) => runBin('diyc-oci', ['--root', root, ...args], { timeoutMs: 60_000 });

  afterAll(async () => {
    for (const id of ids) await oci('delete', '--force', id);
    createCgroupManager({ parent }).pruneParent();
  });

  it.each(kinds.map((kind, i) => [kind, i]))('create succeeds with %s, and the container is created', async (kind, i) => {
    const id = `stdio${i}`;
    const dir = join(work.path, id);
    mkdirSync(join(dir, 'rootfs'), { recursive: true });
    await runCommand('tar', ['-xpf', busyboxTarball(), '-C', join(dir, 'rootfs')]);
    expect((await runBin('diyc-oci', ['spec', '--no-terminal', '--bundle', dir])).code).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    config.process.args = ['sleep', '100'];
    config.linux.cgroupsPath = `/${parent}/${id}`;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    ids.push(id);
    const code = await runWith(kind, 'diyc-oci', ['--root', root, '--log', log, '--log-format', 'json', 'create', '--bundle', dir, id]);
    expect(code, readFileSync(log, { encoding: 'utf8', flag: 'a+' })).toBe(0);
    const state = await oci('state', id);
    expect(JSON.parse(state.stdout)).toMatchObject({ id, status: 'created' });
    expect((await oci('delete', '--force', id)).code).toBe(0);
  });

  it.each(kinds)('a failing call with %s exits 1 and says why in --log', async (kind) => {
    writeFileSync(log, '');
    expect(await runWith(kind, 'diyc-oci', ['--root', root, '--log', log, '--log-format', 'json', 'state', 'nosuch'])).toBe(1);
    const line = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').pop() as string) as { level: string; msg: string };
    expect(line).toMatchObject({ level: 'error', msg: 'container nosuch does not exist' });
  });
});
