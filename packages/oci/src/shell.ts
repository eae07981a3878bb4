// runc's command line, as engines and people type it and as its own integration suite
// checks it: urfave/cli v1 over Go's flag package (vendor/github.com/urfave/cli in runc).
//
//   diyc-oci [global flags] COMMAND [flags] ARGS...
//
// - A flag is -name or --name, its value after '=' or in the next word; a boolean takes
//   only '=' (--detach=false). Flags end at the first argument, or '--'; most commands
//   first move flags typed after their arguments to the front (`update ID --memory 1M`),
//   exec and ps do not (what follows the ID is the command, or ps's own options).
// - -h and --help anywhere in a command's flags show its help; `help [COMMAND]` too.
// - Every error exits 1: a wrong flag or argument count prints "Incorrect Usage." and the
//   command's help on stdout first; an unknown command is "No help topic for 'foo'", exit 3.
// - The error itself is logged (stderr, or --log; see log.ts): with --log it is also
//   printed bare on stderr, where a person looks.
//
// This shell reads the command definitions of cli.ts (the same ones the man page and the
// shell completions are made from) and adds what runc's help shows beside them.
import type { ArgDef, ArgsDef } from 'citty';
import { writeOut, type CliCommand, type CliContext, type ParsedFlags } from '@diyc/cli';
import { DiycError } from '@diyc/record';

/** A diyc-oci command: a CliCommand, with the parts of runc's help and checks it has. */
export interface OciCommand extends CliCommand {
  /** What follows the synopsis in runc's help ("<container-id>\n\nWhere ..."). */
  argsUsage?: string;
  /** DESCRIPTION. */
  details?: string;
  /** How many arguments: exactly `n`, at least `min`, at most `max` (runc's checkArgs). */
  argCount?: { exact?: number; min?: number; max?: number };
  /** Flags end at the first argument; none typed after it are moved (exec, ps). */
  skipArgReorder?: boolean;
}

/** The usage error runc prints after "Incorrect Usage." and the command's help. */
export class IncorrectUsage extends DiycError {
  readonly command: string | undefined;
  readonly flagError: boolean;
  constructor(message: string, command: string | undefined, flagError: boolean) {
    super('usage', message, { exitCode: 1 });
    this.command = command;
    this.flagError = flagError;
  }
}

/** An unknown command or help topic: urfave/cli's exit code 3. */
export class NoHelpTopic extends DiycError {
  constructor(name: string) {
    super('usage', `No help topic for '${name}'`, { exitCode: 3 });
  }
}

const isValueFlag = (def: ArgDef): boolean => def.type === 'string' || def.type === 'enum';

/** Every name a flag answers to, long first: ["bundle", "b"]. */
function names(name: string, def: ArgDef): string[] {
  const aliases = 'alias' in def && def.alias !== undefined ? [def.alias].flat() : [];
  return [name, ...aliases];
}

function flagTable(defs: ArgsDef): Map<string, [string, ArgDef]> {
  const table = new Map<string, [string, ArgDef]>();
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === 'positional') continue;
    for (const n of names(name, def)) table.set(n, [name, def]);
  }
  return table;
}

/**
 * urfave/cli's reorderArgs: flags typed after the arguments move to the front, with the
 * word after each one that has no '=' (it may be its value); '--' ends it.
 */
export function reorderArgs(args: readonly string[]): string[] {
  const flags: string[] = [];
  const rest: string[] = [];
  let value = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (value && !arg.startsWith('-')) {
      value = false;
      flags.push(arg);
      continue;
    }
    value = false;
    if (arg !== '-' && arg.startsWith('-')) {
      flags.push(arg);
      value = !arg.includes('=');
    } else rest.push(arg);
  }
  return [...flags, ...rest];
}

const BOOL: Record<string, boolean> = {
  1: true,
  t: true,
  T: true,
  true: true,
  TRUE: true,
  True: true,
  0: false,
  f: false,
  F: false,
  false: false,
  FALSE: false,
  False: false,
};

export interface ParsedLine {
  flags: ParsedFlags;
  operands: string[];
  help: boolean;
}

/**
 * Go's flag.Parse over `defs`: -x and --x alike, values after '=' or in the next word,
 * repeated string flags collected, the first argument (or '--') ends the flags.
 */
export function parseFlags(args: readonly string[], defs: ArgsDef, command?: string): ParsedLine {
  const table = flagTable(defs);
  const flags: ParsedFlags = {};
  let help = false;
  let i = 0;
  const bad = (message: string): IncorrectUsage => new IncorrectUsage(message, command, true);
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      i++;
      break;
    }
    if (arg === '-' || !arg.startsWith('-') || arg.length < 2) break;
    const body = arg.slice(arg.startsWith('--') ? 2 : 1);
    if (body.startsWith('-') || body.startsWith('=')) throw bad(`bad flag syntax: ${arg}`);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (name === 'h' || name === 'help') {
      help = true;
      continue;
    }
    const found = table.get(name);
    if (!found) throw bad(`flag provided but not defined: -${name}`);
    const [key, def] = found;
    if (!isValueFlag(def)) {
      if (inline !== undefined && !(inline in BOOL)) throw bad(`invalid boolean value "${inline}" for -${name}: parse error`);
      flags[key] = inline === undefined ? true : (BOOL[inline] as boolean);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= args.length) throw bad(`flag needs an argument: -${name}`);
      value = args[++i] as string;
    }
    const prev = flags[key];
    flags[key] = typeof prev === 'string' ? [prev, value] : Array.isArray(prev) ? [...prev, value] : value;
  }
  return { flags, operands: args.slice(i), help };
}

/** The last value of a flag (Go keeps the last of a repeated string flag). */
export function one(value: string | boolean | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value[value.length - 1];
  return typeof value === 'string' ? value : undefined;
}

/** Every value of a repeatable flag. */
export function many(value: string | boolean | string[] | undefined): string[] {
  if (value === undefined || typeof value === 'boolean') return [];
  return Array.isArray(value) ? value : [value];
}

// ---- help, as urfave/cli v1's templates lay it out (template.go) ----

/** "--bundle value, -b value" and its usage, as urfave/cli lists a flag. */
function flagLine(name: string, def: ArgDef): [string, string] {
  const value = isValueFlag(def);
  const forms = names(name, def).map((n) => `${n.length === 1 ? '-' : '--'}${n}${value ? ' value' : ''}`);
  const description = def.description ?? '';
  const shown = value && typeof def.default === 'string' && def.default !== '' ? `${description} (default: "${def.default}")` : description;
  return [forms.join(', '), shown];
}

/** Columns as Go's tabwriter(minwidth 1, tabwidth 8, padding 2) writes urfave's lists. */
function columns(rows: [string, string][], indent: string): string {
  const width = Math.max(0, ...rows.map(([a]) => a.length)) + 2;
  return rows.map(([a, b]) => `${indent}${b ? a.padEnd(width) + b : a}`.trimEnd()).join('\n');
}

export interface AppInfo {
  name: string;
  /** The NAME line after "name - ". */
  usage: string;
  /** The paragraphs after it. */
  about: string;
  version: string;
  commands: Record<string, OciCommand>;
  globals: ArgsDef;
}

function description(cmd: CliCommand): string {
  const meta = cmd.meta as { description?: string } | undefined;
  return meta?.description ?? '';
}

export function appHelp(app: AppInfo): string {
  const cmds = Object.entries(app.commands).map(([n, c]): [string, string] => [n, description(c)]);
  cmds.push(['help, h', 'Shows a list of commands or help for one command']);
  const flags = Object.entries(app.globals)
    .filter(([, d]) => d.type !== 'positional')
    .map(([n, d]) => flagLine(n, d));
  flags.push(['--help, -h', 'show help'], ['--version, -v', 'print the version']);
  return [
    'NAME:',
    `   ${app.name} - ${app.usage}`,
    '',
    app.about,
    '',
    'USAGE:',
    `   ${app.name} [global options] command [command options] [arguments...]`,
    '',
    'VERSION:',
    app.version
      .trimEnd()
      .split('\n')
      .map((l, i) => (i === 0 ? `   ${l}` : l))
      .join('\n'),
    '',
    'COMMANDS:',
    columns(cmds, '   '),
    '',
    'GLOBAL OPTIONS:',
    columns(flags, '   '),
    '',
  ].join('\n');
}

export function commandHelp(app: AppInfo, name: string): string {
  const cmd = app.commands[name];
  if (!cmd) throw new NoHelpTopic(name);
  const flags = Object.entries(cmd.args ?? {})
    .filter(([, d]) => d.type !== 'positional')
    .map(([n, d]) => flagLine(n, d));
  // runc's NAME line is "runc NAME - usage": diyc-oci names itself, and the runc command it stands for.
  const lines = [
    'NAME:',
    `   ${app.name} ${name} - ${description(cmd)} (as runc ${name})`,
    '',
    'USAGE:',
    `   ${app.name} ${name}${flags.length > 0 ? ' [command options]' : ''} ${cmd.argsUsage ?? '[arguments...]'}`.trimEnd(),
  ];
  if (cmd.details) lines.push('', 'DESCRIPTION:', `   ${cmd.details}`);
  if (flags.length > 0) lines.push('', 'OPTIONS:', columns(flags, '   '));
  return `${lines.join('\n')}\n\n`;
}

/** runc's checkArgs: the argument count, as "diyc-oci: "state" requires exactly 1 argument(s)". */
export function checkArgs(app: AppInfo, name: string, operands: readonly string[]): void {
  const count = app.commands[name]?.argCount;
  if (!count) return;
  const n = operands.length;
  const fail = (kind: string, expected: number): never => {
    throw new IncorrectUsage(`${app.name}: "${name}" requires ${kind} ${expected} argument(s)`, name, false);
  };
  if (count.exact !== undefined && n !== count.exact) fail('exactly', count.exact);
  if (count.min !== undefined && n < count.min) fail('a minimum of', count.min);
  if (count.max !== undefined && n > count.max) fail('a maximum of', count.max);
}

/** What a usage error prints on stdout before the error itself (runc's checkArgs and urfave's). */
export function usageText(app: AppInfo, err: IncorrectUsage): string {
  const help = err.command === undefined ? appHelp(app) : commandHelp(app, err.command);
  if (!err.flagError) return `Incorrect Usage.\n\n${help}`;
  // urfave/cli words a bad global flag "Incorrect Usage. ..." and a command's "Incorrect Usage: ...".
  return `Incorrect Usage${err.command === undefined ? '.' : ':'} ${err.message}\n\n${help}`;
}

export interface GlobalLine {
  globals: ParsedFlags;
  /** The command and what follows it. */
  rest: string[];
  help: boolean;
  version: boolean;
}

/** The global flags, up to the command (urfave/cli's app flags; -h and -v too). */
export function parseGlobalLine(app: AppInfo, argv: readonly string[]): GlobalLine {
  const top = parseFlags(argv, { ...app.globals, version: { type: 'boolean', alias: 'v' } });
  const { version, ...globals } = top.flags;
  return { globals, rest: top.operands, help: top.help, version: version === true };
}

export interface Dispatch {
  /** The command and its context; or what to print (help) and the exit code. */
  command?: { name: string; cmd: OciCommand; ctx: CliContext };
  print?: string;
  code?: number;
}

/**
 * Reads the command, its flags and its arguments as urfave/cli would. Throws
 * IncorrectUsage or NoHelpTopic; returns the help to print when it is asked for.
 */
export function dispatch(app: AppInfo, line: GlobalLine): Dispatch {
  const [name, ...rest] = line.rest;
  if (line.help || name === undefined) return { print: appHelp(app), code: 0 };
  if (name === 'help' || name === 'h') {
    if (rest[0] === undefined) return { print: appHelp(app), code: 0 };
    return { print: commandHelp(app, rest[0]), code: 0 };
  }
  const cmd = app.commands[name];
  if (!cmd) throw new NoHelpTopic(name);
  const parsed = parseFlags(cmd.skipArgReorder ? rest : reorderArgs(rest), cmd.args ?? {}, name);
  if (parsed.help) return { print: commandHelp(app, name), code: 0 };
  checkArgs(app, name, parsed.operands);
  return { command: { name, cmd, ctx: { flags: parsed.flags, operands: parsed.operands, globals: line.globals } } };
}

/** Prints `text` on stdout. */
export const print = (text: string): void => writeOut(text);
