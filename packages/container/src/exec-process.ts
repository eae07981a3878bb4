// The process `exec` runs in a container, as docker-style front ends ask for it (diyc-exec,
// `diyc exec`): the container's own process (its environment, user, capabilities, working
// directory) with another command, and what -e, -w and -u change, as docker exec's do.
import { setEnv, type ContainerRecord, type RecordProcess } from '@diyc/record';
import { lookUpUser } from './users.js';

/** What exec's -e, -w and -u change in the container's own process. */
export interface ExecOverrides {
  /** KEY=VALUE, in order: each replaces the container's own. */
  env?: string[];
  cwd?: string;
  /** USER[:GROUP], looked up in the container's /etc/passwd and /etc/group; HOME follows. */
  user?: string;
}

/** The process exec runs: the container's own, with `command`, the overrides, and a terminal or not. */
export function execProcess(record: ContainerRecord, command: string[], overrides: ExecOverrides, terminal: boolean): RecordProcess {
  const proc: RecordProcess = { ...record.process, args: command, terminal };
  if (overrides.user !== undefined) {
    const found = lookUpUser(record, overrides.user);
    proc.user = found.user;
    proc.env = setEnv(proc.env, 'HOME', found.home);
  }
  for (const e of overrides.env ?? []) proc.env = setEnv(proc.env, e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1));
  if (overrides.cwd !== undefined) proc.cwd = overrides.cwd;
  return proc;
}
