// Shell completion scripts for bash, zsh and fish, made from a command definition: the
// subcommands, the flags of each (with the help flags), and their values (an enum's
// words, files, directories).
import { describeCommand, summary, type CommandDoc, type FlagDoc } from './command-doc.js';
import type { CliCommand } from './main.js';

const HELP: FlagDoc = { long: 'help', short: ['h'], description: 'show the options and exit' };
const VERSION: FlagDoc = { long: 'version', short: [], description: 'print the version and exit' };

/** Every command of the tree, the top one first, with its words after the bin ('' for the top). */
function commands(doc: CommandDoc, at = ''): { at: string; doc: CommandDoc }[] {
  return [{ at, doc }, ...doc.commands.flatMap((sub) => commands(sub, at ? `${at} ${sub.word}` : sub.word))];
}

/** The flags a command takes where it is: its globals before its command, or its own. */
const flagsOf = (doc: CommandDoc, top: boolean): FlagDoc[] => [
  ...(doc.commands.length > 0 ? doc.globals : doc.flags),
  HELP,
  ...(top ? [VERSION] : []),
];

/** The forms a flag is typed in; a boolean that is on unless turned off has --no-X too. */
const names = (flag: FlagDoc): string[] => [
  ...flag.short.map((s) => `-${s}`),
  `--${flag.long}`,
  ...(flag.default === 'true' && !flag.value ? [`--no-${flag.long}`] : []),
];

/** A word in single quotes, for any of the three shells. */
const sq = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

const fnName = (bin: string): string => `_${bin.replace(/[^A-Za-z0-9]/g, '_')}`;

/** The bash completion script of `cmd`: `complete -F _diyc_net diyc-net`. */
export function bashCompletion(cmd: CliCommand): string {
  const top = describeCommand(cmd);
  const fn = fnName(top.path);
  const arm = (indent: string, patterns: string[], body: string): string => `${indent}${patterns.map(sq).join('|')}) ${body} ;;`;
  const walk: string[] = [];
  const words: string[] = [];
  // The values of flags, by what completes them: one arm per kind.
  const values = new Map<string, string[]>();
  for (const { at, doc } of commands(top)) {
    const flags = flagsOf(doc, at === '');
    const valued = flags.filter((f) => f.value);
    const here = (word: string): string => `${at}|${word}`;
    if (valued.length > 0) walk.push(arm('      ', valued.flatMap(names).map(here), '((i++))'));
    if (doc.commands.length > 0)
      walk.push(
        arm(
          '      ',
          doc.commands.map((sub) => here(sub.word)),
          `at=${at ? `${sq(`${at} `)}"\${COMP_WORDS[i]}"` : '${COMP_WORDS[i]}'}`,
        ),
      );
    // After the first operand of such a command, the rest is another command's.
    else if (doc.stopAtOperand) walk.push(`      ${sq(here(''))}[!-]*) compopt -o default 2>/dev/null; return 0 ;;`);
    for (const flag of valued) {
      const kind = flag.value?.kind;
      const body =
        kind === 'file'
          ? 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))'
          : kind === 'dir'
            ? 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur"))'
            : typeof kind === 'object'
              ? `COMPREPLY=($(compgen -W ${sq(kind.words.join(' '))} -- "$cur"))`
              : ':';
      values.set(body, [...(values.get(body) ?? []), ...names(flag).map(here)]);
    }
    words.push(`    ${sq(here(''))}-*) COMPREPLY=($(compgen -W ${sq(flags.flatMap(names).join(' '))} -- "$cur")) ;;`);
    if (doc.commands.length > 0)
      words.push(`    ${sq(here(''))}*) COMPREPLY=($(compgen -W ${sq(doc.commands.map((c) => c.word).join(' '))} -- "$cur")) ;;`);
  }
  const valueArms = [...values].map(([body, patterns]) => arm('    ', patterns, `${body}; return 0`));
  return `# bash completion for ${top.path}: made from its command definition by @diyc/cli; do not edit.
# Source it, or copy it to ~/.local/share/bash-completion/completions/${top.path}.
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} at= i
  COMPREPLY=()
  # The command named so far (after the bin), skipping flags and the values they take.
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "$at|\${COMP_WORDS[i]}" in
${walk.join('\n')}
      *'|--') compopt -o default 2>/dev/null; return 0 ;;
    esac
  done
  # The value of the flag before the cursor: free text (:), words, files or directories.
  case "$at|$prev" in
${valueArms.join('\n')}
  esac
  # A flag, or a command.
  case "$at|$cur" in
${words.join('\n')}
  esac
  return 0
}
complete -F ${fn} ${top.path}
`;
}

/** Text for zsh's _arguments: inside [description] and after : (message). */
const zshDescription = (text: string): string => text.replace(/[\\[\]]/g, '\\$&');
const zshMessage = (text: string): string => text.replace(/[\\:]/g, '\\$&');

function zshAction(flag: FlagDoc): string {
  const kind = flag.value?.kind;
  if (kind === 'file') return '_files';
  if (kind === 'dir') return '_files -/';
  if (typeof kind === 'object') return `(${kind.words.join(' ')})`;
  return '( )';
}

/** One _arguments spec: '(-b --bundle)'{-b+,--bundle=}'[the bundle]:DIR:_files -/'. */
function zshFlag(flag: FlagDoc): string {
  const description = `[${zshDescription(summary(flag.description) || flag.long)}]`;
  const value = flag.value ? `:${zshMessage(flag.value.name)}:${zshAction(flag)}` : '';
  const forms = names(flag).map((n) => (flag.value ? `${n}${n.startsWith('--') ? '=' : '+'}` : n));
  // A flag that takes a value may be given again (-e A -e B); a boolean once.
  const exclusive = flag.long === 'help' || flag.long === 'version' ? '(- *)' : flag.value ? '*' : `(${names(flag).join(' ')})`;
  if (forms.length === 1) return sq(`${exclusive}${forms[0]}${description}${value}`);
  return `${sq(exclusive)}{${forms.join(',')}}${sq(`${description}${value}`)}`;
}

function zshArguments(doc: CommandDoc, top: boolean, indent: string): string {
  const specs = flagsOf(doc, top).map(zshFlag);
  if (doc.commands.length > 0) specs.push(sq('1:command:->command'), sq('*::argument:->argument'));
  else {
    doc.operands.forEach((o, i) => {
      const last = i === doc.operands.length - 1;
      if (last && doc.stopAtOperand) specs.push(sq(`*::${o.name}:_normal`));
      else if (last && doc.manyOperands) specs.push(sq(`*:${o.name}:( )`));
      else specs.push(sq(`${o.required ? '' : ':'}:${o.name}:( )`));
    });
  }
  const options = doc.stopAtOperand ? "-S -A '-*'" : '-S';
  return `_arguments -C ${options} \\\n${specs.map((s) => `${indent}  ${s}`).join(' \\\n')}`;
}

/** The zsh completion script of `cmd`, for a directory of $fpath as _BIN (or to source). */
export function zshCompletion(cmd: CliCommand): string {
  const top = describeCommand(cmd);
  const fn = `_${top.path}`;
  let body = `  ${zshArguments(top, true, '  ')} && ret=0\n`;
  if (top.commands.length > 0) {
    const list = top.commands.map((c) => `    ${sq(`${c.word}:${zshMessage(summary(c.description))}`)}`).join('\n');
    const subs = top.commands.map((c) => `        ${c.word})\n          ${zshArguments(c, false, '          ')} && ret=0 ;;`).join('\n');
    body += `  case $state in
    command)
      local -a commands=(
${list.replace(/^/gm, '    ')}
      )
      _describe -t commands command commands && ret=0 ;;
    argument)
      curcontext=\${curcontext%:*:*}:${top.path}-$line[1]:
      case $line[1] in
${subs}
      esac ;;
  esac
`;
  }
  return `#compdef ${top.path}
# zsh completion for ${top.path}: made from its command definition by @diyc/cli; do not edit.
# Put it in a directory of $fpath as ${fn}, or source it after compinit.
${fn}() {
  local curcontext=$curcontext state line ret=1
  typeset -A opt_args
${body}  return ret
}
if [ "$funcstack[1]" = ${sq(fn)} ]; then ${fn} "$@"; else compdef ${fn} ${top.path}; fi
`;
}

/** The fish completion script of `cmd`, for ~/.config/fish/completions/BIN.fish. */
export function fishCompletion(cmd: CliCommand): string {
  const top = describeCommand(cmd);
  const lines = [
    `# fish completion for ${top.path}: made from its command definition by @diyc/cli; do not edit.`,
    `# Copy it to ~/.config/fish/completions/${top.path}.fish.`,
  ];
  const base = `complete -c ${top.path}`;
  // Operands are files only where a command runs another command (its arguments).
  if (top.commands.length > 0 || !top.stopAtOperand) lines.push(`${base} -f`);
  for (const { at, doc } of commands(top)) {
    const condition =
      top.commands.length === 0
        ? ''
        : at === ''
          ? ' -n __fish_use_subcommand'
          : ` -n ${sq(`__fish_seen_subcommand_from ${at.split(' ').pop()}`)}`;
    for (const flag of flagsOf(doc, at === '')) {
      const kind = flag.value?.kind;
      const value =
        kind === undefined
          ? ''
          : kind === 'file'
            ? ' -r -F'
            : kind === 'dir'
              ? ` -x -a ${sq('(__fish_complete_directories)')}`
              : typeof kind === 'object'
                ? ` -x -a ${sq(kind.words.join(' '))}`
                : ' -x';
      const forms = names(flag)
        .map((n) => (n.startsWith('--') ? ` -l ${n.slice(2)}` : ` -s ${n.slice(1)}`))
        .join('');
      lines.push(`${base}${condition}${forms}${value} -d ${sq(summary(flag.description) || flag.long)}`);
    }
    for (const sub of doc.commands) lines.push(`${base}${condition} -a ${sub.word} -d ${sq(summary(sub.description))}`);
  }
  return `${lines.join('\n')}\n`;
}
