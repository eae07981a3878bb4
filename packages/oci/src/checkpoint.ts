// `checkpoint` and `restore`: a running container saved to disk and brought back by CRIU
// (https://criu.org), with runc's flags, checks and image layout (runc 1.1 checkpoint.go,
// restore.go, libcontainer/container_linux.go):
//
//   IMAGE-PATH/            CRIU's images (default ./checkpoint), made 0700 if missing
//     descriptors.json     where the process's fds 0, 1 and 2 pointed ("pipe:[123]",
//                          "/dev/null"...), for restore to give it new ones in their place
//     parent -> ../PARENT  with --parent-path (relative to IMAGE-PATH): a --pre-dump's images
//   WORK-PATH/dump.log     CRIU's log (restore.log), in IMAGE-PATH without --work-path
//
// runc talks to CRIU over its RPC socket (criu swrk); diyc-oci runs the criu command with the
// same options (--criu names it). After a dump the container is deleted, unless
// --leave-running or --pre-dump. What this kernel lets CRIU do is CRIU's own business:
// when it cannot, the error names its log.
import { existsSync, mkdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ParsedFlags } from '@diyc/cli';
import * as core from '@diyc/container';
import { DiycError, type ContainerRecord } from '@diyc/record';
import { loadBundle } from './bundle.js';
import type { OciContext } from './cli.js';
import { existingContainer, ociContainer, ociRuntime } from './containers.js';
import { many, one } from './shell.js';

/** runc's prepareImagePaths: the image directory made, a parent path checked. */
export function prepareImagePaths(flags: ParsedFlags, cwd = process.cwd()): { imagePath: string; parentPath: string } {
  const imagePath = resolve(cwd, one(flags['image-path']) || 'checkpoint');
  // runc makes it 0600 (MkdirAll(imagePath, 0o600)); a directory that can be entered serves CRIU better.
  mkdirSync(imagePath, { recursive: true, mode: 0o700 });
  const parentPath = one(flags['parent-path']) ?? '';
  if (parentPath === '') return { imagePath, parentPath };
  if (isAbsolute(parentPath)) throw new DiycError('usage', '--parent-path must be relative');
  const real = join(imagePath, parentPath);
  let problem: string | undefined;
  try {
    if (!statSync(real).isDirectory()) problem = 'not a directory';
  } catch (err) {
    problem = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message;
  }
  if (problem)
    throw new DiycError('invalid', `invalid --parent-path: stat ${join(one(flags['image-path']) || 'checkpoint', parentPath)}: ${problem}`);
  return { imagePath, parentPath };
}

const MANAGE_CGROUPS = ['soft', 'full', 'strict'];

/** The options both a dump and a restore take (CRIU's command line for runc's CriuOpts). */
function commonOptions(flags: ParsedFlags, log: string): string[] {
  const args = ['-v4', '-o', log];
  for (const [flag, option] of [
    ['tcp-established', '--tcp-established'],
    ['ext-unix-sk', '--ext-unix-sk'],
    ['shell-job', '--shell-job'],
    ['file-locks', '--file-locks'],
    ['auto-dedup', '--auto-dedup'],
    ['lazy-pages', '--lazy-pages'],
  ] as const) {
    if (flags[flag] === true) args.push(option);
  }
  const mode = one(flags['manage-cgroups-mode']) ?? '';
  if (mode !== '' && !MANAGE_CGROUPS.includes(mode)) throw new DiycError('usage', 'Invalid manage cgroups mode');
  args.push(mode === '' ? '--manage-cgroups' : `--manage-cgroups=${mode}`);
  // runc always leaves the network namespace to the engine (CLONE_NEWNET in EmptyNs).
  for (const ns of many(flags['empty-ns'])) if (ns !== 'network') throw new DiycError('usage', `namespace "${ns}" is not supported`);
  args.push('--empty-ns', 'net');
  return args;
}

/** The mounts CRIU must treat as external: binds, device nodes and masked files (runc's addCriuDumpMount). */
function externalMounts(record: ContainerRecord, pid: number): string[] {
  const args: string[] = [];
  const dests = new Set<string>();
  for (const m of record.mounts)
    if (m.type === 'bind' || m.options?.includes('bind') || m.options?.includes('rbind')) dests.add(m.destination);
  for (const d of record.linux.devices ?? []) dests.add(d.path);
  for (const dest of dests) args.push('--external', `mnt[${dest}]:${dest}`);
  for (const path of record.linux.maskedPaths ?? []) {
    try {
      if (!statSync(`/proc/${pid}/root${path}`).isDirectory()) args.push('--external', `mnt[${path}]:/dev/null`);
    } catch {
      /* not there */
    }
  }
  return args;
}

/** The criu command line of a dump (or pre-dump) of `record`'s container, whose first process is `pid`. */
export function dumpArgs(
  flags: ParsedFlags,
  paths: { imagePath: string; parentPath: string; workPath?: string },
  record: ContainerRecord,
  pid: number,
  freezer: string | undefined,
): string[] {
  const args = [flags['pre-dump'] === true ? 'pre-dump' : 'dump', '-t', String(pid), '-D', paths.imagePath];
  if (paths.workPath) args.push('-W', paths.workPath);
  args.push(...commonOptions(flags, 'dump.log'), '--root', record.root?.path ?? '/', '--orphan-pts-master');
  if (flags['leave-running'] === true) args.push('--leave-running');
  if (freezer) args.push('--freeze-cgroup', freezer);
  const server = one(flags['page-server']) ?? '';
  if (server !== '') {
    const m = /^(.+):(\d+)$/.exec(server);
    if (!m || m[1] === '') throw new DiycError('usage', 'Use --page-server ADDRESS:PORT to specify page server');
    args.push('--page-server', '--address', (m[1] as string).replace(/^\[|\]$/g, ''), '--port', m[2] as string);
  }
  if (paths.parentPath !== '') args.push('--prev-images-dir', paths.parentPath);
  if (paths.parentPath !== '' || flags['pre-dump'] === true) args.push('--track-mem');
  const statusFd = one(flags['status-fd']);
  if (flags['lazy-pages'] === true && statusFd !== undefined && statusFd !== '-1') args.push('--status-fd', statusFd);
  // Namespaces joined by path are the engine's: CRIU leaves them as it finds them.
  for (const ns of record.linux.namespaces) {
    if (!ns.path || (ns.type !== 'network' && ns.type !== 'pid')) continue;
    const key = ns.type === 'network' ? 'net' : 'pid';
    args.push('--external', `${key}[${statSync(ns.path).ino}]:${ns.type === 'network' ? 'extRootNetNS' : 'extRootPidNS'}`);
  }
  if (flags['pre-dump'] !== true) args.push(...externalMounts(record, pid));
  return args;
}

/** Runs criu; a failure names its log, as runc's "criu failed: ... log file: ...". */
async function criu(ctx: OciContext, args: string[], log: string): Promise<void> {
  const { spawnSync } = await import('node:child_process');
  ctx.log.debug(`${ctx.criu} ${args.join(' ')}`);
  const r = spawnSync(ctx.criu, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new DiycError(
      'missing',
      code === 'ENOENT' ? `${ctx.criu} not found: checkpoint and restore need CRIU (apt install criu)` : `${ctx.criu}: ${r.error.message}`,
    );
  }
  if (r.status !== 0) {
    const said = `${r.stderr}${r.stdout}`
      .trim()
      .split('\n')
      .filter((l) => /Error|error/.test(l))
      .slice(-2)
      .join('; ');
    throw new DiycError(
      'system',
      `criu failed: type ${args[0]?.toUpperCase().replace('-', '_')} exit ${r.status ?? r.signal}${said ? `: ${said}` : ''}\nlog file: ${log}`,
    );
  }
}

/** criu restore in the foreground: its stdio is ours; resolves to its exit status (the restored process's). */
async function criuForeground(ctx: OciContext, args: string[], log: string, pidFile: string, restored: () => void): Promise<number> {
  const { spawn } = await import('node:child_process');
  ctx.log.debug(`${ctx.criu} ${args.join(' ')}`);
  const child = spawn(ctx.criu, args, { stdio: 'inherit' });
  let seen = false;
  const poll = setInterval(() => {
    if (!seen && existsSync(pidFile)) {
      seen = true;
      restored();
    }
  }, 20);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((ok, fail) => {
      child.once('error', fail);
      child.once('exit', (c, s) => ok([c, s]));
    });
    if (!seen) throw new DiycError('system', `criu failed: type RESTORE exit ${code ?? signal}\nlog file: ${log}`);
    return code ?? 128 + 9;
  } finally {
    clearInterval(poll);
  }
}

export async function checkpointCommand(ctx: OciContext, id: string, flags: ParsedFlags): Promise<void> {
  if ((process.geteuid?.() ?? 0) !== 0) ctx.warn('diyc-oci checkpoint is untested with rootless containers');
  const container = existingContainer(ctx.root, id);
  const status = container.status();
  if (status === 'created' || status === 'stopped') throw new DiycError('state', `Container cannot be checkpointed in ${status} state`);
  const paths = prepareImagePaths(flags);
  const workFlag = one(flags['work-path']) ?? '';
  const workPath = workFlag === '' ? undefined : resolve(workFlag);
  if (workPath) mkdirSync(workPath, { recursive: true, mode: 0o700 });
  const record = container.record();
  const pid = container.state()?.pid;
  if (!record || pid === undefined) throw new DiycError('state', `container ${id} has no record`);
  const freezer = (record.annotations['org.diyc.cgroup.procs'] ?? '')
    .split(':')
    .find((f) => f.includes('/freezer/'))
    ?.replace(/\/cgroup\.procs$/, '');
  const args = dumpArgs(flags, { ...paths, ...(workPath ? { workPath } : {}) }, record, pid, freezer);
  if (flags['pre-dump'] !== true) {
    const fds = [0, 1, 2].map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '/dev/null';
      }
    });
    writeFileSync(join(paths.imagePath, 'descriptors.json'), JSON.stringify(fds), { mode: 0o600 });
  }
  await criu(ctx, args, join(workPath ?? paths.imagePath, 'dump.log'));
  if (flags['leave-running'] !== true && flags['pre-dump'] !== true) {
    await core.remove(ociRuntime(ctx, container.name), container, { force: true });
  }
}

/** The criu command line of a restore of `record` from `imagePath`, its new pid written to `pidFile`. */
export function restoreArgs(
  flags: ParsedFlags,
  imagePath: string,
  workPath: string | undefined,
  record: ContainerRecord,
  pidFile: string,
  descriptors: string[],
): string[] {
  const args = ['restore', '-D', imagePath];
  if (workPath) args.push('-W', workPath);
  args.push(...commonOptions(flags, 'restore.log'), '--root', record.root?.path ?? '/', '--pidfile', pidFile);
  // Detached, criu leaves the restored process to the caller's subreaper; else criu stays its
  // parent and exits as it does, which is how `restore` learns its status.
  if (flags.detach === true) args.push('--restore-detached');
  for (const m of record.mounts)
    if (m.type === 'bind' || m.options?.includes('bind') || m.options?.includes('rbind'))
      args.push('--external', `mnt[${m.destination}]:${m.source}`);
  for (const d of record.linux.devices ?? []) args.push('--external', `mnt[${d.path}]:${d.path}`);
  for (const path of record.linux.maskedPaths ?? []) args.push('--external', `mnt[${path}]:/dev/null`);
  // The process's old pipes and files: this restore's own stdio in their place.
  descriptors.forEach((old, fd) => {
    if (/^(pipe|socket):\[\d+\]$/.test(old)) args.push('--inherit-fd', `fd[${fd}]:${old}`);
  });
  return args;
}

export async function restoreCommand(ctx: OciContext, id: string, flags: ParsedFlags): Promise<number> {
  if ((process.geteuid?.() ?? 0) !== 0) ctx.warn('diyc-oci checkpoint is untested with rootless containers');
  const { imagePath } = prepareImagePaths(flags);
  const workFlag = one(flags['work-path']) ?? '';
  const workPath = workFlag === '' ? undefined : resolve(workFlag);
  if (one(flags['lsm-profile']) || one(flags['lsm-mount-context']))
    throw new DiycError('unsupported', 'diyc has no AppArmor or SELinux: --lsm-profile and --lsm-mount-context cannot be honoured');
  if (one(flags['console-socket']) !== undefined)
    throw new DiycError('unsupported', '--console-socket: a restored process keeps the terminal it was dumped with (--shell-job)');
  if (!existsSync(join(imagePath, 'inventory.img')))
    throw new DiycError('not-found', `${imagePath} holds no checkpoint (no inventory.img): give --image-path`);
  const container = ociContainer(ctx.root, id);
  if (container.state()) throw new DiycError('exists', `container with id ${id} already exists`);
  const { dir, record } = loadBundle(one(flags.bundle) ?? process.cwd(), ctx.warn);
  record.linux.cgroupsPath ??= `/diyc-oci/${id}`;
  const rt = ociRuntime(ctx, container.name);
  let descriptors: string[] = [];
  try {
    const { readFileSync } = await import('node:fs');
    descriptors = JSON.parse(readFileSync(join(imagePath, 'descriptors.json'), 'utf8')) as string[];
  } catch {
    /* a dump without it: nothing to give back */
  }
  container.saveRecord(record);
  container.begin({ name: id, command: record.process.args, createdAt: core.rfc3339Nano(), bundle: dir, owner: '' });
  try {
    const prepared = core.prepare(record, rt);
    container.saveRecord(prepared);
    const pidFile = join(container.dir, 'restore.pid');
    if (workPath) mkdirSync(workPath, { recursive: true, mode: 0o700 });
    const args = restoreArgs(flags, imagePath, workPath, prepared, pidFile, descriptors);
    const log = join(workPath ?? imagePath, 'restore.log');
    const { readFileSync } = await import('node:fs');
    const restored = (): void => {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      container.transition('created', {
        pid,
        pidStart: core.processStart(pid) ?? '',
        supervisorPid: undefined,
        supervisorStart: undefined,
      });
      container.transition('running', { startedAt: new Date().toISOString() });
      const pidFlag = one(flags['pid-file']);
      if (pidFlag) core.writePidFile(resolve(pidFlag), pid);
    };
    if (flags.detach === true) {
      await criu(ctx, args, log);
      restored();
      return 0;
    }
    const code = await criuForeground(ctx, args, log, pidFile, restored);
    await core.remove(rt, container, { force: true });
    return code;
  } catch (err) {
    try {
      core.teardown(container.record(), rt);
    } catch {
      /* the first error is the one to report */
    }
    const { rmSync } = await import('node:fs');
    rmSync(container.dir, { recursive: true, force: true });
    throw err;
  }
}
