// Every `ip` and `iptables` call goes through one small function that checks the exit
// code and throws with stderr, behind an interface a unit test can fake.
import { createRequire } from 'node:module';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { DiycError } from '@diyc/record';
import { setLinkUp } from '@diyc/syscalls';

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface Command {
  command: string;
  args: string[];
  /** What the command reads on stdin. */
  input?: string;
}

export interface Runner {
  /** Runs `command args`, with `input` on stdin; never throws for a non-zero exit. */
  run(command: string, args: string[], input?: string): CommandResult;
  /**
   * Runs the commands of a round at the same time and the rounds one after another,
   * stopping after a round in which a command failed; returns the results of the rounds
   * that ran. The commands are run for what they do: their stdout is not kept. Without
   * it, runRounds runs them one by one through run().
   */
  runRounds?(rounds: Command[][]): CommandResult[][];
  /**
   * Sets a link of this network namespace down in this process, without ip(8); false when
   * it could not (the caller runs `ip link set down`, and says why it failed). Without it,
   * the caller runs ip.
   */
  linkDown?(name: string): boolean;
}

/** A command that exited non-zero: a 'system' DiycError whose cause is its result. */
export function commandError(command: string, result: CommandResult): DiycError {
  return new DiycError('system', `${command} failed: ${result.stderr.trim().split('\n')[0] || `exit ${result.status}`}`, { cause: result });
}

const PACKAGES: Record<string, string> = {
  ip: 'iproute2',
  iptables: 'iptables',
  'iptables-save': 'iptables',
  'iptables-restore': 'iptables',
  nft: 'nftables',
};

/** The path of `tool` in PATH (and the sbin directories root has), or undefined. */
export function which(tool: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const path = join(dir, tool);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

// node:child_process costs about 4 ms to load: only when a command is run, so that a
// container without a bridge (diyc-run --net none) never pays for it.
const require = createRequire(import.meta.url);
let childProcess: typeof import('node:child_process') | undefined;

function resolve(command: string): string {
  const path = which(command);
  if (!path)
    throw new DiycError('missing', `${command} is not installed: install it with \`apt-get install ${PACKAGES[command] ?? command}\``);
  return path;
}

const loadChildProcess = (): typeof import('node:child_process') =>
  (childProcess ??= require('node:child_process') as typeof import('node:child_process'));

/** A word for sh(1), quoted: nothing in it is expanded. */
const quote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

/** sh(1) redirects file descriptors 0 to 9 only: 3 to 9 carry the commands' stderr. */
const MAX_PARALLEL = 7;

/**
 * The sh(1) script that runs `rounds` (commands as [path, ...args] and their input):
 * command i writes its stderr to fd 3+i (its stdout to /dev/null), reads its input from a
 * here-document, and each round prints its commands' exit statuses, one line, on stdout.
 */
export function roundsScript(rounds: { argv: string[]; input?: string }[][]): string {
  const lines: string[] = [];
  let i = 0;
  for (const round of rounds) {
    const pids: string[] = [];
    for (const { argv, input } of round) {
      const redirect = `>/dev/null 2>&${3 + i}`;
      if (input === undefined || input === '') lines.push(`${argv.map(quote).join(' ')} </dev/null ${redirect} &`);
      else {
        // A here-document adds the newline its last line needs: the input is given without it.
        const end = `DIYC_INPUT_${i}`;
        const body = input.endsWith('\n') ? input.slice(0, -1) : input;
        if (body.split('\n').includes(end)) throw new DiycError('invalid', `the input of ${argv[0]} holds the line ${end}`);
        lines.push(`${argv.map(quote).join(' ')} ${redirect} <<'${end}' &`, body, end);
      }
      pids.push(`p${i}=$!`);
      lines.push(pids[pids.length - 1] as string);
      i++;
    }
    const first = i - round.length;
    const statuses = round.map((_, j) => `s${first + j}`);
    for (const [j, s] of statuses.entries()) lines.push(`wait $p${first + j}; ${s}=$?`);
    lines.push(`echo ${statuses.map((s) => `$${s}`).join(' ')}`);
    lines.push(`[ "${statuses.map((s) => `$${s}`).join('')}" = "${'0'.repeat(round.length)}" ] || exit 0`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs every round one command after another: what a Runner without runRounds gets. */
function runRoundsInTurn(runner: Runner, rounds: Command[][]): CommandResult[][] {
  const results: CommandResult[][] = [];
  for (const round of rounds) {
    const done = round.map((c) => runner.run(c.command, c.args, c.input));
    results.push(done);
    if (done.some((r) => r.status !== 0)) break;
  }
  return results;
}

/** See Runner.runRounds. */
export function runRounds(runner: Runner, rounds: Command[][]): CommandResult[][] {
  return runner.runRounds ? runner.runRounds(rounds) : runRoundsInTurn(runner, rounds);
}

export const systemRunner: Runner = {
  // Two ioctl(2)s, not a process of ip(8)'s: ~6 ms of each container's detach (issue 22).
  linkDown(name) {
    try {
      setLinkUp(name, false);
      return true;
    } catch {
      return false;
    }
  },
  run(command, args, input) {
    const path = resolve(command);
    const r = loadChildProcess().spawnSync(path, args, { input: input ?? '', encoding: 'utf8' });
    if (r.error) throw r.error;
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  },
  // A command waits on the kernel more than it works (a veth's deletion and an nft
  // transaction that removes rules each wait out an RCU grace period): commands that do
  // not depend on each other run at once, all the rounds in one sh(1) process, so that
  // Node forks once.
  runRounds(rounds) {
    const commands = rounds.flat();
    if (commands.length <= 1 || commands.length > MAX_PARALLEL) return runRoundsInTurn(systemRunner, rounds);
    const script = roundsScript(
      rounds.map((round) =>
        round.map((c) => ({ argv: [resolve(c.command), ...c.args], ...(c.input !== undefined ? { input: c.input } : {}) })),
      ),
    );
    const stdio = ['ignore', 'pipe', 'pipe', ...commands.map(() => 'pipe' as const)] as const;
    const r = loadChildProcess().spawnSync('/bin/sh', ['-c', script], { stdio: [...stdio], encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status !== 0)
      throw new DiycError(
        'system',
        `sh (running ${commands.map((c) => c.command).join(', ')}) failed: ${r.stderr.trim() || `exit ${r.status ?? r.signal}`}`,
      );
    const statuses = r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ').map(Number));
    const results: CommandResult[][] = [];
    let i = 0;
    for (const [n, round] of rounds.entries()) {
      const line = statuses[n];
      if (line === undefined) break;
      results.push(
        round.map((_, j) => {
          return { status: line[j] ?? 1, stdout: '', stderr: (r.output[3 + i + j] as string | null) ?? '' };
        }),
      );
      i += round.length;
    }
    return results;
  },
};

/** Runs a command and throws (commandError) unless it exits 0. */
export function mustRun(runner: Runner, command: string, args: string[], input?: string): string {
  const result = runner.run(command, args, input);
  if (result.status !== 0) throw commandError(`${command} ${args.join(' ')}`.trim(), result);
  return result.stdout;
}
