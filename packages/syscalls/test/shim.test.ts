// diyc-shim (src/native/shim.c), the supervisor of a detached container, run as a user
// would: its log, rotation, exit file, exit command, signals and both ways of being given
// a child. None of it needs root.
import { spawn as spawnProcess, type ChildProcess, type StdioOptions } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseShimExit, shimArgv, shimPath, ShimOptionsError } from '../src/index.js';

const shim = shimPath();
let dir: string;
const started: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'diyc-shim-'));
});

afterEach(() => {
  // Whatever a failed test left running: the shims' children first, then the shims (by pid).
  for (const p of started.splice(0)) {
    if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) continue;
    for (const pid of childrenOf(p.pid)) process.kill(pid, 'SIGKILL');
    p.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
});

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Starts the shim (or `argv[0]` when `program` is given) and returns it with its end. */
function start(argv: string[], options: { stdio?: StdioOptions; program?: string } = {}): { proc: ChildProcess; ended: Promise<Ended> } {
  const proc = spawnProcess(options.program ?? shim, argv, { stdio: options.stdio ?? ['ignore', 'ignore', 'pipe'] });
  started.push(proc);
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const ended = new Promise<Ended>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { proc, ended };
}

const run = (argv: string[], options?: { stdio?: StdioOptions; program?: string }): Promise<Ended> => start(argv, options).ended;

async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const read = (file: string): string => readFileSync(file, 'utf8');
const exitOf = (file: string): unknown => JSON.parse(read(file));

describe('diyc-shim -- CMD', () => {
  it('logs stdout and stderr in the order they were written', async () => {
    const log = join(dir, 'log');
    // Each line waits until the shim has logged the one before: the order is the test's,
    // not the scheduler's (two pipes both ready at once are read stdout first).
    const script = `echo one; until grep -q one ${log}; do sleep 0.01; done; echo two >&2; until grep -q two ${log}; do sleep 0.01; done; echo three`;
    const r = await run(['--log', log, '--', 'sh', '-c', script]);
    expect(r).toEqual({ code: 0, signal: null, stderr: '' });
    expect(read(log)).toBe('one\ntwo\nthree\n');
  });

  it('appends to an existing log, and takes --option=value', async () => {
    const log = join(dir, 'log');
    writeFileSync(log, 'before\n');
    expect((await run([`--log=${log}`, '--', 'echo', 'after'])).code).toBe(0);
    expect(read(log)).toBe('before\nafter\n');
  });

  it('writes the exit file for an exit code', async () => {
    const exit = join(dir, 'exit');
    const before = Date.now();
    const r = await run(['--exit-file', exit, '--', 'sh', '-c', 'exit 3']);
    expect(r.code).toBe(0);
    const status = parseShimExit(read(exit));
    expect(status).toMatchObject({ code: 3, signal: null });
    expect(status?.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const at = Date.parse(status?.finishedAt ?? '');
    expect(at).toBeGreaterThanOrEqual(before - 1000); // the shim's clock, rounded to ms
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(existsSync(`${exit}.tmp`)).toBe(false);
  });

  it('writes the exit file for a death by signal', async () => {
    const exit = join(dir, 'exit');
    await run(['--exit-file', exit, '--', 'sh', '-c', 'kill -9 $$']);
    expect(exitOf(exit)).toMatchObject({ code: null, signal: 9 });
  });

  it('logs a command that cannot be run, and records 127', async () => {
    const log = join(dir, 'log');
    const exit = join(dir, 'exit');
    // A path: a PATH search may meet a directory the user cannot read (EACCES, 126).
    await run(['--log', log, '--exit-file', exit, '--', '/nonexistent/diyc-command']);
    expect(read(log)).toBe('diyc-shim: /nonexistent/diyc-command: command not found\n');
    expect(exitOf(exit)).toMatchObject({ code: 127, signal: null });
  });

  it('rotates the log: FILE and FILE.1..N each within the size, the newest bytes in FILE', async () => {
    const input = join(dir, 'input');
    // 5 MiB of numbered lines: which bytes landed where can be checked.
    const lines: string[] = [];
    for (let i = 0, size = 0; size < 5 * 1024 * 1024 + 12345; i++) {
      const line = `line ${i}\n`;
      lines.push(line);
      size += line.length;
    }
    const data = Buffer.from(lines.join('')).subarray(0, 5 * 1024 * 1024 + 12345);
    writeFileSync(input, data);
    const log = join(dir, 'log');
    const r = await run(['--log', log, '--log-size', '1M', '--log-files', '2', '--', 'cat', input]);
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['input', 'log', 'log.1', 'log.2']);
    for (const f of ['log', 'log.1', 'log.2']) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(1024 * 1024);
    // Oldest to newest, they are the end of what was written, with nothing lost in between.
    const kept = Buffer.concat(['log.2', 'log.1', 'log'].map((f) => readFileSync(join(dir, f))));
    expect(kept.length).toBe(2 * 1024 * 1024 + 12345);
    expect(kept.equals(data.subarray(data.length - kept.length))).toBe(true);
  });

  it('rotates with --log-files 0 by starting FILE over', async () => {
    const log = join(dir, 'log');
    const r = await run(['--log', log, '--log-size', '100', '--log-files', '0', '--', 'sh', '-c', 'yes abcdefghi | head -c 1050']);
    expect(r.code).toBe(0);
    expect(readdirSync(dir)).toEqual(['log']);
    expect(read(log)).toBe('abcdefghi\n'.repeat(105).slice(1000));
  });

  it('runs the exit command after the exit file is written, with exactly its arguments', async () => {
    const exit = join(dir, 'exit');
    const copy = join(dir, 'copy');
    const r = await run([
      '--exit-file',
      exit,
      '--exit-command',
      '/bin/sh',
      '-c',
      'cat "$0" > "$1"; echo "$#" >> "$1"',
      exit,
      copy,
      '--',
      '--',
      'sh',
      '-c',
      'exit 5',
    ]);
    expect(r.code).toBe(0); // the exit command's own status: it replaced the shim
    const [json, argc] = read(copy).trim().split('\n');
    expect(JSON.parse(json ?? '')).toMatchObject({ code: 5, signal: null });
    expect(argc).toBe('1'); // $0 and $1: nothing appended
  });

  it('passes SIGTERM on to the child and goes on supervising it', async () => {
    const log = join(dir, 'log');
    const exit = join(dir, 'exit');
    const { proc, ended } = start([
      '--log',
      log,
      '--exit-file',
      exit,
      '--',
      'sh',
      '-c',
      'trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.05; done',
    ]);
    await waitFor('the command to start', () => existsSync(log) && read(log) === 'ready\n');
    proc.kill('SIGTERM');
    const r = await ended;
    expect(r).toEqual({ code: 0, signal: null, stderr: '' });
    expect(read(log)).toBe('ready\ngot TERM\n');
    expect(exitOf(exit)).toMatchObject({ code: 7, signal: null });
  });

  it('signals readiness on --ready-fd, which the command does not inherit, and writes --pid-file', async () => {
    const pidFile = join(dir, 'pid');
    const exit = join(dir, 'exit');
    const { proc, ended } = start(['--ready-fd', '3', '--pid-file', pidFile, '--exit-file', exit, '--', 'sleep', '1000'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    // One byte, then end of file while `sleep` still runs: nothing else holds the pipe.
    const ready = await readAll(proc.stdio[3] as Readable);
    expect(ready).toBe('1');
    expect(read(pidFile)).toBe(String(proc.pid));
    const [sleeper] = childrenOf(proc.pid ?? 0);
    expect(sleeper).toBeDefined();
    expect(read(`/proc/${sleeper}/cmdline`)).toBe('sleep\u00001000\u0000');
    expect(existsSync(exit)).toBe(false);
    proc.kill('SIGTERM');
    await ended;
    expect(exitOf(exit)).toMatchObject({ code: null, signal: 15 });
  });

  it('puts /dev/null on its own stdio, and leaves no directory busy', async () => {
    const { proc, ended } = start(['--ready-fd', '3', '--', 'sleep', '1000'], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    await readAll(proc.stdio[3] as Readable);
    const pid = proc.pid ?? 0;
    for (const fd of [0, 1, 2]) expect(readlinkSync(`/proc/${pid}/fd/${fd}`)).toBe('/dev/null');
    expect(readlinkSync(`/proc/${pid}/cwd`)).toBe('/');
    // A session of its own (the sid is the shim's pid).
    expect(read(`/proc/${pid}/stat`).split(') ')[1]?.split(' ')[3]).toBe(String(pid));
    proc.kill('SIGTERM');
    await ended;
  });
});

describe('diyc-shim --pid', () => {
  it('supervises a child it inherited across execve, copying both of its pipes', async () => {
    const log = join(dir, 'log');
    const exit = join(dir, 'exit');
    // sh makes the child and its pipes (FIFOs), then becomes the shim: the child is the
    // shim's by inheritance, as the container is when diyc execs the shim.
    const script = [
      `cd ${dir} && mkfifo out err`,
      `(echo to-stdout; until grep -q to-stdout log 2>/dev/null; do sleep 0.01; done; echo to-stderr >&2; sleep 0.2; exit 4) > out 2> err &`,
      `exec 3< out 4< err`,
      `exec ${shim} --pid $! --stdout-fd 3 --stderr-fd 4 --log log --exit-file exit`,
    ].join('\n');
    const r = await run(['-c', script], { program: 'sh' });
    expect(r).toEqual({ code: 0, signal: null, stderr: '' });
    expect(read(log)).toBe('to-stdout\nto-stderr\n');
    expect(exitOf(exit)).toMatchObject({ code: 4, signal: null });
  });

  it('reads a pty master, and holds it while the child has closed its terminal', async () => {
    const log = join(dir, 'log');
    const exit = join(dir, 'exit');
    // python's pty.fork(): the child leads a session whose terminal is the pty's slave.
    // It writes, closes every descriptor of the terminal (the master then reads EIO), and
    // writes again through /dev/tty: the shim must still hold the master, and read it.
    const child = 'echo first; exec </dev/null >/dev/null 2>&1; sleep 0.3; echo again > /dev/tty; exit 3';
    const python = [
      'import os, pty, sys',
      'pid, fd = pty.fork()',
      `if pid == 0: os.execvp("sh", ["sh", "-c", ${JSON.stringify(child)}])`,
      'os.set_inheritable(fd, True)',
      `os.execv(${JSON.stringify(shim)}, ["diyc-shim", "--pid", str(pid), "--pty-fd", str(fd), "--log", ${JSON.stringify(log)}, "--exit-file", ${JSON.stringify(exit)}])`,
    ].join('\n');
    const r = await run(['-c', python], { program: 'python3' });
    expect(r).toEqual({ code: 0, signal: null, stderr: '' });
    expect(read(log)).toBe('first\r\nagain\r\n'); // the terminal's ONLCR
    expect(exitOf(exit)).toMatchObject({ code: 3, signal: null });
  });

  it('takes the status of a child that ended before the shim started', async () => {
    const exit = join(dir, 'exit');
    const r = await run(['-c', `(exit 6) & exec ${shim} --pid $! --exit-file ${exit}`], { program: 'sh' });
    expect(r.code).toBe(0);
    expect(exitOf(exit)).toMatchObject({ code: 6, signal: null });
  });

  it('passes SIGTERM on to the supervised child', async () => {
    const exit = join(dir, 'exit');
    // The child must not hold the ready pipe (3>&-), or its end of file would wait for it.
    const { proc, ended } = start(['-c', `sleep 1000 3>&- & exec ${shim} --pid $! --exit-file ${exit} --ready-fd 3`], {
      program: 'sh',
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    expect(await readAll(proc.stdio[3] as Readable)).toBe('1');
    proc.kill('SIGTERM');
    await ended;
    expect(exitOf(exit)).toMatchObject({ code: null, signal: 15 });
  });

  it('refuses a pid that is not its child: 125, one line, end of file on --ready-fd', async () => {
    const log = join(dir, 'log');
    const { proc, ended } = start(['--pid', '1', '--log', log, '--ready-fd', '3'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    expect(await readAll(proc.stdio[3] as Readable)).toBe('');
    const r = await ended;
    expect(r).toEqual({ code: 125, signal: null, stderr: 'diyc-shim: not a child of this process: --pid 1\n' });
    expect(read(log)).toBe(r.stderr);
  });
});

describe('diyc-shim: bad flags and failed starts', () => {
  it.each([
    [['--bogus', '--', 'true'], 'unknown option --bogus'],
    [['--'], '-- needs a command after it'],
    [['--log', 'x'], 'give either --pid PID or -- CMD'],
    [['--pid', '1', '--', 'true'], 'give either --pid PID or -- CMD'],
    [['--log-size', '10X', '--log', 'x', '--', 'true'], '--log-size takes a size in bytes (K, M, G suffixes)'],
    [['--log-size', '1M', '--', 'true'], '--log-size needs --log FILE'],
    [['--stdout-fd', '1', '--pid', '5'], '--stdout-fd takes a descriptor above 2'],
    [['--stdout-fd', '5', '--', 'true'], '--stdout-fd, --stderr-fd and --pty-fd go with --pid: -- CMD makes its own pipes'],
    [['--exit-command', '/bin/true', '--pid', '5'], '--exit-command PATH [ARG...] must end with --'],
    [['--log-files', '1001', '--log', 'x', '--', 'true'], '--log-files takes a count from 0 to 1000'],
  ])('%j exits 2 with the usage', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`diyc-shim: ${message}`);
    expect(r.stderr).toContain('usage: diyc-shim [OPTIONS] --pid PID');
  });

  it('exits 125 with one line when the log cannot be opened, and runs nothing', async () => {
    const marker = join(dir, 'ran');
    const r = await run(['--log', join(dir, 'missing', 'log'), '--', 'touch', marker]);
    expect(r).toEqual({
      code: 125,
      signal: null,
      stderr: `diyc-shim: open the directory of ${join(dir, 'missing', 'log')}: No such file or directory\n`,
    });
    expect(existsSync(marker)).toBe(false);
  });

  it('prints its usage for --help', async () => {
    const proc = spawnProcess(shim, ['--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(proc);
    const out = await readAll(proc.stdout as Readable);
    expect(out).toMatch(/^usage: diyc-shim \[OPTIONS\] --pid PID\n/);
  });
});

describe('shimPath, shimArgv, parseShimExit', () => {
  it('finds an executable diyc-shim', () => {
    expect(() => accessSync(shimPath(), constants.X_OK)).not.toThrow();
  });

  it('builds the flags the shim takes', () => {
    expect(
      shimArgv({
        pid: 42,
        stdoutFd: 3,
        stderrFd: 4,
        log: '/l',
        logSize: 1048576,
        logFiles: 2,
        exitFile: '/e',
        pidFile: '/p',
        exitCommand: ['/bin/node', 'cleanup.js', 'box'],
        readyFd: 5,
      }),
    ).toEqual([
      '--pid',
      '42',
      '--stdout-fd',
      '3',
      '--stderr-fd',
      '4',
      '--log',
      '/l',
      '--log-size',
      '1048576',
      '--log-files',
      '2',
      '--exit-file',
      '/e',
      '--pid-file',
      '/p',
      '--exit-command',
      '/bin/node',
      'cleanup.js',
      'box',
      '--',
      '--ready-fd',
      '5',
    ]);
    expect(shimArgv({ command: ['sleep', '1'], keepStdio: true })).toEqual(['--keep-stdio', '--', 'sleep', '1']);
  });

  it('refuses what the shim would refuse', () => {
    expect(() => shimArgv({})).toThrow(ShimOptionsError);
    expect(() => shimArgv({ pid: 1, command: ['x'] })).toThrow('either a pid or a command');
    expect(() => shimArgv({ command: ['x'], stdoutFd: 3 })).toThrow('output descriptors go with a pid');
    expect(() => shimArgv({ pid: 1, stdoutFd: 2 })).toThrow('above 2');
    expect(() => shimArgv({ pid: 1, stdoutFd: 3, readyFd: 3 })).toThrow('named twice');
    expect(() => shimArgv({ pid: 1, exitCommand: ['/bin/x', '--'] })).toThrow('cannot hold the argument --');
    expect(() => shimArgv({ pid: 1, logSize: 10 })).toThrow('a log size needs a log');
  });

  it('reads an exit file back, and nothing else', () => {
    expect(parseShimExit('{"code":3,"signal":null,"finishedAt":"2025-01-02T03:04:05.678Z"}\n')).toEqual({
      code: 3,
      signal: null,
      finishedAt: '2025-01-02T03:04:05.678Z',
    });
    expect(parseShimExit('{"code":null,"signal":9,"finishedAt":"x"}')).toMatchObject({ code: null, signal: 9 });
    expect(parseShimExit('{"code":"3","signal":null,"finishedAt":"x"}')).toBeNull();
    expect(parseShimExit('{"code":3}')).toBeNull();
    expect(parseShimExit('')).toBeNull();
  });
});

function readAll(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}
