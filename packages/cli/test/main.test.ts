import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DiycError } from '@diyc/record';
import { runCliCode } from '../src/main.js';
import { defineCli, type CliContext, type ParsedFlags } from '../src/index.js';

let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const seen: { ctx?: CliContext; logged: [string, ParsedFlags][] } = { logged: [] };
const tool = defineCli({
  meta: { name: 'tool', version: '9.9.9' },
  globalArgs: { root: { type: 'string', valueHint: 'DIR' }, debug: { type: 'boolean' } },
  onError: (message, globals) => {
    // The hook hears the error before stderr does.
    seen.logged.push([`${message} (stderr had ${err.length} writes)`, globals]);
  },
  subCommands: {
    state: defineCli({
      meta: { name: 'state' },
      args: { id: { type: 'positional' } },
      main: (ctx) => {
        seen.ctx = ctx;
      },
    }),
    start: defineCli({
      meta: { name: 'start' },
      args: { id: { type: 'positional' } },
      main: () => {
        throw new DiycError('not-found', 'container x does not exist');
      },
    }),
  },
});

describe('runCliCode', () => {
  beforeEach(() => {
    seen.ctx = undefined;
    seen.logged = [];
  });

  it('hands the global flags before the command to its main()', async () => {
    expect(await runCliCode(tool, ['--root', '/r', '--debug', 'state', 'x'])).toBe(0);
    expect(seen.ctx).toMatchObject({ globals: { root: '/r', debug: true }, operands: ['x'] });
  });

  it('names the command meant, on one line', async () => {
    expect(await runCliCode(tool, ['stat', 'x'])).toBe(2);
    expect(err.join('')).toBe("tool: unknown command 'stat': did you mean 'state'?\n");
    expect(await runCliCode(tool, ['--rot', '/r', 'state', 'x'])).toBe(2);
    expect(err.join('')).toContain('tool: unknown option --rot: did you mean --root?\n');
  });

  it('lists the commands, with the usage line, when none is close', async () => {
    expect(await runCliCode(tool, ['frobnicate'])).toBe(2);
    expect(err.join('')).toMatch(
      /^tool: unknown command 'frobnicate' \(commands: state, start\)\nusage: tool state\|start\nrun 'tool --help' for more\n$/,
    );
  });

  it('sends every error line to onError first, with the globals read so far', async () => {
    expect(await runCliCode(tool, ['--root', '/r', 'start', 'x'])).toBe(1);
    expect(err.join('')).toBe('tool start: container x does not exist\n');
    expect(await runCliCode(tool, ['--root', '/r', 'start', '--bogus'])).toBe(2);
    expect(seen.logged).toEqual([
      ['container x does not exist (stderr had 0 writes)', { root: '/r' }],
      ['unknown option --bogus (stderr had 1 writes)', { root: '/r' }],
    ]);
  });

  it('answers --version, and help on stdout; a missing command is a usage error on stderr', async () => {
    expect(await runCliCode(tool, ['--version'])).toBe(0);
    expect(out.join('')).toBe('tool 9.9.9\n');
    expect(await runCliCode(tool, ['--help'])).toBe(0);
    expect(out.join('')).toContain('USAGE tool state|start');
    expect(await runCliCode(tool, [])).toBe(2);
    expect(err.join('')).toContain('USAGE tool state|start');
  });

  it("gives a command's hint alone, exit 2", async () => {
    const run = defineCli({
      meta: { name: 'diyc-run' },
      stopAtOperand: true,
      args: { verbose: { type: 'boolean', alias: 'v' }, name: { type: 'positional' } },
      hints: [{ flag: '-v', value: /:/, hint: '-v is verbose here (diyC); use --volume' }],
      main: () => 0,
    });
    expect(await runCliCode(run, ['-v', 'a:b', 'box'])).toBe(2);
    expect(err.join('')).toBe('diyc-run: -v is verbose here (diyC); use --volume\n');
  });

  it('reads flags among the operands with manyOperands (docker rm web -f), not after stopAtOperand', async () => {
    const seen: { flags: unknown; operands: string[] }[] = [];
    const args = { force: { type: 'boolean', alias: 'f' }, names: { type: 'positional' } } as const;
    const rm = defineCli({ meta: { name: 'rm' }, manyOperands: true, args, main: (ctx) => void seen.push(ctx) });
    expect(await runCliCode(rm, ['web', '-f', 'db'])).toBe(0);
    expect(seen[0]).toMatchObject({ flags: { force: true }, operands: ['web', 'db'] });
    const exec = defineCli({ meta: { name: 'exec' }, stopAtOperand: true, args, main: (ctx) => void seen.push(ctx) });
    expect(await runCliCode(exec, ['web', '-f', 'db'])).toBe(0);
    expect(seen[1]).toMatchObject({ flags: {}, operands: ['web', '-f', 'db'] });
    const one = defineCli({ meta: { name: 'one' }, args, main: () => 0 });
    expect(await runCliCode(one, ['web', 'db'])).toBe(2);
  });

  it("prints an error's stack only for a command's own verbose flag, not for docker's -v VOLUME", async () => {
    const failing = (args: Record<string, unknown>) =>
      defineCli({
        meta: { name: 'x' },
        stopAtOperand: true,
        args: { ...(args as object), image: { type: 'positional' } },
        main: () => {
          throw new DiycError('invalid', 'it failed');
        },
      });
    expect(await runCliCode(failing({ volume: { type: 'string', alias: 'v' } }), ['-v', 'a:/b', 'img'])).toBe(1);
    expect(err.join('')).toBe('x: it failed\n');
    err.length = 0;
    expect(await runCliCode(failing({ verbose: { type: 'boolean', alias: 'v' } }), ['-v', 'img'])).toBe(1);
    expect(err.join('')).toMatch(/^x: it failed\nDiycError: it failed\n {4}at /);
  });

  it("gives the top command's usageCode for a usage error (docker's 125), else 2", async () => {
    const docker = defineCli({ ...tool, usageCode: 125 });
    expect(await runCliCode(docker, ['start', '--bogus'])).toBe(125);
    expect(await runCliCode(docker, [])).toBe(125);
    expect(await runCliCode(docker, ['start', 'x'])).toBe(1);
    expect(await runCliCode(tool, ['start', '--bogus'])).toBe(2);
  });
});
