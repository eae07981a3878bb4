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
    const why = code === 'ELOOP' ? `${path} goes through a symlink loop in the container's files` : `${path} cannot be written in the container's files`;
    throw wrap(err, `${why} (fix it inside the container, or remove the container and run it again)`);
  }
}

export function writeEtcFiles(record: ContainerRecord, hostResolvConf = '/etc/resolv.conf'): void {
  const rootfs = record.root?.path;
  if (!rootfs) return;
  const hostname = record.hostname ?? 'localhost';
  const fqdn = record.domainname ? `${hostname}.${record.domainname}` : hostname;
  const ip = record.annotations[ANNOTATION.ip];
  writeInRoot(rootfs, '/etc/hostname', `${hostname}\n`);
  writeInRoot(rootfs, '/etc/hosts', [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${ip ?? '127.0.1.1'}\t${fqdn} ${hostname}`,
    '',
  ].join('\n'));
  // The host's resolver, as diyC copied it; a host without one is not an error.
  if (existsSync(hostResolvConf)) writeInRoot(rootfs, '/etc/resolv.conf', readFileSync(hostResolvConf, 'utf8'));
}
