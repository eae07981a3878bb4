// The values of docker-style flags, as diyc-run and diyc take them: -e and --env-file,
// -w, -u, --volume, --tmpfs, --ulimit, --sysctl, --dns, --add-host, --cap-add, and
// --security-opt. Each is checked once, at the edge; a bad one is a 'usage' error that
// names the flag.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, posix, resolve } from 'node:path';
import { DiycError, type RecordRlimit } from '@diyc/record';
import { CAPABILITIES, RLIMITS, type Capability, type RlimitType } from '@diyc/syscalls';
import type { SecurityOptions, TmpfsMount, Volume } from './spec.js';

// node:net is loaded only to check --dns and --add-host: loading it costs every start ~1.5 ms.
const require = createRequire(import.meta.url);
const isIP = (text: string): number => (require('node:net') as typeof import('node:net')).isIP(text);

const usage = (message: string): DiycError => new DiycError('usage', message);

/** -e KEY=VALUE, or a bare -e KEY for the host's value (docker's). */
export function envFlags(values: string[], hostEnv: NodeJS.ProcessEnv = process.env): string[] {
  return values.flatMap((v) => envEntry(v, hostEnv, () => usage(`--env ${v}: use KEY=VALUE, or KEY for the host's value`)));
}

export function checkWorkdir(dir: string | undefined): string | undefined {
  if (dir !== undefined && !dir.startsWith('/')) throw usage(`--workdir ${dir}: use an absolute path`);
  return dir;
}

/** USER[:GROUP], names or numbers: looked up in the container's files when it starts. */
export function checkUser(user: string | undefined): string | undefined {
  if (user !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(user))
    throw usage(`--user ${user}: use USER[:GROUP], names or numbers`);
  return user;
}

/** An --env-file's text; a file that cannot be read is a usage error naming it. */
export function readEnvFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw usage(`--env-file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/**
 * An --env-file as docker reads one: a KEY=VALUE per line, taken as it stands (no quotes
 * removed); a bare KEY takes the host's value, and is left out when the host has none;
 * blank lines and lines starting with # are skipped.
 */
export function parseEnvFile(text: string, hostEnv: NodeJS.ProcessEnv, file = 'FILE'): string[] {
  return text.split('\n').flatMap((raw, i) => {
    const line = raw.replace(/\r$/, '').trimStart();
    if (line === '' || line.startsWith('#')) return [];
    return envEntry(line, hostEnv, (key) => usage(`--env-file ${file}, line ${i + 1}: '${key}' is not a variable name (use KEY=VALUE)`));
  });
}

/** KEY=VALUE as it stands, or a bare KEY with the host's value (left out when the host has none), as docker's -e. */
function envEntry(text: string, hostEnv: NodeJS.ProcessEnv, refuse: (key: string) => DiycError): string[] {
  const eq = text.indexOf('=');
  const key = eq < 0 ? text.trimEnd() : text.slice(0, eq);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw refuse(key);
  if (eq >= 0) return [text];
  return hostEnv[key] === undefined ? [] : [`${key}=${hostEnv[key]}`];
}

/** A path inside the container: absolute, normalised, and not the root itself. */
function containerPath(path: string, flag: string): string {
  if (!path.startsWith('/')) throw usage(`${flag}: ${path} is not an absolute path in the container`);
  const normal = posix.normalize(path).replace(/\/+$/, '');
  if (normal === '' || normal === '/') throw usage(`${flag}: cannot mount over the container's root`);
  return normal;
}

/** HOST:CONTAINER[:ro|rw]; the host side must exist (diyc does not make it, unlike docker). */
export function parseVolume(text: string): Volume {
  const parts = text.split(':');
  const [host, container, mode] = parts;
  if (parts.length < 2 || parts.length > 3 || !host || !container) throw usage(`--volume ${text}: use HOST:CONTAINER[:ro]`);
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw usage(`--volume ${text}: the mode is ro or rw, not ${mode}`);
  if (!isAbsolute(host)) throw usage(`--volume ${text}: the host side must be an absolute path (named volumes are not supported)`);
  if (!existsSync(host)) throw usage(`--volume ${text}: ${host} does not exist on the host: create it first`);
  return { host: resolve(host), container: containerPath(container, `--volume ${text}`), readonly: mode === 'ro' };
}

/** docker's --ulimit NAME=SOFT[:HARD] (nofile=1024:4096): NAME is an RLIMIT_ without its prefix. */
export function parseUlimit(text: string): RecordRlimit {
  const m = /^([a-z]+)=(\d+)(?::(\d+))?$/.exec(text);
  const type = `RLIMIT_${m?.[1]?.toUpperCase() ?? ''}`;
  if (!m || !RLIMITS.includes(type as RlimitType))
    throw usage(`--ulimit ${text}: use NAME=SOFT[:HARD] with NAME one of ${RLIMITS.map((r) => r.slice(7).toLowerCase()).join(', ')}`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard)) throw usage(`--ulimit ${text}: the limit is too large`);
  if (soft > hard) throw usage(`--ulimit ${text}: the soft limit is above the hard one`);
  return { type, soft, hard };
}

/** docker's --sysctl KEY=VALUE (net.ipv4.ip_unprivileged_port_start=80). */
export function parseSysctl(text: string): [string, string] {
  const eq = text.indexOf('=');
  const key = text.slice(0, eq);
  if (eq <= 0 || !/^[a-z0-9_]+(\.[a-z0-9_-]+)+$/i.test(key))
    throw usage(`--sysctl ${text}: use KEY=VALUE, as net.ipv4.ip_unprivileged_port_start=80`);
  return [key, text.slice(eq + 1)];
}

/** PATH[:OPTIONS], OPTIONS as mount(8)'s -o (size=64m,exec,...). */
export function parseTmpfs(text: string): TmpfsMount {
  const colon = text.indexOf(':');
  const path = containerPath(colon < 0 ? text : text.slice(0, colon), `--tmpfs ${text}`);
  return {
    path,
    options:
      colon < 0
        ? []
        : text
            .slice(colon + 1)
            .split(',')
            .filter((o) => o !== ''),
  };
}

export function parseDnsServer(text: string): string {
  if (isIP(text) === 0) throw usage(`--dns ${text}: give the name server's IP address`);
  return text;
}

export function parseDnsSearch(text: string): string {
  if (text !== '.' && !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(text))
    throw usage(`--dns-search ${text}: not a domain name`);
  return text;
}

/** NAME:IP, as docker's --add-host (the IP may be IPv6, colons and all). */
export function parseAddHost(text: string): { name: string; ip: string } {
  const colon = text.indexOf(':');
  const [name, ip] = colon < 0 ? [text, ''] : [text.slice(0, colon), text.slice(colon + 1)];
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(name) || isIP(ip) === 0) throw usage(`--add-host ${text}: use NAME:IP`);
  return { name, ip };
}

/** CAP_NET_ADMIN, NET_ADMIN and net_admin all name CAP_NET_ADMIN; ALL is all of them. */
export function capabilityName(text: string, flag: string): string {
  const upper = text.toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!CAPABILITIES.includes(name as Capability)) throw usage(`${flag} ${text}: no such capability (see capabilities(7))`);
  return name;
}

/** What --privileged, --cap-add, --cap-drop, --no-new-privileges and --security-opt ask. */
export function securityOptions(flags: {
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  noNewPrivileges?: boolean;
  securityOpt?: string[];
}): SecurityOptions {
  const security: SecurityOptions = {
    privileged: flags.privileged === true,
    capAdd: (flags.capAdd ?? []).map((c) => capabilityName(c, '--cap-add')),
    capDrop: (flags.capDrop ?? []).map((c) => capabilityName(c, '--cap-drop')),
    noNewPrivileges: flags.noNewPrivileges === true,
    seccomp: 'default',
  };
  for (const opt of flags.securityOpt ?? []) {
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
