// diyc cp: files between the host and a container, both ways, as docker cp copies them.
//
// Everything inside the container is the container's to shape, so every path there is
// resolved inside its root (openat2 RESOLVE_IN_ROOT, @diyc/syscalls' resolveInRoot): a
// symlink /tmp/evil -> /etc leads to the container's /etc, `../../..` stops at its root,
// and /proc's magic links are refused. Below the directory so found, cp-tree.ts goes one
// name at a time and never follows a symlink.
//
// Which root: a running (or paused, or created) container's is its first process's,
// /proc/PID/root, opened through /proc/PID after checking that PID is still that process.
// It is the container's mount namespace as the container sees it: its volumes, bind
// mounts and tmpfs are there, as docker cp reaches them. A stopped container has no
// process, and diyc unmounted its overlay when it stopped: its overlay is mounted again for
// the copy, on the same merged/ directory the next start uses, and unmounted after, all
// under the container's lock (a start waits for it). The kernel's overlay does the work
// that copying into an upper layer by hand would get wrong: copy-up, whiteouts, opaque
// directories. Its volumes are not mounted then (docker mounts them): files copied to a
// volume's path go into the container's own layer, under the volume.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { Container, ContainerState } from '@diyc/container';
import { TarParser } from '@diyc/image';
import { mountRootfs, umountRootfs } from '@diyc/overlay';
import { ANNOTATION, DiycError, stateRoot } from '@diyc/record';
import { isSyscallError, O, resolveInRoot } from '@diyc/syscalls';
import { planCopy, splitPathDirEntry, type DestInfo } from './cp-plan.js';
import { DirSink, fdPath, nodeAt, nodeOfFd, TarOut, tarInto, walk, type EntrySink, type Node } from './cp-tree.js';

export interface CpOptions {
  /** -a: the files copied into a container keep their owners (else they are root's). */
  archive: boolean;
  /** -L: SRC, when a symlink, is followed (inside the container, for a container's SRC). */
  followLink: boolean;
  warn: (message: string) => void;
}

/** A container's root, open: a descriptor, and what to undo after. */
interface OpenRoot {
  fd: number;
  close(): void;
}

/** Field 22 of a /proc/PID/stat, read through a /proc/PID descriptor. */
function startOf(procFd: number): string | undefined {
  const stat = readFileSync(fdPath(procFd, 'stat'), 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** The root of a living container's first process, /proc/PID/root, checked to be that process's and not the host's. */
function processRoot(name: string, state: ContainerState): OpenRoot {
  const pid = state.pid;
  if (pid === undefined) throw new DiycError('state', `container ${name} has no process to copy through`);
  // The /proc/PID directory is held first: if PID is reused after, this one still names the old process.
  const procFd = openSync(`/proc/${pid}`, O.RDONLY | O.DIRECTORY);
  try {
    if (state.pidStart !== undefined && startOf(procFd) !== state.pidStart)
      throw new DiycError('state', `container ${name} stopped while diyc cp started: try again`);
    const fd = openSync(fdPath(procFd, 'root'), O.PATH | O.DIRECTORY);
    const host = statSync('/');
    const st = fstatSync(fd);
    if (st.dev === host.dev && st.ino === host.ino) {
      closeSync(fd);
      throw new DiycError('state', `container ${name} has not entered its root filesystem yet: try again`);
    }
    return { fd, close: () => closeSync(fd) };
  } finally {
    closeSync(procFd);
  }
}

/** A stopped container's root: its overlay mounted for the copy (unmounted by close), or an OCI bundle's own root. */
function stoppedRoot(container: Container, state: ContainerState, root: string): OpenRoot {
  const record = container.record();
  const image = record?.annotations[ANNOTATION.image] ?? state.image;
  if (image === undefined) {
    const path = record?.root?.path;
    if (path === undefined || !existsSync(path))
      throw new DiycError('not-found', `container ${container.name} has no root filesystem to copy`);
    const fd = openSync(path, O.PATH | O.DIRECTORY);
    return { fd, close: () => closeSync(fd) };
  }
  const { merged, mounted } = mountRootfs(container.name, image, { root });
  let fd: number;
  try {
    fd = openSync(merged, O.PATH | O.DIRECTORY);
  } catch (err) {
    if (mounted) umountRootfs(container.name, { root });
    throw err;
  }
  return {
    fd,
    close: () => {
      closeSync(fd);
      if (mounted) umountRootfs(container.name, { root });
    },
  };
}

/**
 * Runs `fn` with the container's root open. A stopped one is held locked the whole time,
 * so that a start cannot mount (or unmount) its overlay under the copy.
 */
export function withContainerRoot<T>(container: Container, fn: (rootFd: number) => T, root: string = stateRoot()): T {
  const run = (open: OpenRoot): T => {
    try {
      return fn(open.fd);
    } finally {
      open.close();
    }
  };
  const living = (): boolean => ['running', 'paused', 'created'].includes(container.refresh().status());
  if (living()) return run(processRoot(container.name, container.requireState()));
  return container.locked(() => {
    // Started while the lock was awaited: through its process, then.
    if (living()) return run(processRoot(container.name, container.requireState()));
    return run(stoppedRoot(container, container.requireState(), root));
  });
}

/** `path` inside the root, followed: an O_PATH descriptor, or undefined when there is nothing there. */
function resolveOrMissing(rootFd: number, path: string, flags: number): number | undefined {
  try {
    return resolveInRoot(rootFd, path, flags);
  } catch (err) {
    if (isSyscallError(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** SRC inside the container: its node (a symlink not followed, unless -L), or docker's "No such container:path". */
function containerSource(rootFd: number, src: string, follow: boolean, label: string): { node: Node; close: () => void } {
  const missing = (): DiycError => new DiycError('not-found', `No such container:path: ${label}:${src}`);
  const { dir, base } = splitPathDirEntry(src);
  if (follow || base === '.') {
    const fd = resolveOrMissing(rootFd, base === '.' ? dir : src, O.PATH);
    if (fd === undefined) throw missing();
    return { node: nodeOfFd(fd), close: () => closeSync(fd) };
  }
  const dirFd = resolveOrMissing(rootFd, dir, O.PATH | O.DIRECTORY);
  if (dirFd === undefined) throw missing();
  try {
    return { node: nodeAt(dirFd, base), close: () => closeSync(dirFd) };
  } catch (err) {
    closeSync(dirFd);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missing();
    throw err;
  }
}

/** SRC on the host: the user's own, followed with -L. */
function hostSource(src: string, follow: boolean): { node: Node; close: () => void } {
  const { dir, base } = splitPathDirEntry(src);
  const dirFd = base === '.' ? undefined : openDir(dir, src);
  try {
    if (dirFd === undefined) {
      const fd = openSync(dir, O.PATH);
      return { node: nodeOfFd(fd), close: () => closeSync(fd) };
    }
    return { node: nodeAt(dirFd, base, follow), close: () => closeSync(dirFd) };
  } catch (err) {
    if (dirFd !== undefined) closeSync(dirFd);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new DiycError('not-found', `lstat ${src.replace(/\/\.?$/, '')}: no such file or directory`);
    throw err;
  }
}

function openDir(dir: string, src: string): number {
  try {
    return openSync(dir, O.PATH | O.DIRECTORY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new DiycError('not-found', `lstat ${src}: no such file or directory`);
    throw err;
  }
}

/** A container's directory for the copy to land in (followed inside the root). */
function containerDestDir(rootFd: number, dir: string, label: string): number {
  try {
    return resolveInRoot(rootFd, dir, O.RDONLY | O.DIRECTORY);
  } catch (err) {
    if (isSyscallError(err, 'ENOENT')) throw new DiycError('not-found', `No such container:path: ${label}:${dir}`);
    if (isSyscallError(err, 'ENOTDIR')) throw new DiycError('invalid', 'extraction point is not a directory');
    throw err;
  }
}

/** What the copy wrote, for docker's "Successfully copied 2.05kB to ..." (tar bytes, as docker counts them). */
export interface CpResult {
  bytes: number;
}

/** diyc cp SRC CONTAINER:DEST (SRC '-': a tar on `stdin`, extracted into DEST, which must be a directory). */
export function copyIn(rootFd: number, src: string, dest: string, label: string, options: CpOptions, stdin?: Buffer): CpResult {
  let destInfo: DestInfo = { path: dest, exists: false, isDir: false };
  const destFd = resolveOrMissing(rootFd, dest, O.PATH);
  if (destFd !== undefined) {
    try {
      const st = fstatSync(destFd);
      destInfo = { path: dest, exists: true, isDir: st.isDirectory() };
      if (!st.isDirectory() && !st.isFile())
        throw new DiycError('invalid', `destination "${label}:${dest}" must be a directory or a regular file`);
    } finally {
      closeSync(destFd);
    }
  }
  const sinkOf = (dirFd: number): DirSink =>
    new DirSink(dirFd, {
      keepOwner: options.archive,
      host: false,
      show: (rel) => `${label}:${posix.join(dest, rel)}`,
      warn: options.warn,
    });
  if (stdin !== undefined) {
    if (!destInfo.isDir) throw new DiycError('invalid', `destination "${label}:${dest}" must be a directory`);
    const dirFd = containerDestDir(rootFd, dest, label);
    return finish(sinkOf(dirFd), dirFd, (sink) => {
      const parser = new TarParser(tarInto(sink));
      parser.write(stdin);
      parser.end();
    });
  }
  const source = hostSource(src, options.followLink);
  try {
    const plan = planCopy({ path: src, isDir: source.node.st.isDirectory() }, destInfo);
    const dirFd = containerDestDir(rootFd, plan.dir, label);
    return finish(sinkOf(dirFd), dirFd, (sink) => walk(source.node, plan.name, sink));
  } finally {
    source.close();
  }
}

/** diyc cp CONTAINER:SRC DEST (DEST '-': a tar of SRC on stdout). */
export function copyOut(rootFd: number, src: string, dest: string, label: string, options: CpOptions): CpResult {
  const source = containerSource(rootFd, src, options.followLink, label);
  try {
    const { base } = splitPathDirEntry(src);
    if (dest === '-') {
      const out = new TarOut(1);
      walk(source.node, base, out);
      out.finish();
      return { bytes: out.bytes };
    }
    const parent = posix.dirname(posix.normalize(dest.replace(/\/+\.?$/, '') || '/'));
    if (!existsSync(parent)) throw new DiycError('not-found', `invalid output path: directory "${parent}" does not exist`);
    let destInfo: DestInfo = { path: dest, exists: false, isDir: false };
    try {
      const st = statSync(dest);
      destInfo = { path: dest, exists: true, isDir: st.isDirectory() };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw err;
    }
    const plan = planCopy({ path: src, isDir: source.node.st.isDirectory() }, destInfo);
    let dirFd: number;
    try {
      dirFd = openSync(plan.dir, O.RDONLY | O.DIRECTORY);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new DiycError('invalid', 'not a directory');
      throw err;
    }
    // Owned by the caller, -a or not, as docker's client extracts (NoLchown): a container's uid means nothing here.
    const sink = new DirSink(dirFd, {
      keepOwner: false,
      host: true,
      show: (rel) => posix.join(plan.dir, rel),
      warn: options.warn,
    });
    return finish(sink, dirFd, (s) => walk(source.node, plan.name, s));
  } finally {
    source.close();
  }
}

/** Runs the copy into `sink`, then sets its directories' times and closes everything, the base directory too. */
function finish(sink: DirSink, baseFd: number, copy: (sink: EntrySink) => void): CpResult {
  try {
    copy(sink);
    sink.finish();
    return { bytes: sink.bytes };
  } finally {
    sink.close();
    closeSync(baseFd);
  }
}
