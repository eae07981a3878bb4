import { describe, expect, it } from 'vitest';
import { DiycError } from '@diyc/record';
import { many, parseArgv, type ArgsDef } from '../src/index.js';

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
