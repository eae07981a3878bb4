// The shell never fails because of its own stdio: each kind an engine or a shell may give
// (read-only /dev/null as containerd's shim does, closed fds, a pipe or a socket whose
// reader is gone, a live socket), with --version, a command that succeeds, one that fails
// and a usage error. The exit code is always the command's, and an error line always
// reaches the onError hook.
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const fixture = join(import.meta.dirname, 'fixture', 'cli.mjs');
const dir = mkdtempSync(join(tmpdir(), 'diyc-cli-stdio-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let logs = 0;
interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  log: string;
  stdout: string;
}

/** Runs the fixture with `stdio` (fds for 0, 1, 2, or 'pipe'); `early` closes our end of its stdout pipe at once. */
async function runFixture(args: string[], stdio: StdioOptions, options: { early?: boolean; shell?: string } = {}): Promise<Outcome> {
  const log = join(dir, `log-${logs++}`);
  closeSync(openSync(log, 'w'));
  const argv = options.shell
    ? (['sh', ['-c', options.shell, 'sh', process.execPath, fixture, ...args]] as const)
    : ([process.execPath, [fixture, ...args]] as const);
  const child = spawn(argv[0], [...argv[1]], { stdio, env: { ...process.env, FIXTURE_LOG: log } });
  let stdout = '';
  if (options.early) child.stdout?.destroy();
  else
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
  child.stderr?.resume();
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('exit', (c, s) => r([c, s])));
  return { code, signal, log: readFileSync(log, 'utf8'), stdout };
}

/** A pipe whose reader is gone: a FIFO opened for writing, its only reader then closed. */
function deadPipe(): number {
  const fifo = join(dir, `fifo-${logs++}`);
  spawnSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  closeSync(reader);
  return writer;
}

const calls: [string, string[], number][] = [
  ['--version', ['--version'], 0],
  ['a command that succeeds', ['--lines', '2000'], 3],
  ['a command that fails', ['--fail'], 4],
  ['a usage error', ['--bogus'], 2],
];

describe.each(calls)('the shell, with %s', (_what, args, code) => {
  const failing = code === 4 || code === 2;
  const check = (r: Outcome) => {
    expect(r.signal).toBeNull();
    expect(r.code, r.log).toBe(code);
    if (failing) expect(r.log).toContain(code === 4 ? 'no such thing' : 'unknown option --bogus');
  };

  it("on /dev/null opened read-only as fds 0, 1 and 2 (containerd's shim)", async () => {
    const fd = openSync('/dev/null', 'r');
    try {
      check(await runFixture(args, [fd, fd, fd]));
    } finally {
      closeSync(fd);
    }
  });

  it('with fds 1 and 2 closed', async () => {
    check(await runFixture(args, ['ignore', 'inherit', 'inherit'], { shell: 'exec "$@" 1>&- 2>&-' }));
  });

  it('on a pipe whose reader is gone, as stdout and stderr', async () => {
    const fd = deadPipe();
    try {
      check(await runFixture(args, ['ignore', fd, fd]));
    } finally {
      closeSync(fd);
    }
  });

  it('on a socket whose reader is gone, as stdout and stderr', async () => {
    check(await runFixture(args, ['ignore', 'pipe', 'pipe'], { early: true }));
  });
});

describe("the fixture's stdio is what the tests say", () => {
  it("a pipe is a FIFO, and node's stdio pipes are a socket pair, which carries the output whole", async () => {
    const fd = deadPipe();
    const pipe = await runFixture(['--where'], ['ignore', fd, 'ignore']);
    closeSync(fd);
    expect(pipe.log).toMatch(/^fd1 fifo$/m);
    const socket = await runFixture(['--where', '--lines', '20000'], ['ignore', 'pipe', 'pipe']);
    expect(socket.log).toMatch(/^fd1 socket$/m);
    expect(socket.code).toBe(3);
    expect(socket.stdout.split('\n')).toHaveLength(20001);
  });
});
