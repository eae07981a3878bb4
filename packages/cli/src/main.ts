// runCli(): the thin shell every diyc bin runs its citty command in.
import { renderUsage, type ArgsDef, type CommandDef } from 'citty';
import { DiycError, isDiycError } from '@diyc/record';
import { parseArgv, type ParsedFlags } from './parse.js';
import { printable } from './table.js';
import { commandVersion } from './version.js';

/** What a command's run() receives. */
export interface CliContext {
  flags: ParsedFlags;
  operands: string[];
}

export interface CliCommand extends Omit<CommandDef<ArgsDef>, 'args' | 'subCommands' | 'run'> {
  args?: ArgsDef;
  /** Options end at the first operand: the rest is a command to run. */
  stopAtOperand?: boolean;
  /** Runs the command; a number returned is the exit code. */
  main?: (ctx: CliContext) => Promise<number | void> | number | void;
  subCommands?: Record<string, CliCommand>;
  /**
   * The exit code of a failure that names none: 1 for tools, 125 for those that run a
   * container (their command's own codes stay free), as docker and podman do.
   */
  failureCode?: number;
}

export function defineCli(cmd: CliCommand): CliCommand {
  return cmd;
}

function meta(cmd: CliCommand): { name?: string; version?: string } {
  return cmd.meta && typeof cmd.meta === 'object' && !('then' in cmd.meta) ? cmd.meta as { name?: string; version?: string } : {};
}

const ANSI = /\x1b\[[0-9;]*m/g;

/** Colour only for a person: stdout a terminal, and NO_COLOR unset (https://no-color.org). */
export function wantsColour(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env.NO_COLOR === undefined;
}

async function usage(cmd: CliCommand, parent: CliCommand | undefined, colour: boolean): Promise<string> {
  const text = await renderUsage(cmd as CommandDef<ArgsDef>, parent as CommandDef<ArgsDef> | undefined);
  return (colour ? text : text.replace(ANSI, '')).split('\n').map((l) => l.trimEnd()).join('\n');
}

/** The synopsis --help shows ("nsexec [OPTIONS] [COMMAND]"), for the usage line of an error. */
async function usageLine(cmd: CliCommand, parent: CliCommand | undefined): Promise<string> {
  const text = await usage(cmd, parent, false);
  return /^USAGE (.*)$/m.exec(text)?.[1] ?? meta(cmd).name ?? '';
}

/**
 * Runs `cmd` on `argv` and exits: 0 on success (or the number main() returned), 2 on a
 * usage error (with the usage line on stderr), a DiycError's own exit code, or the
 * command's failure code. Every error is one line; -v adds the stack.
 */
export async function runCli(cmd: CliCommand, argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  const code = await runCliCode(cmd, argv, []);
  // Let stdout drain before exiting: a pipeline stage's JSON must reach the next one whole.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

async function runCliCode(cmd: CliCommand, argv: readonly string[], parents: string[], parent?: CliCommand): Promise<number> {
  const name = [...parents, meta(cmd).name ?? 'diyc'].join(' ');
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  const failureCode = cmd.failureCode ?? parent?.failureCode ?? 1;
  try {
    if (parents.length === 0 && (argv[0] === '--version' || argv[0] === '-V')) {
      process.stdout.write(`${meta(cmd).name} ${meta(cmd).version ?? commandVersion()}\n`);
      return 0;
    }
    if (cmd.subCommands) {
      const first = argv[0];
      if (first === undefined || first === '--help' || first === '-h') {
        if (first === undefined) {
          process.stderr.write(`${await usage(cmd, parent, wantsColour(process.stderr))}\n`);
          return 2;
        }
        process.stdout.write(`${await usage(cmd, parent, wantsColour())}\n`);
        return 0;
      }
      const sub = cmd.subCommands[first];
      if (!sub) throw new DiycError('usage', `unknown command '${first}' (commands: ${Object.keys(cmd.subCommands).join(', ')})`);
      return await runCliCode(sub, argv.slice(1), [name], cmd);
    }
    const args: ArgsDef = cmd.args ?? {};
    const parsed = parseArgv(argv, args, cmd.stopAtOperand ?? false);
    if (parsed.help) {
      process.stdout.write(`${await usage(cmd, parent, wantsColour())}\n`);
      return 0;
    }
    const positionals = Object.entries(args).filter(([, def]) => def.type === 'positional');
    const required = positionals.filter(([, def]) => def.required !== false);
    if (parsed.operands.length < required.length) {
      const missing = required[parsed.operands.length]?.[0] ?? 'argument';
      throw new DiycError('usage', `missing ${missing.toUpperCase()}`);
    }
    if (!cmd.stopAtOperand && parsed.operands.length > positionals.length) {
      throw new DiycError('usage', `unexpected argument '${parsed.operands[positionals.length]}'`);
    }
    const result = await cmd.main?.({ flags: parsed.flags, operands: parsed.operands });
    return typeof result === 'number' ? result : 0;
  } catch (err) {
    // A message can quote what an image holds (an archive's entry name): its control
    // characters are shown escaped, and the error stays one line.
    if (isDiycError(err, 'usage')) {
      process.stderr.write(`${name}: ${printable(err.message)}\nusage: ${await usageLine(cmd, parent)}\nrun '${name} --help' for more\n`);
      return err.exitCode ?? 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${name}: ${printable(message)}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return isDiycError(err) && err.exitCode !== undefined ? err.exitCode : failureCode;
  }
}
