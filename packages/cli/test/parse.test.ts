import { describe, expect, it } from 'vitest';
import { DiycError } from '@diyc/record';
import { many, parseArgv, UsageHint, type ArgsDef, type FlagHint } from '../src/index.js';

const defs: ArgsDef = {
  pid: { type: 'boolean', alias: 'p' },
  net: { type: 'boolean', alias: 'n' },
  uts: { type: 'string', alias: 'u' },
  env: { type: 'string', alias: 'e' },
  mode: { type: 'enum', options: ['a', 'b'] },
  command: { type: 'positional', required: false },
};

describe('parseArgv', () => {
  it('reads a cluster of short flags whose last one takes the next word', () => {
    const r = parseArgv(['-pnu', 'myhost', 'sh', '-c', 'x'], defs, true);
    expect(r.flags).toMatchObject({ pid: true, net: true, uts: 'myhost' });
    expect(r.operands).toEqual(['sh', '-c', 'x']);
  });

  it('takes a value glued to a short flag, or after = on a long one', () => {
    expect(parseArgv(['-uhost'], defs).flags.uts).toBe('host');
    expect(parseArgv(['--uts=host'], defs).flags.uts).toBe('host');
  });

  it('stops at the first operand, so the command keeps its own flags', () => {
    const r = parseArgv(['-p', 'ls', '-l', '--help'], defs, true);
    expect(r.help).toBe(false);
    expect(r.operands).toEqual(['ls', '-l', '--help']);
  });

  it('stops at --', () => {
    expect(parseArgv(['--', '-p'], defs, true).operands).toEqual(['-p']);
  });

  it('collects a repeated string flag', () => {
    expect(many(parseArgv(['-e', 'A=1', '-e', 'B=2'], defs).flags.env)).toEqual(['A=1', 'B=2']);
  });

  it('refuses unknown flags, missing values and enum values not listed', () => {
    expect(() => parseArgv(['--bogus'], defs)).toThrow(DiycError);
    expect(() => parseArgv(['-x'], defs)).toThrow('unknown option -x');
    expect(() => parseArgv(['-u'], defs)).toThrow('option -u needs a value');
    expect(() => parseArgv(['--mode', 'c'], defs)).toThrow('--mode must be one of a, b');
    expect(() => parseArgv(['--pid=1'], defs)).toThrow('takes no value');
  });

  it('sees --help among the options only', () => {
    expect(parseArgv(['--help'], defs, true).help).toBe(true);
  });
});

describe('parseArgv: did you mean', () => {
  const run: ArgsDef = {
    mem: { type: 'string', alias: 'm' },
    detach: { type: 'boolean', alias: 'd' },
    rm: { type: 'boolean' },
    verbose: { type: 'boolean', alias: 'v' },
    volume: { type: 'string' },
    ip: { type: 'string', alias: 'i' },
    tty: { type: 'boolean', alias: 't' },
    name: { type: 'positional' },
  };
  const error = (argv: string[]): DiycError | undefined => {
    try {
      parseArgv(argv, run, true);
    } catch (err) {
      return err as DiycError;
    }
    return undefined;
  };

  it('names the closest flag of the command, in one message that is a hint', () => {
    const err = error(['--memory', '10', 'box']);
    expect(err?.message).toBe('unknown option --memory: did you mean --mem?');
    expect(err).toBeInstanceOf(UsageHint);
    expect(err?.exitCode).toBe(2);
    expect(error(['--detatch'])?.message).toBe('unknown option --detatch: did you mean --detach?');
    expect(error(['--no-verbos'])?.message).toBe('unknown option --no-verbos: did you mean --no-verbose?');
    expect(error(['--hepl'])?.message).toBe('unknown option --hepl: did you mean --help?');
  });

  it('names a short flag typed with two dashes, and a long one typed with one', () => {
    expect(error(['--m', '10'])?.message).toBe('unknown option --m: did you mean -m?');
    expect(error(['-rm'])?.message).toBe('unknown option -rm: did you mean --rm?');
  });

  it('says only "unknown option" when nothing is close', () => {
    const err = error(['--no-such-flag']);
    expect(err?.message).toBe('unknown option --no-such-flag');
    expect(err).not.toBeInstanceOf(UsageHint);
    expect(error(['-x'])?.message).toBe('unknown option -x');
  });
});

describe('parseArgv: hints for flags that mean something else in docker', () => {
  const run: ArgsDef = {
    verbose: { type: 'boolean', alias: 'v' },
    ip: { type: 'string', alias: 'i' },
    tty: { type: 'boolean', alias: 't' },
    name: { type: 'positional' },
    image: { type: 'positional' },
  };
  const hints: FlagHint[] = [
    { flag: '-v', value: /:/, hint: '-v is verbose here (diyC); use --volume, or `diyc run -v`' },
    { flag: '--name', hint: 'the name is the first operand here: diyc-run NAME IMAGE' },
    { flag: '-it', hint: '-it: -i is --ip here' },
  ];
  const parse = (argv: string[]) => parseArgv(argv, run, true, hints);

  it('gives the hint of a known flag only when its value matches: -v a:b, not -v', () => {
    expect(() => parse(['-v', '/host:/ctr', 'box', 'busybox'])).toThrow(
      new UsageHint('-v is verbose here (diyC); use --volume, or `diyc run -v`'),
    );
    expect(parse(['-v', 'box', 'busybox']).flags.verbose).toBe(true);
  });

  it('gives the hint of a flag the command does not have, with or without =', () => {
    expect(() => parse(['--name', 'web', 'busybox'])).toThrow('the name is the first operand here');
    expect(() => parse(['--name=web', 'busybox'])).toThrow('the name is the first operand here');
    expect(() => parse(['-it', 'box', 'busybox'])).toThrow(UsageHint);
  });

  it("looks only at the options: a container's command keeps its own flags", () => {
    expect(parse(['box', 'busybox', '--name', 'x', '-v', 'a:b']).operands).toEqual(['box', 'busybox', '--name', 'x', '-v', 'a:b']);
    expect(parse(['--', '--name']).operands).toEqual(['--name']);
  });
});
