// The command line of diyc-shim (src/native/shim.c), built from typed options, and the
// exit file it writes, read back. The shim itself is found by shimPath() (binding.ts).
import { shimPath } from './binding.js';
import type { ExitStatus } from './spawn.js';

export interface ShimOptions {
  /** Supervise this pid, a child of the process that execs the shim (`--pid`). */
  pid?: number;
  /** Or fork and exec this command (`-- CMD [ARG...]`), its output on new pipes. */
  command?: string[];
  /** With `pid`: the read ends of the child's output pipes, or its pty master. */
  stdoutFd?: number;
  stderrFd?: number;
  ptyFd?: number;
  /** Where the output is appended. */
  log?: string;
  /** Rotate before the log would pass this many bytes (0 or absent: never). */
  logSize?: number;
  /** How many rotated files are kept (the shim's default: 1). */
  logFiles?: number;
  /** `{"code","signal","finishedAt"}` written there, atomically, when the child ends. */
  exitFile?: string;
  /** The shim's own pid written there, atomically. */
  pidFile?: string;
  /** Exec'd at the end, after the exit file is written: [PATH, ARG...], argv[0] = PATH. */
  exitCommand?: string[];
  /** One byte is written there, and it is closed, once the shim is set up. */
  readyFd?: number;
  /** Keep descriptors 0-2 as inherited instead of /dev/null (tests, debugging). */
  keepStdio?: boolean;
}

/** How the supervised child ended, as the shim's exit file says. */
export interface ShimExit extends ExitStatus {
  /** When it was reaped: RFC 3339, milliseconds, UTC. */
  finishedAt: string;
}

/** A shim's flags are wrong: a programming error of the caller, named. */
export class ShimOptionsError extends Error {
  override name = 'ShimOptionsError';
}

const fdOption = (name: string, fd: number | undefined): string[] => {
  if (fd === undefined) return [];
  // 0-2 are /dev/null in the shim: an output or the ready pipe cannot be there.
  if (!Number.isInteger(fd) || fd < 3) throw new ShimOptionsError(`diyc-shim ${name} ${fd}: give a descriptor above 2`);
  return [name, String(fd)];
};

/** The arguments after the shim's path (argv[1..]) for `options`; checked as the shim checks them. */
export function shimArgv(options: ShimOptions): string[] {
  const { pid, command } = options;
  if ((pid === undefined) === (command === undefined)) throw new ShimOptionsError('diyc-shim: give either a pid or a command');
  if (pid !== undefined && (!Number.isInteger(pid) || pid < 1)) throw new ShimOptionsError(`diyc-shim --pid ${pid}: not a process id`);
  if (command !== undefined && command.length === 0) throw new ShimOptionsError('diyc-shim: the command is empty');
  if (command && (options.stdoutFd ?? options.stderrFd ?? options.ptyFd) !== undefined) {
    throw new ShimOptionsError('diyc-shim: output descriptors go with a pid; a command gets new pipes');
  }
  if (options.logSize && !options.log) throw new ShimOptionsError('diyc-shim: a log size needs a log');
  const numbered = [options.stdoutFd, options.stderrFd, options.ptyFd, options.readyFd].filter((fd) => fd !== undefined);
  if (new Set(numbered).size !== numbered.length) throw new ShimOptionsError('diyc-shim: one descriptor is named twice');
  const exitCommand = options.exitCommand;
  if (exitCommand && (exitCommand.length === 0 || exitCommand.includes('--'))) {
    throw new ShimOptionsError('diyc-shim: the exit command needs a path, and cannot hold the argument --');
  }
  const file = (name: string, path: string | undefined): string[] => (path === undefined ? [] : [name, path]);
  const count = (name: string, n: number | undefined): string[] => {
    if (n === undefined) return [];
    if (!Number.isSafeInteger(n) || n < 0) throw new ShimOptionsError(`diyc-shim ${name} ${n}: give a whole number`);
    return [name, String(n)];
  };
  return [
    ...(pid !== undefined ? ['--pid', String(pid)] : []),
    ...fdOption('--stdout-fd', options.stdoutFd),
    ...fdOption('--stderr-fd', options.stderrFd),
    ...fdOption('--pty-fd', options.ptyFd),
    ...file('--log', options.log),
    ...count('--log-size', options.logSize),
    ...count('--log-files', options.logFiles),
    ...file('--exit-file', options.exitFile),
    ...file('--pid-file', options.pidFile),
    ...(exitCommand ? ['--exit-command', ...exitCommand, '--'] : []),
    ...fdOption('--ready-fd', options.readyFd),
    ...(options.keepStdio ? ['--keep-stdio'] : []),
    ...(command ? ['--', ...command] : []),
  ];
}

/**
 * The shim's whole argv, its path first, for spawn()'s `supervisor`, which adds
 * `--pid PID` itself once it has made the process to supervise.
 */
export function supervisorArgv(options: Omit<ShimOptions, 'pid' | 'command'>): string[] {
  return [shimPath(), ...shimArgv({ ...options, pid: 1 }).slice(2)];
}

/** The contents of a shim's exit file, checked; null if it is not one. */
export function parseShimExit(text: string): ShimExit | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { code, signal, finishedAt } = value as Record<string, unknown>;
  const small = (n: unknown): n is number | null => n === null || (Number.isInteger(n) && (n as number) >= 0 && (n as number) < 256);
  if (!small(code) || !small(signal) || typeof finishedAt !== 'string') return null;
  return { code, signal, finishedAt };
}
