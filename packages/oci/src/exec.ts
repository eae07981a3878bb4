// `diyc-oci exec`: the process runc's flags or --process describe (as containerd passes
// it: capabilities, user, rlimits...), checked, then the core's exec.
import { readFileSync } from 'node:fs';
import { exec, type ExecOptions } from '@diyc/container';
import { DiycError, parseRecord, type RecordProcess } from '@diyc/record';
import { unsupportedFields } from './bundle.js';
import { existingContainer, ociRuntime, type OciContext } from './lifecycle.js';

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

/** Runs the process in the container; returns its exit code (foreground), or 0 once it runs (detached). */
export async function execInContainer(ctx: OciContext, id: string | undefined, proc: RecordProcess, options: ExecOptions): Promise<number> {
  const container = existingContainer(ctx.root, id);
  return exec(ociRuntime(ctx, container.name), container, proc, options);
}

/** The process `exec ID CMD...` runs: the container's own, with the command, env, cwd and user asked. */
export function processFromArgs(base: RecordProcess, args: string[], flags: { env: string[]; cwd?: string; user?: string; tty: boolean }): RecordProcess {
  const process: RecordProcess = { ...base, args, terminal: flags.tty };
  for (const e of flags.env) {
    if (e.indexOf('=') <= 0) throw new DiycError('usage', `--env ${e}: use KEY=VALUE`);
    const key = e.slice(0, e.indexOf('='));
    process.env = [...process.env.filter((v) => !v.startsWith(`${key}=`)), e];
  }
  if (flags.cwd !== undefined) process.cwd = flags.cwd;
  if (flags.user !== undefined) {
    const m = /^(\d+)(?::(\d+))?$/.exec(flags.user);
    if (!m) throw new DiycError('usage', `--user ${flags.user}: use UID[:GID] (numbers)`);
    process.user = { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
  }
  return process;
}

/** The process JSON of --process FILE. */
export function readProcessFile(file: string, warn: (m: string) => void): RecordProcess {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DiycError('not-found', `--process ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return parseProcess(text, warn);
}
