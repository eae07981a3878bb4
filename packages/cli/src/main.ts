// runCli(): the thin shell every diyc bin runs its citty command in.
import { renderUsage, type ArgsDef, type CommandDef } from 'citty';
import { parseArgv, UsageError, type ParsedFlags } from './parse.js';

/** An error meant for the user: printed as one line, exiting with `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.exitCode = options.exitCode ?? 1;
  }
}

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
}

export function defineCli(cmd: CliCommand): CliCommand {
  return cmd;
}

function progName(cmd: CliCommand, parents: string[]): string {
  const meta = cmd.meta && typeof cmd.meta === 'object' && !('then' in cmd.meta) ? cmd.meta : undefined;
  return [...parents, meta?.name ?? 'diyc'].join(' ');
}

/** The one-line synopsis: NAME [OPTIONS] OPERAND..., or NAME COMMAND for a command with subcommands. */
function usageLine(cmd: CliCommand, name: string): string {
  if (cmd.subCommands) return `${name} <${Object.keys(cmd.subCommands).join('|')}> ...`;
  const args: ArgsDef = cmd.args ?? {};
  const operands = Object.entries(args)
    .filter(([, def]) => def.type === 'positional')
    .map(([key, def]) => (def.required === false ? `[${key.toUpperCase()}...]` : key.toUpperCase()));
  return [name, '[OPTIONS]', ...operands].join(' ');
}

async function usage(cmd: CliCommand, parent?: CliCommand): Promise<string> {
  return renderUsage(cmd as CommandDef<ArgsDef>, parent as CommandDef<ArgsDef> | undefined);
}

/**
 * Runs `cmd` on `argv` and exits: 0 on success (or the number main() returned),
 * 2 on a usage error (usage on stderr), the CliError's exitCode, or 1.
 */
export async function runCli(cmd: CliCommand, argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  const code = await runCliCode(cmd, argv, []);
  // Let stdout drain before exiting: a pipeline stage's JSON must reach the next one whole.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

async function runCliCode(cmd: CliCommand, argv: readonly string[], parents: string[], parent?: CliCommand): Promise<number> {
  const name = progName(cmd, parents);
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  try {
    if (cmd.subCommands) {
      const first = argv[0];
      if (first === undefined || first === '--help' || first === '-h') {
        const text = await usage(cmd, parent);
        if (first === undefined) {
          process.stderr.write(`${text}\n`);
          return 2;
        }
        process.stdout.write(`${text}\n`);
        return 0;
      }
      const sub = cmd.subCommands[first];
      if (!sub) throw new UsageError(`unknown command '${first}' (commands: ${Object.keys(cmd.subCommands).join(', ')})`);
      return await runCliCode(sub, argv.slice(1), [name], cmd);
    }
    const args: ArgsDef = cmd.args ?? {};
    const parsed = parseArgv(argv, args, cmd.stopAtOperand ?? false);
    if (parsed.help) {
      process.stdout.write(`${await usage(cmd, parent)}\n`);
      return 0;
    }
    const positionals = Object.entries(args).filter(([, def]) => def.type === 'positional');
    const required = positionals.filter(([, def]) => def.required !== false);
    if (parsed.operands.length < required.length) {
      const missing = required[parsed.operands.length]?.[0] ?? 'argument';
      throw new UsageError(`missing ${missing.toUpperCase()}`);
    }
    if (!cmd.stopAtOperand && parsed.operands.length > positionals.length) {
      throw new UsageError(`unexpected argument '${parsed.operands[positionals.length]}'`);
    }
    const result = await cmd.main?.({ flags: parsed.flags, operands: parsed.operands });
    return typeof result === 'number' ? result : 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${name}: ${err.message}\nusage: ${usageLine(cmd, name)}\nrun '${name} --help' for more\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${name}: ${message}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
