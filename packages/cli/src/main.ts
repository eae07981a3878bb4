// runCli(): the thin shell every diyc bin runs its citty command in.
import { renderUsage, type ArgsDef, type CommandDef } from 'citty';
import { DiycError, isDiycError } from '@diyc/record';
import { parseArgv, UsageHint, type FlagHint, type ParsedFlags } from './parse.js';
import { drained, guardStdio, writeErr, writeOut } from './stdio.js';
import { closest } from './suggest.js';
import { printable } from './table.js';
import { commandVersion } from './version.js';

/** What a command's run() receives. */
export interface CliContext {
  flags: ParsedFlags;
  operands: string[];
  /** The flags given before the command, by the globalArgs of the commands above it. */
  globals: ParsedFlags;
}

export interface CliCommand extends Omit<CommandDef<ArgsDef>, 'args' | 'subCommands' | 'run'> {
  args?: ArgsDef;
  /** Options end at the first operand: the rest is a command to run. */
  stopAtOperand?: boolean;
  /**
   * The last operand takes any number of words, and flags may come among them, as docker's
   * CLI reads `rm web -f` (for commands whose operands are names, not a command to run).
   */
  manyOperands?: boolean;
  /** Runs the command; a number returned is the exit code. */
  main?: (ctx: CliContext) => Promise<number | void> | number | void;
  subCommands?: Record<string, CliCommand>;
  /**
   * With subCommands: the flags taken before the command (runc's `--root DIR create`),
   * handed to the command's main() as ctx.globals, and listed in its man page.
   */
  globalArgs?: ArgsDef;
  /**
   * The exit code of a failure that names none: 1 for tools, 125 for those that run a
   * container (their command's own codes stay free), as docker and podman do.
   */
  failureCode?: number;
  /**
   * The exit code of a usage error (a bad flag, a missing operand), 2 unless set on the top
   * command: docker's CLI gives 125, so `diyc` does too.
   */
  usageCode?: number;
  /** What to say when a user types a flag that means something else in docker (-v a:b, --name). */
  hints?: FlagHint[];
  /**
   * Also receives every error line a command ends with (its message, without the
   * command's name), before stderr does and whether or not stderr can be written: diyc-oci
   * sends it to --log, where containerd looks. Set on the top command; what it throws is ignored.
   */
  onError?: (message: string, globals: ParsedFlags) => void;
}

export function defineCli(cmd: CliCommand): CliCommand {
  return cmd;
}

function meta(cmd: CliCommand): { name?: string; version?: string } {
  return cmd.meta && typeof cmd.meta === 'object' && !('then' in cmd.meta) ? (cmd.meta as { name?: string; version?: string }) : {};
}

const ANSI = /\x1b\[[0-9;]*m/g;

/** Colour only for a person: stdout a terminal, and NO_COLOR unset (https://no-color.org). */
export function wantsColour(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env.NO_COLOR === undefined;
}

async function usage(cmd: CliCommand, parent: CliCommand | undefined, colour: boolean): Promise<string> {
  const text = await renderUsage(cmd as CommandDef<ArgsDef>, parent as CommandDef<ArgsDef> | undefined);
  return (colour ? text : text.replace(ANSI, ''))
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

/** The synopsis --help shows ("nsexec [OPTIONS] [COMMAND]"), for the usage line of an error. */
async function usageLine(cmd: CliCommand, parent: CliCommand | undefined): Promise<string> {
  const text = await usage(cmd, parent, false);
  return /^USAGE (.*)$/m.exec(text)?.[1] ?? meta(cmd).name ?? '';
}

/**
 * Runs `cmd` on `argv` and exits: 0 on success (or the number main() returned), 2 on a
 * usage error (with the usage line on stderr), a DiycError's own exit code, or the
 * command's failure code. Every error is one line; -v adds the stack. No stdio makes it
 * fail: what cannot be written is dropped (see stdio.ts).
 */
export async function runCli(cmd: CliCommand, argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  guardStdio();
  const code = await runCliCode(cmd, argv);
  await drained();
  process.exit(code);
}

/** Where runCli is on the command line: the command reached, the one above it, its name. */
interface Position {
  cmd: CliCommand;
  usageCode: number;
  parent: CliCommand | undefined;
  name: string;
  failureCode: number;
  globals: ParsedFlags;
}

/** runCli without the exit: the exit code. */
export async function runCliCode(top: CliCommand, argv: readonly string[]): Promise<number> {
  const at: Position = {
    cmd: top,
    usageCode: top.usageCode ?? 2,
    parent: undefined,
    name: meta(top).name ?? 'diyc',
    failureCode: top.failureCode ?? 1,
    globals: {},
  };
  try {
    if (argv[0] === '--version' || argv[0] === '-V') {
      writeOut(`${meta(top).name} ${meta(top).version ?? commandVersion()}\n`);
      return 0;
    }
    let rest = argv;
    while (at.cmd.subCommands) {
      const commands = at.cmd.subCommands;
      const parsed = parseArgv(rest, at.cmd.globalArgs ?? {}, true, at.cmd.hints);
      Object.assign(at.globals, parsed.flags);
      const [first, ...after] = parsed.operands;
      if (parsed.help || first === undefined) {
        // Help asked for goes to stdout; help for a missing command is a usage error.
        const stream = parsed.help ? process.stdout : process.stderr;
        stream.write(`${await usage(at.cmd, at.parent, wantsColour(stream))}\n`);
        return parsed.help ? 0 : at.usageCode;
      }
      const sub = commands[first];
      if (!sub) throw unknownCommand(first, Object.keys(commands));
      at.parent = at.cmd;
      at.cmd = sub;
      at.name = `${at.name} ${meta(sub).name ?? first}`;
      at.failureCode = sub.failureCode ?? at.failureCode;
      rest = after;
    }
    const { cmd } = at;
    const args: ArgsDef = cmd.args ?? {};
    const parsed = parseArgv(rest, args, cmd.stopAtOperand, cmd.hints);
    if (parsed.help) {
      process.stdout.write(`${await usage(cmd, at.parent, wantsColour())}\n`);
      return 0;
    }
    const positionals = Object.entries(args).filter(([, def]) => def.type === 'positional');
    const required = positionals.filter(([, def]) => def.required !== false);
    if (parsed.operands.length < required.length) {
      const missing = required[parsed.operands.length]?.[0] ?? 'argument';
      throw new DiycError('usage', `missing ${missing.toUpperCase()}`);
    }
    if (!cmd.stopAtOperand && !cmd.manyOperands && parsed.operands.length > positionals.length) {
      throw new DiycError('usage', `unexpected argument '${parsed.operands[positionals.length]}'`);
    }
    const result = await cmd.main?.({ flags: parsed.flags, operands: parsed.operands, globals: at.globals });
    return typeof result === 'number' ? result : 0;
  } catch (err) {
    return await report(err, at, top.onError, asksForStack(at.cmd, argv));
  }
}

/**
 * Whether the error's stack is wanted too: the command has a verbose flag and it was given.
 * Only then: `-v` means a volume to docker's `diyc run`, and a user naming one wants no
 * stack trace.
 */
function asksForStack(cmd: CliCommand, argv: readonly string[]): boolean {
  const def = cmd.args?.verbose;
  if (def?.type !== 'boolean') return false;
  const aliases = 'alias' in def && def.alias !== undefined ? [def.alias].flat() : [];
  const forms = ['--verbose', ...aliases.map((a) => (a.length === 1 ? `-${a}` : `--${a}`))];
  return argv.some((a) => forms.includes(a));
}

/** "unknown command 'stat': did you mean 'state'?", or the list of commands. */
function unknownCommand(word: string, commands: string[]): DiycError {
  const meant = closest(word, commands);
  if (meant !== undefined) return new UsageHint(`unknown command '${word}': did you mean '${meant}'?`);
  return new DiycError('usage', `unknown command '${word}' (commands: ${commands.join(', ')})`);
}

/** Says what failed, on one line (a usage error adds the usage line), and gives the exit code. */
async function report(err: unknown, at: Position, onError: CliCommand['onError'], verbose: boolean): Promise<number> {
  // A message can quote what an image holds (an archive's entry name): its control
  // characters are shown escaped, and the error stays one line.
  const message = printable(err instanceof Error ? err.message : String(err));
  try {
    onError?.(message, at.globals);
  } catch {
    /* a hook that fails must not hide the error itself */
  }
  if (isDiycError(err, 'usage')) {
    const more = err instanceof UsageHint ? '' : `usage: ${await usageLine(at.cmd, at.parent)}\nrun '${at.name} --help' for more\n`;
    writeErr(`${at.name}: ${message}\n${more}`);
    // A usage error's own code (2, @diyc/record's) becomes the top command's usageCode; another one named stays.
    return err.exitCode === undefined || err.exitCode === 2 ? at.usageCode : err.exitCode;
  }
  writeErr(`${at.name}: ${message}\n`);
  if (verbose && err instanceof Error && err.stack) writeErr(`${err.stack}\n`);
  return isDiycError(err) && err.exitCode !== undefined ? err.exitCode : at.failureCode;
}
