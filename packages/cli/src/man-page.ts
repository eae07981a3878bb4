// A command's man page in roff (man(7) macros), made from its definition, so that
// `man diyc-run` says what `diyc-run --help` says.
import { describeCommand, summary, synopsis, type CommandDoc, type FlagDoc } from './command-doc.js';
import type { CliCommand } from './main.js';

export interface ManOptions {
  /** The version of the package, for the page's footer. */
  version: string;
  /** The other commands to name under SEE ALSO: ['diyc-run', 'nsexec']. */
  seeAlso?: string[];
}

/**
 * Text for roff: backslashes and dashes escaped (a dash is a minus, so `--json` can be
 * copied from the page), and a line that would start with a control character kept as text.
 */
export function roffText(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/gm, '\\&$1');
}

/** An argument of a macro line, in double quotes. */
const quoted = (text: string): string => `"${roffText(text).replace(/"/g, '\\(dq')}"`;

const bold = (text: string): string => `\\fB${roffText(text)}\\fR`;
const italic = (text: string): string => `\\fI${roffText(text)}\\fR`;

/** "\fB-m\fR, \fB--mem\fR \fISIZE\fR", then the description, as a tagged paragraph. */
function flagItem(flag: FlagDoc): string[] {
  const names = [...flag.short.map((s) => bold(`-${s}`)), bold(`--${flag.long}`)].join(', ');
  const value = flag.value ? ` ${italic(flag.value.name)}` : '';
  const description =
    flag.description + (flag.default !== undefined && !flag.description.includes('default') ? ` (default: ${flag.default})` : '');
  return ['.TP', `${names}${value}`, roffText(description)];
}

const HELP: FlagDoc = { long: 'help', short: ['h'], description: 'show the options and exit' };
const VERSION: FlagDoc = { long: 'version', short: [], description: 'print the version and exit (the first option only)' };

/** The SYNOPSIS line of a command: its name in bold, its operands in italics. */
function synopsisLine(doc: CommandDoc): string {
  const operands = roffText(synopsis(doc)).replace(/[A-Z]+/g, (name) => `\\fI${name}\\fR`);
  return `${bold(doc.path)} ${operands}`;
}

/** "Run a command" -> "run a command", for the NAME line; "IMAGE" stays. */
const lowerFirst = (text: string): string => (/^[A-Z][a-z]/.test(text) ? `${text[0]?.toLowerCase()}${text.slice(1)}` : text);

function operandList(doc: CommandDoc): string[] {
  return doc.operands.flatMap((o) => ['.TP', italic(o.name.toUpperCase()), roffText(o.description)]);
}

/** 0, the failure code and 2, in order. */
function exitStatus(failureCode: number): string[] {
  const codes: [number, string][] = [
    [0, 'success, unless the description above says otherwise'],
    [2, 'a usage error: an unknown option or command (the closest known one is named), a missing operand'],
    [failureCode, 'the command failed: the reason is one line on standard error'],
  ];
  return codes.sort(([a], [b]) => a - b).flatMap(([code, text]) => ['.TP', bold(String(code)), text]);
}

/** The man page (section 1) of `cmd`. */
export function manPage(cmd: CliCommand, options: ManOptions): string {
  const doc = describeCommand(cmd);
  const lines: string[] = [
    `.\\" ${doc.path}(1): made from its command definition by @diyc/cli; do not edit.`,
    `.TH ${doc.path.toUpperCase()} 1 "" ${quoted(`diyc ${options.version}`)} "diyc manual"`,
    // Left-aligned, and no word broken at a line's end: flags and paths stay whole.
    '.ad l',
    '.nh',
    '.SH NAME',
    `${roffText(doc.path)} \\- ${roffText(lowerFirst(summary(doc.description)))}`,
    '.SH SYNOPSIS',
  ];
  if (doc.commands.length === 0) lines.push(synopsisLine(doc));
  else lines.push(doc.commands.map(synopsisLine).join('\n.br\n'));
  lines.push('.SH DESCRIPTION', roffText(doc.description));
  if (doc.commands.length === 0) {
    lines.push('.SH OPTIONS', ...[...doc.flags, HELP, VERSION].flatMap(flagItem));
    if (doc.operands.length > 0) lines.push('.SH OPERANDS', ...operandList(doc));
  } else {
    if (doc.globals.length > 0)
      lines.push(
        '.SH GLOBAL OPTIONS',
        `Given before the command: ${roffText(doc.path)} ${italic('OPTIONS')} ${italic('COMMAND')}.`,
        ...doc.globals.flatMap(flagItem),
      );
    lines.push('.SH COMMANDS');
    for (const sub of doc.commands) {
      lines.push(
        `.SS ${quoted(`${sub.path} ${synopsis(sub)}`.trim())}`,
        roffText(sub.description),
        ...sub.flags.flatMap(flagItem),
        ...operandList(sub),
      );
    }
    lines.push('.PP', `Every command takes ${bold('-h')}, ${bold('--help')}; ${bold(`${doc.path} --version`)} prints the version.`);
  }
  lines.push(
    '.SH EXIT STATUS',
    ...exitStatus(doc.failureCode),
    '.SH ENVIRONMENT',
    '.TP',
    bold('NO_COLOR'),
    'help is coloured only on a terminal, and never when NO_COLOR is set (to anything)',
  );
  const seeAlso = (options.seeAlso ?? []).filter((name) => name !== doc.path);
  if (seeAlso.length > 0)
    lines.push('.SH SEE ALSO', ...seeAlso.map((name, i) => `.BR ${roffText(name)} (1)${i < seeAlso.length - 1 ? ',' : ''}`));
  return `${lines.join('\n')}\n`;
}
