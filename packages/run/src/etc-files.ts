// /etc/hostname, /etc/hosts and /etc/resolv.conf, written into the container's root
// filesystem (its upper layer) before it starts, as diyC did.
import { copyFileSync, existsSync, lstatSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ANNOTATION, type ContainerRecord } from '@diyc/record';

/** Writes a file in the rootfs, replacing a symlink rather than following it out. */
function put(rootfs: string, path: string, content: string | { copyFrom: string }): void {
  const target = join(rootfs, path);
  mkdirSync(join(target, '..'), { recursive: true });
  try {
    if (lstatSync(target).isSymbolicLink()) unlinkSync(target);
  } catch { /* not there */ }
  if (typeof content === 'string') writeFileSync(target, content);
  else copyFileSync(content.copyFrom, target);
}

export function writeEtcFiles(record: ContainerRecord, hostResolvConf = '/etc/resolv.conf'): void {
  const rootfs = record.root?.path;
  if (!rootfs) return;
  const hostname = record.hostname ?? 'localhost';
  const fqdn = record.domainname ? `${hostname}.${record.domainname}` : hostname;
  const ip = record.annotations[ANNOTATION.ip];
  put(rootfs, '/etc/hostname', `${hostname}\n`);
  put(rootfs, '/etc/hosts', [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${ip ?? '127.0.1.1'}\t${fqdn} ${hostname}`,
    '',
  ].join('\n'));
  // The host's resolver, as diyC copied it; a host without one is not an error.
  if (existsSync(hostResolvConf)) put(rootfs, '/etc/resolv.conf', { copyFrom: hostResolvConf });
}
