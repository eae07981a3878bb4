// diyc-run's options, checked once at the edge and turned into RunOptions.
import { many, one, type ParsedFlags } from '@diyc/cli';
import { resourcesFromParsed } from '@diyc/cgroup';
import { netConfig, parseIp, parsePublish, type NetConfig, type Publish } from '@diyc/net';
import { DiycError, hostnameFor, hostnameProblem, nameProblem, type Resources } from '@diyc/record';
import { CAPABILITIES, type Capability } from '@diyc/syscalls';

export type NetMode = 'bridge' | 'none' | 'host';

/** What the container may do: diyc-run's defaults, loosened or tightened by flags. */
export interface SecurityOptions {
  /** --privileged: every capability, no seccomp, every device, no masked paths. */
  privileged: boolean;
  /** Capability names (CAP_*), or ALL. */
  capAdd: string[];
  capDrop: string[];
  noNewPrivileges: boolean;
  /** The default profile, none, or the OCI profile in a file. */
  seccomp: 'default' | 'unconfined' | { file: string };
}

export interface RunOptions {
  name: string;
  image: string;
  /** The command; empty: the image's Entrypoint + Cmd. */
  command: string[];
  net: NetMode;
  ip?: string;
  publish: Publish[];
  /** memory, pids and cpu as the flags ask (OCI form); the device rules come from security. */
  resources: Resources;
  env: string[];
  workdir?: string;
  verbose: boolean;
  remove: boolean;
  detach: boolean;
  /** The bridge and subnet when net is bridge. */
  netConfig: NetConfig;
  security: SecurityOptions;
}

const usage = (message: string): DiycError => new DiycError('usage', message);

/** Reads diyc-run's flags and operands (NAME IMAGE [CMD [ARG...]]); bad ones are 'usage' errors. */
export function runOptions(flags: ParsedFlags, operands: string[], env: NodeJS.ProcessEnv = process.env): RunOptions {
  const [name, image, ...command] = operands;
  if (name === undefined || image === undefined) throw usage('usage: diyc-run [OPTIONS] NAME IMAGE [CMD [ARG...]]');
  const nameIssue = nameProblem(name, 'container name');
  if (nameIssue) throw usage(nameIssue);
  const hostIssue = hostnameProblem(hostnameFor(name));
  if (hostIssue) throw usage(`container name '${name}' cannot be a hostname: ${hostIssue}`);
  const ip = one(flags.ip);
  const publish = many(flags.publish).map(parsePublish);
  const netFlag = one(flags.net);
  // diyC: without --ip the container shares the host's network. An address or a
  // published port asks for the bridge.
  const net: NetMode = (netFlag as NetMode | undefined) ?? (ip !== undefined || publish.length > 0 ? 'bridge' : 'host');
  if (net !== 'bridge' && ip !== undefined) throw usage(`--ip needs --net bridge (not --net ${net})`);
  if (net !== 'bridge' && publish.length > 0) throw usage(`--publish needs --net bridge (not --net ${net})`);
  if (ip !== undefined) parseIp(ip);
  // -m as diyC's: a bare number is megabytes.
  const resources = resourcesFromParsed({ memory: flags.mem, pids: flags.pids, cpus: flags.cpus }, 'm');
  const vars = many(flags.env);
  for (const v of vars) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(v)) throw usage(`--env ${v}: use KEY=VALUE`);
  }
  const workdir = one(flags.workdir);
  if (workdir !== undefined && !workdir.startsWith('/')) throw usage(`--workdir ${workdir}: use an absolute path`);
  const options: RunOptions = {
    name,
    image,
    command,
    net,
    publish,
    resources,
    env: vars,
    verbose: flags.verbose === true,
    remove: flags.rm === true,
    detach: flags.detach === true,
    netConfig: netConfig({}, env),
    security: readSecurity(flags),
  };
  if (ip !== undefined) options.ip = ip;
  if (workdir !== undefined) options.workdir = workdir;
  return options;
}

/** CAP_NET_ADMIN, NET_ADMIN and net_admin all name CAP_NET_ADMIN; ALL is all of them. */
export function capabilityName(text: string, flag: string): string {
  const upper = text.toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!CAPABILITIES.includes(name as Capability)) throw usage(`${flag} ${text}: no such capability (see capabilities(7))`);
  return name;
}

function readSecurity(flags: ParsedFlags): SecurityOptions {
  const security: SecurityOptions = {
    privileged: flags.privileged === true,
    capAdd: many(flags['cap-add']).map((c) => capabilityName(c, '--cap-add')),
    capDrop: many(flags['cap-drop']).map((c) => capabilityName(c, '--cap-drop')),
    noNewPrivileges: flags['no-new-privileges'] === true,
    seccomp: 'default',
  };
  for (const opt of many(flags['security-opt'])) {
    // Docker reads both seccomp=VALUE and the older seccomp:VALUE.
    const m = /^([a-z-]+)(?:[=:](.*))?$/.exec(opt);
    const [key, value] = [m?.[1], m?.[2]];
    if (key === 'seccomp' && value !== undefined && value !== '') {
      security.seccomp = value === 'unconfined' ? 'unconfined' : { file: value };
    } else if (key === 'no-new-privileges' && (value === undefined || value === 'true' || value === 'false')) {
      security.noNewPrivileges = value !== 'false';
    } else if (key === 'apparmor' || key === 'label') {
      throw usage(`--security-opt ${opt}: diyc has no ${key === 'label' ? 'SELinux' : 'AppArmor'} support`);
    } else {
      throw usage(`--security-opt ${opt}: use seccomp=unconfined, seccomp=FILE or no-new-privileges`);
    }
  }
  return security;
}
