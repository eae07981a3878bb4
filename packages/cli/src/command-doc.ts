// A command definition as its man page and completion scripts see it: the flags with
// their names, values and words, the operands, the subcommands. One walk of the
// definition, so the man page, bash, zsh and fish all say the same.
import type { ArgDef, ArgsDef } from 'citty';
import type { CliCommand } from './main.js';

/** What a flag's value is, for completion: one of some words, a file, a directory, or free text. */
export type ValueKind = { words: string[] } | 'file' | 'dir' | 'text';

export interface FlagDoc {
  /** The long name, without dashes: 'mem'. */
  long: string;
  /** One-letter aliases: ['m']. */
  short: string[];
  /** For a flag that takes a value: what it is called ('SIZE'), and what kind it is. */
  value?: { name: string; kind: ValueKind };
  description: string;
  /** A value it has when not given, other than a boolean's false. */
  default?: string;
}

export interface OperandDoc {
  name: string;
  required: boolean;
  description: string;
}

export interface CommandDoc {
  /** The command as typed: 'diyc-oci create'. */
  path: string;
  /** Its own word: 'create' (the bin's name for the top command). */
  word: string;
  description: string;
  flags: FlagDoc[];
  /** With commands: the flags before the command. */
  globals: FlagDoc[];
  operands: OperandDoc[];
  /** Options end at the first operand, and the last operand takes the rest of the line. */
  stopAtOperand: boolean;
  /** The last operand takes any number of words, flags among them. */
  manyOperands: boolean;
  commands: CommandDoc[];
  failureCode: number;
}

/** The kind of a value, read from its valueHint: FILE, PATH and SOCKET are files, DIR a directory. */
function valueKind(def: ArgDef, hint: string): ValueKind {
  if (def.type === 'enum') return { words: [...('options' in def ? (def.options ?? []) : [])] };
  if (/\b(FILE|PATH|SOCKET)\b/.test(hint)) return 'file';
  if (/\bDIR\b/.test(hint)) return 'dir';
  return 'text';
}

function flagDocs(args: ArgsDef | undefined): FlagDoc[] {
  return Object.entries(args ?? {})
    .filter(([, def]) => def.type !== 'positional')
    .map(([long, def]) => {
      const aliases = 'alias' in def && def.alias !== undefined ? [def.alias].flat() : [];
      const doc: FlagDoc = { long, short: aliases.filter((a) => a.length === 1), description: def.description ?? '' };
      if (def.type === 'string' || def.type === 'enum') {
        const hint =
          ('valueHint' in def ? def.valueHint : undefined) ??
          (def.type === 'enum' ? [...('options' in def ? (def.options ?? []) : [])].join('|') : 'VALUE');
        doc.value = { name: hint, kind: valueKind(def, hint) };
      }
      if (def.default !== undefined && def.default !== false) doc.default = String(def.default);
      return doc;
    });
}

function meta(cmd: CliCommand): { name?: string; description?: string } {
  return cmd.meta && typeof cmd.meta === 'object' && !('then' in cmd.meta) ? (cmd.meta as { name?: string; description?: string }) : {};
}

/** The documentation model of `cmd`, its subcommands included. */
export function describeCommand(cmd: CliCommand, parent?: { path: string; failureCode: number }, word?: string): CommandDoc {
  const own = word ?? meta(cmd).name ?? 'diyc';
  const path = parent ? `${parent.path} ${own}` : own;
  const failureCode = cmd.failureCode ?? parent?.failureCode ?? 1;
  return {
    path,
    word: own,
    description: meta(cmd).description ?? '',
    flags: flagDocs(cmd.args),
    globals: flagDocs(cmd.globalArgs),
    operands: Object.entries(cmd.args ?? {})
      .filter(([, def]) => def.type === 'positional')
      .map(([name, def]) => ({ name, required: def.required !== false, description: def.description ?? '' })),
    stopAtOperand: cmd.stopAtOperand ?? false,
    manyOperands: cmd.manyOperands ?? false,
    commands: Object.entries(cmd.subCommands ?? {}).map(([key, sub]) => describeCommand(sub, { path, failureCode }, key)),
    failureCode,
  };
}

/** "[OPTIONS] NAME [IMAGE] [COMMAND...]": a command's line after its name. */
export function synopsis(doc: CommandDoc): string {
  if (doc.commands.length > 0) return `${doc.globals.length > 0 ? '[GLOBAL OPTIONS] ' : ''}COMMAND [OPTIONS]`;
  const operands = doc.operands.map((o, i) => {
    const rest = (doc.stopAtOperand || doc.manyOperands) && i === doc.operands.length - 1 ? '...' : '';
    return o.required ? `${o.name.toUpperCase()}${rest}` : `[${o.name.toUpperCase()}${rest}]`;
  });
  return [...(doc.flags.length > 0 ? ['[OPTIONS]'] : []), ...operands].join(' ');
}

/** The first clause of a description, for a man page's NAME line and a completion menu. */
export function summary(description: string): string {
  const cut = description.search(/[.:;](\s|$)| \(/);
  return (cut < 0 ? description : description.slice(0, cut)).trim();
}
