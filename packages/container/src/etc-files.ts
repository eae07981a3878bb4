// /etc/hostname, /etc/hosts and /etc/resolv.conf, written into the container's root
// filesystem (its upper layer) before it starts, as diyC did. Written through
// rootfs-files.ts: a symlinked /etc in the image cannot send them to the host.
import { existsSync, readFileSync } from 'node:fs';
import { ANNOTATION, wrap, type ContainerRecord } from '@diyc/record';
import { writeInRoot as write } from './rootfs-files.js';

/** Writes one file, saying which and where when the rootfs does not let it be written. */
function writeInRoot(rootfs: string, path: string, content: string): void {
  try {
    write(rootfs, path, content);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ELOOP'
        ? `${path} goes through a symlink loop in the container's files`
        : `${path} cannot be written in the container's files`;
    throw wrap(err, `${why} (fix it inside the container, or remove the container and run it again)`);
  }
}

/** systemd-resolved's file of the real upstream servers (its stub, 127.0.0.53, is in /etc/resolv.conf). */
export const SYSTEMD_RESOLV_CONF = '/run/systemd/resolve/resolv.conf';
/** Docker's last resort when the host knows no name server a container can reach. */
export const FALLBACK_SERVERS = ['8.8.8.8', '8.8.4.4'];

export interface ResolvInput {
  /** The host's /etc/resolv.conf, and systemd-resolved's upstream file (undefined: missing). */
  host?: string;
  systemd?: string;
  /** The container shares the host's network: the host's file as it is. */
  hostNetwork: boolean;
  /** --dns and --dns-search. */
  servers: string[];
  search: string[];
}

/** A loopback name server: the host's own stub resolver, which a container cannot reach. */
const isLoopback = (ip: string): boolean => ip.startsWith('127.') || ip === '::1';

function parse(text: string): { servers: string[]; rest: string[] } {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith(';'));
  return {
    servers: lines
      .filter((l) => /^nameserver\s/.test(l))
      .map((l) => l.split(/\s+/)[1] ?? '')
      .filter((ip) => ip !== ''),
    rest: lines.filter((l) => /^(search|domain|options)\s/.test(l)),
  };
}

/**
 * The container's /etc/resolv.conf, and a note of where its servers came from when that
 * is not plain: a container on its own network cannot reach a server on the host's
 * loopback (systemd-resolved's 127.0.0.53, a local dnsmasq), so those are replaced by
 * systemd-resolved's upstream servers, or else by Docker's fallback.
 */
export function containerResolvConf(input: ResolvInput): { content: string; note?: string } {
  if (input.hostNetwork) return { content: input.host ?? '' };
  const host = parse(input.host ?? '');
  let servers = input.servers;
  let note: string | undefined;
  if (servers.length === 0) {
    servers = host.servers.filter((ip) => !isLoopback(ip));
    if (servers.length === 0) {
      const why =
        host.servers.length > 0
          ? `the host's resolv.conf names only loopback servers (${host.servers.join(', ')})`
          : 'the host has no name server';
      const upstream = parse(input.systemd ?? '').servers.filter((ip) => !isLoopback(ip));
      if (upstream.length > 0) {
        servers = upstream;
        note = `resolv.conf: ${why}: using systemd-resolved's upstream servers from ${SYSTEMD_RESOLV_CONF}`;
      } else {
        servers = FALLBACK_SERVERS;
        note = `resolv.conf: ${why}: using ${FALLBACK_SERVERS.join(', ')} (give your own with --dns)`;
      }
    }
  }
  const rest = host.rest.filter((l) => !(input.search.length > 0 && /^(search|domain)\s/.test(l)));
  const search = input.search.length > 0 ? [`search ${input.search.join(' ')}`] : [];
  const content = [...servers.map((ip) => `nameserver ${ip}`), ...search, ...rest, ''].join('\n');
  return note === undefined ? { content } : { content, note };
}

const readIfThere = (path: string): string | undefined => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);

export interface EtcOptions {
  trace?: (message: string) => void;
  /** Where the host's files are read (tests). */
  hostResolvConf?: string;
  systemdResolvConf?: string;
}

export function writeEtcFiles(record: ContainerRecord, options: EtcOptions = {}): void {
  const rootfs = record.root?.path;
  if (!rootfs) return;
  const { annotations } = record;
  const hostname = record.hostname ?? 'localhost';
  const fqdn = record.domainname ? `${hostname}.${record.domainname}` : hostname;
  const ip = annotations[ANNOTATION.ip];
  const extraHosts = (annotations[ANNOTATION.addHosts] ?? '')
    .split(',')
    .filter((h) => h !== '')
    .map((h) => {
      const eq = h.indexOf('=');
      return `${h.slice(eq + 1)}\t${h.slice(0, eq)}`;
    });
  writeInRoot(rootfs, '/etc/hostname', `${hostname}\n`);
  writeInRoot(
    rootfs,
    '/etc/hosts',
    [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      `${ip ?? '127.0.1.1'}\t${fqdn} ${hostname}`,
      ...extraHosts,
      '',
    ].join('\n'),
  );
  const list = (key: string): string[] => (annotations[key] ?? '').split(',').filter((s) => s !== '');
  const hostFile = readIfThere(options.hostResolvConf ?? '/etc/resolv.conf');
  const systemdFile = readIfThere(options.systemdResolvConf ?? SYSTEMD_RESOLV_CONF);
  const input: ResolvInput = {
    hostNetwork: !record.linux.namespaces.some((ns) => ns.type === 'network'),
    servers: list(ANNOTATION.dns),
    search: list(ANNOTATION.dnsSearch),
  };
  if (hostFile !== undefined) input.host = hostFile;
  if (systemdFile !== undefined) input.systemd = systemdFile;
  const resolv = containerResolvConf(input);
  if (resolv.note) options.trace?.(resolv.note);
  // A host without a resolv.conf, sharing its network: nothing to copy, and not an error.
  if (resolv.content !== '' || hostFile !== undefined) writeInRoot(rootfs, '/etc/resolv.conf', resolv.content);
}
