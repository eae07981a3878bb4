// diyc-run's options, checked once at the edge and turned into RunOptions.
import { many, one, type ParsedFlags } from '@diyc/cli';
import { limitsFromFlags, parseSize, type Limits } from '@diyc/cgroup';
import { netConfig, parseIp, parsePublish, type NetConfig, type Publish } from '@diyc/net';
import { hostnameFor, hostnameProblem, nameProblem } from '@diyc/record';

export type NetMode = 'bridge' | 'none' | 'host';

export interface RunOptions {
  name: string;
  image: string;
  /** The command; empty: the image's Entrypoint + Cmd. */
  command: string[];
  net: NetMode;
  ip?: string;
  publish: Publish[];
  limits: Limits;
  env: string[];
  workdir?: string;
  verbose: boolean;
  remove: boolean;
  detach: boolean;
  /** The bridge and subnet when net is bridge. */
  netConfig: NetConfig;
}

export class OptionsError extends Error {
  override name = 'OptionsError';
}

/** Reads diyc-run's flags and operands (NAME IMAGE [CMD [ARG...]]); bad ones throw OptionsError. */
export function runOptions(flags: ParsedFlags, operands: string[], env: NodeJS.ProcessEnv = process.env): RunOptions {
  try {
    return readOptions(flags, operands, env);
  } catch (err) {
    if (err instanceof RangeError) throw new OptionsError(err.message);
    throw err;
  }
}

function readOptions(flags: ParsedFlags, operands: string[], env: NodeJS.ProcessEnv): RunOptions {
  const [name, image, ...command] = operands;
  if (name === undefined || image === undefined) throw new OptionsError('usage: diyc-run [OPTIONS] NAME IMAGE [CMD [ARG...]]');
  const nameIssue = nameProblem(name, 'container name');
  if (nameIssue) throw new OptionsError(nameIssue);
  const hostIssue = hostnameProblem(hostnameFor(name));
  if (hostIssue) throw new OptionsError(`container name '${name}' cannot be a hostname: ${hostIssue}`);
  const ip = one(flags.ip);
  const publish = many(flags.publish).map(parsePublish);
  const netFlag = one(flags.net);
  // diyC: without --ip the container shares the host's network. An address or a
  // published port asks for the bridge.
  const net: NetMode = (netFlag as NetMode | undefined) ?? (ip !== undefined || publish.length > 0 ? 'bridge' : 'host');
  if (net !== 'bridge' && ip !== undefined) throw new OptionsError(`--ip needs --net bridge (not --net ${net})`);
  if (net !== 'bridge' && publish.length > 0) throw new OptionsError(`--publish needs --net bridge (not --net ${net})`);
  if (ip !== undefined) parseIp(ip);
  const mem = one(flags.mem);
  const limits = limitsFromFlags({ cpus: flags.cpus, pids: flags.pids });
  if (mem !== undefined) limits.memory = parseSize(mem, 'm');
  const vars = many(flags.env);
  for (const v of vars) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(v)) throw new OptionsError(`--env ${v}: use KEY=VALUE`);
  }
  const workdir = one(flags.workdir);
  if (workdir !== undefined && !workdir.startsWith('/')) throw new OptionsError(`--workdir ${workdir}: use an absolute path`);
  const options: RunOptions = {
    name,
    image,
    command,
    net,
    publish,
    limits,
    env: vars,
    verbose: flags.verbose === true,
    remove: flags.rm === true,
    detach: flags.detach === true,
    netConfig: netConfig({}, env),
  };
  if (ip !== undefined) options.ip = ip;
  if (workdir !== undefined) options.workdir = workdir;
  return options;
}
