// Every `ip` and `iptables` call goes through one small function that checks the exit
// code and throws with stderr, behind an interface a unit test can fake.
import { createRequire } from 'node:module';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { DiycError } from '@diyc/record';

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface Runner {
  /** Runs `command args`, with `input` on stdin; never throws for a non-zero exit. */
  run(command: string, args: string[], input?: string): CommandResult;
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

export const systemRunner: Runner = {
  run(command, args, input) {
    const path = which(command);
    if (!path)
      throw new DiycError('missing', `${command} is not installed: install it with \`apt-get install ${PACKAGES[command] ?? command}\``);
    childProcess ??= require('node:child_process') as typeof import('node:child_process');
    const r = childProcess.spawnSync(path, args, { input: input ?? '', encoding: 'utf8' });
    if (r.error) throw r.error;
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  },
};

/** Runs a command and throws (commandError) unless it exits 0. */
export function mustRun(runner: Runner, command: string, args: string[], input?: string): string {
  const result = runner.run(command, args, input);
  if (result.status !== 0) throw commandError(`${command} ${args.join(' ')}`.trim(), result);
  return result.stdout;
}
