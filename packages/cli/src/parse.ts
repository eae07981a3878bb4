// A strict parser for citty argument definitions.
//
// citty's own parser accepts unknown flags and reads `--help` anywhere on the line, so
// `nsexec sh --help` would print nsexec's help. Runtimes need the POSIX rule instead:
// options end at the first operand (or `--`), and everything after it is the
// container's command, untouched. Unknown flags are usage errors (exit 2), with the
// closest known flag when one is close, and a command's hints for flags a docker user
// types that mean something else here.
import type { ArgDef, ArgsDef } from 'citty';
import { DiycError } from '@diyc/record';
import { closest } from './suggest.js';

const usage = (message: string): DiycError => new DiycError('usage', message);

/** A usage error that says what to type instead (a did-you-mean, a hint): shown alone, without the usage line. */
export class UsageHint extends DiycError {
  constructor(message: string) {
    super('usage', message);
  }
}

/**
 * A flag that means something else in docker, or that docker has and this command has
 * not: what to say when a user types it, instead of parsing it. Matched on the word as
 * typed, in the options only (not in a container's command).
 */
export interface FlagHint {
  /** The option as typed: '--name', '-v', '-it'. */
  flag: string;
  /** Only when its value (the next word, or what follows '=') matches: `-v a:b`, not `-v` alone. */
  value?: RegExp;
  /** The line to show after the command's name. */
  hint: string;
}

/** Parsed flags by their main name; a string flag given twice becomes an array. */
export type ParsedFlags = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  flags: ParsedFlags;
  /** Operands, in order; with `stopAtOperand`, the first operand and all after it. */
  operands: string[];
  help: boolean;
}

interface FlagSpec {
  name: string;
  def: ArgDef;
}

function flagTable(defs: ArgsDef): Map<string, FlagSpec> {
  const table = new Map<string, FlagSpec>();
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === 'positional') continue;
    table.set(name, { name, def });
    const aliases = 'alias' in def && def.alias !== undefined ? [def.alias].flat() : [];
    for (const alias of aliases) table.set(alias, { name, def });
  }
  return table;
}

const takesValue = (def: ArgDef): boolean => def.type === 'string' || def.type === 'enum';

/** The hint for the option `arg` (with `next`, the word after it), if the command has one. */
function hintFor(arg: string, next: string | undefined, hints: readonly FlagHint[]): string | undefined {
  const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
  const [flag, value] = eq < 0 ? [arg, next] : [arg.slice(0, eq), arg.slice(eq + 1)];
  return hints.find((h) => h.flag === flag && (h.value === undefined || (value !== undefined && h.value.test(value))))?.hint;
}

/** "unknown option --memory: did you mean --mem?": the flag meant, when one is close. */
function unknownOption(typed: string, word: string, table: Map<string, FlagSpec>): DiycError {
  const names = [...table.keys()].filter((n) => n.length > 1);
  // --no-X is a boolean's negation: --no-verbos is --no-verbose.
  if (word.startsWith('no-')) names.push(...names.filter((n) => table.get(n)?.def.type === 'boolean').map((n) => `no-${n}`));
  const letter = word.length === 1 && table.has(word) ? `-${word}` : undefined;
  const meant = letter ?? (word.length > 1 ? closest(word, [...names, 'help']) : undefined);
  if (meant === undefined) return usage(`unknown option ${typed}`);
  return new UsageHint(`unknown option ${typed}: did you mean ${meant.startsWith('-') ? meant : `--${meant}`}?`);
}

function store(flags: ParsedFlags, spec: FlagSpec, value: string | boolean): void {
  if (spec.def.type === 'enum' && typeof value === 'string') {
    const options = 'options' in spec.def ? (spec.def.options ?? []) : [];
    if (!options.includes(value)) throw usage(`--${spec.name} must be one of ${options.join(', ')} (got '${value}')`);
  }
  const prev = flags[spec.name];
  if (typeof value === 'string' && typeof prev === 'string') flags[spec.name] = [prev, value];
  else if (typeof value === 'string' && Array.isArray(prev)) prev.push(value);
  else flags[spec.name] = value;
}

/**
 * Parses `argv` against citty `defs`. With `stopAtOperand`, the first operand ends the
 * options (for commands that run another command). `hints` are the command's.
 */
export function parseArgv(argv: readonly string[], defs: ArgsDef, stopAtOperand = false, hints: readonly FlagHint[] = []): Parsed {
  const table = flagTable(defs);
  const flags: ParsedFlags = {};
  const operands: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      if (stopAtOperand) {
        operands.push(...argv.slice(i));
        break;
      }
      operands.push(arg);
      continue;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const hint = hintFor(arg, argv[i + 1], hints);
    if (hint !== undefined) throw new UsageHint(hint);
    const next = (): string => {
      const value = argv[++i];
      if (value === undefined) throw usage(`option ${arg} needs a value`);
      return value;
    };
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const key = arg.slice(2, eq < 0 ? undefined : eq);
      const negated = key.startsWith('no-') && table.get(key.slice(3))?.def.type === 'boolean';
      const spec = table.get(negated ? key.slice(3) : key);
      if (!spec || key.length === 1) throw unknownOption(`--${key}`, key, table);
      if (takesValue(spec.def)) store(flags, spec, eq < 0 ? next() : arg.slice(eq + 1));
      else if (eq >= 0) throw usage(`option --${key} takes no value`);
      else store(flags, spec, !negated);
      continue;
    }
    // A cluster of short flags: -pnu HOST. A flag that takes a value takes the rest of
    // the cluster, or the next word. A cluster that fails may be a long flag with one
    // dash (-rm): that is the one named.
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j] as string;
      const spec = table.get(letter);
      if (!spec)
        throw arg.length > 2 && table.has(arg.slice(1))
          ? unknownOption(arg, arg.slice(1), table)
          : unknownOption(`-${letter}`, letter, table);
      if (takesValue(spec.def)) {
        store(flags, spec, j + 1 < arg.length ? arg.slice(j + 1) : next());
        break;
      }
      store(flags, spec, true);
    }
  }
  for (const [name, def] of Object.entries(defs)) {
    if (flags[name] === undefined && def.type !== 'positional' && def.default !== undefined) flags[name] = def.default as string | boolean;
  }
  return { flags, operands, help };
}

/** The values of a flag that may be given more than once. */
export function many(value: string | boolean | string[] | undefined): string[] {
  if (value === undefined || typeof value === 'boolean') return [];
  return Array.isArray(value) ? value : [value];
}

/** The last value of a string flag given once or more. */
export function one(value: string | boolean | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value[value.length - 1];
  return typeof value === 'string' ? value : undefined;
}
