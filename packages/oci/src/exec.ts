// `diyc-oci exec`: the process runc's flags or --process describe (as containerd passes
// it: capabilities, user, rlimits...), checked, then the core's exec. Everything after the
// container's ID is the command. runc's checks come first, in its order and words.
import { existsSync, readFileSync } from 'node:fs';
import { posix, resolve } from 'node:path';
import type { CliContext } from '@diyc/cli';
import { exec } from '@diyc/container';
import { ANNOTATION, DiycError, parseRecord, type RecordProcess } from '@diyc/record';
import { unsupportedFields } from './bundle.js';
import { cgroupMounts, controllersOf } from './cgroup-mounts.js';
import { intFlag, type OciContext } from './cli.js';
import { existingContainer, ociRuntime } from './containers.js';
import { checkTerminal } from './lifecycle.js';
import { many, one } from './shell.js';

/** An OCI process object (exec --process FILE), checked as a record's process is. */
export function parseProcess(text: string, warn: (m: string) => void = () => {}): RecordProcess {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DiycError('invalid', `the process is not JSON: ${(err as Error).message}`);
  }
  const refused = unsupportedFields({ process: raw }, warn);
  if (refused.length > 0) throw new DiycError('unsupported', `diyc-oci cannot honour ${refused.join(', ')}`);
  return parseRecord(JSON.stringify({ process: raw, mounts: [], linux: { namespaces: [] } })).process;
}

export interface ExecFlags {
  env: string[];
  cwd?: string;
  user?: string;
  tty: boolean;
  additionalGids?: string[];
  caps?: string[];
  noNewPrivs?: boolean;
}

/**
 * The process `exec ID CMD...` runs: the container's own, with the command, env, cwd, user,
 * groups and capabilities asked (runc's getProcess). Without --tty it has no terminal.
 */
export function processFromArgs(base: RecordProcess, args: string[], flags: ExecFlags): RecordProcess {
  const user = { ...base.user, uid: base.user?.uid ?? 0, gid: base.user?.gid ?? 0 };
  const process: RecordProcess = { ...base, args, terminal: flags.tty, user };
  for (const e of flags.env) {
    // A later value of a variable wins: the one a person adds replaces the config's.
    const eq = e.indexOf('=');
    const key = eq < 0 ? e : e.slice(0, eq);
    process.env = [...process.env.filter((v) => v !== key && !v.startsWith(`${key}=`)), e];
  }
  if (flags.cwd !== undefined && flags.cwd !== '') process.cwd = flags.cwd;
  if (flags.caps && flags.caps.length > 0) {
    const caps = { ...(base.capabilities ?? {}) };
    for (const set of ['bounding', 'effective', 'permitted', 'ambient'] as const) caps[set] = [...(caps[set] ?? []), ...flags.caps];
    process.capabilities = caps;
  }
  if (flags.noNewPrivs !== undefined) process.noNewPrivileges = flags.noNewPrivs;
  if (flags.user !== undefined && flags.user !== '') {
    const [uid, gid] = flags.user.split(/:(.*)/s);
    if (gid !== undefined) {
      if (!/^-?\d+$/.test(gid)) throw new DiycError('usage', `parsing ${gid} as int for gid failed: invalid syntax`);
      user.gid = Number(gid);
    }
    if (!/^-?\d+$/.test(uid ?? '')) throw new DiycError('usage', `parsing ${uid} as int for uid failed: invalid syntax`);
    user.uid = Number(uid);
  }
  for (const text of flags.additionalGids ?? []) {
    if (!/^-?\d+$/.test(text)) throw new DiycError('usage', `invalid value "${text}" for flag -additional-gids: parse error`);
    const gid = Number(text);
    if (gid < 0) throw new DiycError('usage', `additional-gids must be a positive number ${gid}`);
    user.additionalGids = [...(user.additionalGids ?? []), gid];
  }
  if (process.cwd === '' || !process.cwd.startsWith('/'))
    throw new DiycError('invalid', process.cwd === '' ? 'Cwd property must not be empty' : 'Cwd must be an absolute path');
  return process;
}

/** The process JSON of --process FILE. */
export function readProcessFile(file: string, warn: (m: string) => void): RecordProcess {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DiycError(
      'not-found',
      `open ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
    );
  }
  return parseProcess(text, warn);
}

/**
 * exec --cgroup [CONTROLLER[,CONTROLLER]:]PATH (repeatable): the cgroup.procs files the
 * process joins, each of the container's own moved to PATH under it for the controllers
 * named (all of them without a prefix, which may then be given once). runc's words.
 */
export function subCgroupProcs(
  procs: readonly string[],
  args: readonly string[],
  mounts: Map<string, string[]> = cgroupMounts(),
): string[] {
  if (args.length === 0) return [...procs];
  const paths = new Map<string, string>();
  for (const arg of args) {
    const parts = arg.split(':');
    if (parts.length > 2) throw new DiycError('usage', `invalid --cgroup argument: ${arg}`);
    if (parts.length === 1) {
      if (args.length !== 1) throw new DiycError('usage', `invalid --cgroup argument: ${arg} (missing <controller>: prefix)`);
      paths.set('', arg);
    } else {
      for (const ctrl of (parts[0] as string).split(',')) paths.set(ctrl, parts[1] as string);
    }
  }
  const controllers = (file: string): string[] => controllersOf(file, mounts);
  const joined = (file: string, sub: string): string => {
    const dir = posix.dirname(file);
    const target = posix.join(dir, sub);
    if (!target.startsWith(dir)) throw new DiycError('usage', `${sub} is not a sub cgroup path`);
    return posix.join(target, 'cgroup.procs');
  };
  const all = paths.get('');
  if (all !== undefined && paths.size === 1) return procs.map((f) => joined(f, all));
  const known = new Set(procs.flatMap(controllers));
  for (const ctrl of paths.keys()) if (!known.has(ctrl)) throw new DiycError('usage', `unknown controller ${ctrl} in SubCgroupPaths`);
  return procs.map((file) => {
    const sub = controllers(file)
      .map((c) => paths.get(c))
      .find((p) => p !== undefined);
    return sub === undefined ? file : joined(file, sub);
  });
}

/** `exec [FLAGS] ID CMD...` or `exec --process FILE ID`: returns the process's exit code (0 detached). */
export async function execCommand(ctx: OciContext, { flags, operands }: CliContext): Promise<number> {
  const [id, ...command] = operands;
  const container = existingContainer(ctx.root, id);
  const status = container.status();
  const ignorePaused = flags['ignore-paused'] === true;
  if (status === 'stopped') throw new DiycError('state', 'cannot exec in a stopped container');
  if (status === 'paused' && !ignorePaused)
    throw new DiycError('state', 'cannot exec in a paused container (use --ignore-paused to override)');
  const file = one(flags.process);
  if (file === undefined && command.length === 0) throw new DiycError('usage', 'process args cannot be empty');
  for (const [flag, what] of [
    ['apparmor', 'AppArmor'],
    ['process-label', 'SELinux'],
  ] as const) {
    if (one(flags[flag]) !== undefined && one(flags[flag]) !== '') throw new DiycError('unsupported', `--${flag}: diyc has no ${what}`);
  }
  const record = container.record();
  if (!record) throw new DiycError('state', `container ${id} has no record`);
  let proc: RecordProcess;
  if (file !== undefined) {
    proc = readProcessFile(file, ctx.warn);
  } else {
    const cwd = one(flags.cwd);
    const user = one(flags.user);
    proc = processFromArgs(record.process, command, {
      env: many(flags.env),
      tty: flags.tty === true,
      additionalGids: many(flags['additional-gids']),
      caps: many(flags.cap),
      ...(cwd !== undefined ? { cwd } : {}),
      ...(user !== undefined ? { user } : {}),
      ...(flags['no-new-privs'] !== undefined ? { noNewPrivs: flags['no-new-privs'] === true } : {}),
    });
  }
  const detach = flags.detach === true;
  const consoleSocket = one(flags['console-socket']);
  checkTerminal(proc.terminal === true, detach, consoleSocket);
  const procs = (record.annotations[ANNOTATION.cgroupProcs] ?? '').split(':').filter(Boolean);
  const cgroupArgs = many(flags.cgroup);
  const cgroupProcs = subCgroupProcs(procs, cgroupArgs);
  if (cgroupArgs.length > 0) {
    // The process writes itself into these: say which is missing as runc does, before it is made.
    const missing = cgroupProcs.find((f) => !existsSync(f));
    if (missing)
      throw new DiycError('not-found', `error adding pid to cgroups: failed to write: openat2 ${missing}: no such file or directory`);
  }
  const pidFile = one(flags['pid-file']);
  return exec(ociRuntime(ctx, container.name), container, proc, {
    detach,
    preserveFds: intFlag(one(flags['preserve-fds']), 'preserve-fds'),
    ignorePaused,
    ...(cgroupArgs.length > 0 ? { cgroupProcs } : {}),
    ...(pidFile !== undefined ? { pidFile: resolve(pidFile) } : {}),
    ...(consoleSocket !== undefined ? { consoleSocket } : {}),
    ...(ctx.log.debugging
      ? {
          onSpawn: (pid: number) => {
            // runc's debug lines for an exec (its suite greps them), at the points they are true.
            ctx.log.debug(`nsexec container setup: pid ${pid} cloned to join ${container.name}`, { pid });
            ctx.log.debug('child process in init(): let go to join the namespaces and the cgroup, and take the policy', { pid });
            ctx.log.debug(`setns_init: about to exec ${proc.args[0] ?? ''}`, { pid });
          },
        }
      : {}),
  });
}
