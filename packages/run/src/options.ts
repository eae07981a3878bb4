// diyc-run's options, checked once at the edge and turned into RunOptions: the
// container's spec (@diyc/container), and how diyc-run runs it.
import { resolve } from 'node:path';
import { many, one, type ParsedFlags } from '@diyc/cli';
import { resourcesFromFlags } from '@diyc/cgroup';
import {
  checkUser,
  checkWorkdir,
  envFlags,
  parseAddHost,
  parseDnsSearch,
  parseDnsServer,
  parseEnvFile,
  parseSysctl,
  parseTmpfs,
  parseUlimit,
  parseVolume,
  readEnvFile,
  securityOptions,
  type ContainerSpec,
  type DnsOptions,
  type NetMode,
} from '@diyc/container';
import { netConfig, parseIp, parsePublish } from '@diyc/net';
import { DiycError, hostnameFor, hostnameProblem, nameProblem } from '@diyc/record';

/** diyc-run's options: the container's spec, and how diyc-run runs it. */
export interface RunOptions extends ContainerSpec {
  /** --env-file FILE, in order (absolute: the replayed pipeline may run elsewhere). */
  envFiles: string[];
  verbose: boolean;
  remove: boolean;
  detach: boolean;
  /** -d: the log is rotated before it passes logSize bytes (0: never), keeping logFiles old ones. */
  logSize: number;
  logFiles: number;
}

const usage = (message: string): DiycError => new DiycError('usage', message);

/** A detached container's log is rotated before it passes this (--log-size), keeping this many old ones. */
export const DEFAULT_LOG_SIZE = 10 * 1024 * 1024;
export const DEFAULT_LOG_FILES = 2;

/** How many processes a container may have unless --pids says otherwise (podman's pids_limit). */
export const DEFAULT_PIDS_LIMIT = 2048;

/** --log-size SIZE: 10M, 1G, a bare number of bytes; 0 for no limit. */
function logSize(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LOG_SIZE;
  const m = /^(\d+)([kmg]?)i?b?$/i.exec(text);
  if (!m) throw usage(`--log-size ${text}: give a size, as 10M or 1G (0 for no limit)`);
  return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase());
}

/** A whole number of 0 or more, or the default. */
function count(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw usage(`${flag} ${text}: give a whole number`);
  return Number(text);
}

/** --pids N (docker's --pids-limit): the default without it; 0 or -1 for no limit. */
function pidsLimit(text: string | undefined): string | undefined {
  if (text === undefined) return String(DEFAULT_PIDS_LIMIT);
  return text === '0' || text === '-1' ? undefined : text;
}

/** Reads diyc-run's flags and operands (NAME IMAGE [CMD [ARG...]]); bad ones are 'usage' errors. */
export function runOptions(flags: ParsedFlags, operands: string[], env: NodeJS.ProcessEnv = process.env): RunOptions {
  const [name, image, ...command] = operands;
  if (name === undefined || image === undefined) throw usage('usage: diyc-run [OPTIONS] NAME IMAGE [CMD [ARG...]]');
  const nameIssue = nameProblem(name, 'container name');
  if (nameIssue) throw usage(nameIssue);
  const hostIssue = hostnameProblem(hostnameFor(name));
  if (hostIssue) throw usage(`container name '${name}' cannot be a hostname: ${hostIssue}`);
  const ip = one(flags.ip);
  // docker's `-it` reads here as diyC's -i (--ip) with the address "t".
  if (ip === 't')
    throw usage(
      "-it: -i is diyC's --ip here (an address); the command gets a terminal of its own whenever stdin is one: leave out -i, or give -t alone",
    );
  const publish = many(flags.publish).map(parsePublish);
  // A network namespace of its own on the bridge, unless --net says otherwise (as Docker
  // and podman): sharing the host's reached its 127.0.0.1-only servers, its loopback
  // traffic and its abstract unix sockets. --ip is diyC's -i: an address on the bridge.
  const net: NetMode = (one(flags.net) as NetMode | undefined) ?? 'bridge';
  if (net !== 'bridge' && ip !== undefined) throw usage(`--ip needs --net bridge (not --net ${net})`);
  if (net !== 'bridge' && publish.length > 0) throw usage(`--publish needs --net bridge (not --net ${net})`);
  if (ip !== undefined) parseIp(ip);
  // -m as diyC's: a bare number is megabytes.
  const resources = resourcesFromFlags(
    { memory: one(flags.mem), pids: pidsLimit(one(flags.pids) ?? one(flags['pids-limit'])), cpus: one(flags.cpus) },
    'm',
  );
  const vars = envFlags(many(flags.env), env);
  // Absolute: the --dry-run pipeline that replays them may run from another directory.
  const envFiles = many(flags['env-file']).map((file) => resolve(file));
  const fileEnv = envFiles.flatMap((file) => parseEnvFile(readEnvFile(file), env, file));
  const entrypoint = one(flags.entrypoint);
  const workdir = checkWorkdir(one(flags.workdir));
  const user = checkUser(one(flags.user));
  const dns: DnsOptions = {
    servers: many(flags.dns).map(parseDnsServer),
    search: many(flags['dns-search']).map(parseDnsSearch),
    hosts: many(flags['add-host']).map(parseAddHost),
  };
  const sysctls = Object.fromEntries(many(flags.sysctl).map(parseSysctl));
  if (net === 'host' && Object.keys(sysctls).some((k) => k.startsWith('net.')))
    throw usage(
      "--sysctl net.*: with --net host the container shares the host's network: leave out --net host, or it would change the host",
    );
  if (net === 'host' && (dns.servers.length > 0 || dns.search.length > 0))
    throw usage("--dns and --dns-search need the container's own network (not --net host, which keeps the host's resolv.conf)");
  const options: RunOptions = {
    name,
    image,
    command,
    net,
    publish,
    resources,
    env: vars,
    envFiles,
    fileEnv,
    readOnly: flags['read-only'] === true,
    ulimits: many(flags.ulimit).map(parseUlimit),
    sysctls,
    verbose: flags.verbose === true,
    remove: flags.rm === true,
    detach: flags.detach === true,
    logSize: logSize(one(flags['log-size'])),
    logFiles: count(one(flags['log-files']), '--log-files', DEFAULT_LOG_FILES),
    netConfig: netConfig({}, env),
    security: securityOptions({
      privileged: flags.privileged === true,
      capAdd: many(flags['cap-add']),
      capDrop: many(flags['cap-drop']),
      noNewPrivileges: flags['no-new-privileges'] === true,
      securityOpt: many(flags['security-opt']),
    }),
    volumes: many(flags.volume).map(parseVolume),
    tmpfs: many(flags.tmpfs).map(parseTmpfs),
    init: flags.init === true,
    dns,
  };
  if (ip !== undefined) options.ip = ip;
  if (user !== undefined) options.user = user;
  if (workdir !== undefined) options.workdir = workdir;
  if (entrypoint !== undefined) options.entrypoint = entrypoint === '' ? [] : [entrypoint];
  return options;
}
