// nsexec's flags, turned into a container record: the same record diyc-run's pipeline
// hands to `nsexec --config -`.
import { resolve } from 'node:path';
import { DiycError, emptyRecord, hostnameProblem, setNamespace, type ContainerRecord } from '@diyc/record';
import { containerDevices, containerMounts } from './container-mounts.js';

export interface NsexecOptions {
  pid?: boolean;
  net?: boolean;
  /** A hostname: implies a new UTS namespace. */
  uts?: string;
  ipc?: boolean;
  cgroupns?: boolean;
  /** pivot_root into this directory, with a fresh /proc and a minimal /dev. */
  root?: string;
  /** Join this network namespace: a name under /run/netns, or a path. */
  netns?: string;
  /** The command's environment; defaults to this process's. */
  env?: string[];
  cwd?: string;
}

/** The path of a network namespace given as `ip netns` name or path. */
export function netnsPath(nameOrPath: string): string {
  return nameOrPath.includes('/') ? resolve(nameOrPath) : `/run/netns/${nameOrPath}`;
}

/**
 * The record for `nsexec [flags] CMD...`: always a new mount namespace with `/` made
 * private and a fresh /proc, as diyC's nsexec did.
 */
export function recordFromOptions(command: string[], opts: NsexecOptions): ContainerRecord {
  if (opts.uts !== undefined) {
    const problem = hostnameProblem(opts.uts);
    if (problem) throw new DiycError('usage', problem);
  }
  if (opts.net && opts.netns !== undefined)
    throw new DiycError('usage', '--net and --netns exclude each other: make a namespace, or join one');
  const record = emptyRecord(command);
  record.process.env = opts.env ?? Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
  record.process.cwd = opts.cwd ?? (opts.root !== undefined ? '/' : process.cwd());
  setNamespace(record, 'mount');
  if (opts.pid) setNamespace(record, 'pid');
  if (opts.net) setNamespace(record, 'network');
  if (opts.netns !== undefined) setNamespace(record, 'network', netnsPath(opts.netns));
  if (opts.ipc) setNamespace(record, 'ipc');
  if (opts.cgroupns) setNamespace(record, 'cgroup');
  if (opts.uts !== undefined) {
    setNamespace(record, 'uts');
    record.hostname = opts.uts;
  }
  if (opts.root !== undefined) {
    record.root = { path: resolve(opts.root) };
    record.mounts = containerMounts({ ipc: opts.ipc === true });
    record.linux.devices = containerDevices();
  } else {
    record.mounts = [{ destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] }];
  }
  return record;
}
