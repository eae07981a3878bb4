// docker cp's rules, as pure functions: which operand names a container, and where a
// copy lands given what SRC is and what stands at DEST (docker's archive.PrepareArchiveCopy):
//
//   SRC a file       DEST missing: written as DEST; DEST/ missing: "no such directory";
//                    DEST a file: overwritten; DEST a directory: DEST/basename(SRC)
//   SRC a directory  DEST missing: made as DEST, with SRC's contents; DEST a file:
//                    "cannot copy directory"; DEST a directory: DEST/basename(SRC), or
//                    SRC's contents into DEST itself when SRC ends with /.
//
// DEST's parent must exist in every case: nothing is made above it.
import { posix } from 'node:path';
import { DiycError } from '@diyc/record';

/** One operand of `diyc cp`: a path here, or CONTAINER:PATH. */
export interface CpOperand {
  container?: string;
  path: string;
}

/** docker's splitCpArg: an absolute path, or one before whose first ':' stands a name starting with '.', is local. */
export function splitCpArg(arg: string): CpOperand {
  if (arg.startsWith('/')) return { path: arg };
  const colon = arg.indexOf(':');
  if (colon < 0) return { path: arg };
  const container = arg.slice(0, colon);
  if (container.startsWith('.')) return { path: arg };
  return { container, path: arg.slice(colon + 1) };
}

/** Which way the copy goes, the container named, and the two paths (a container's absolute inside it). */
export interface CpDirection {
  from: 'container' | 'host';
  container: string;
  src: string;
  dest: string;
}

/** docker's resolveLocalPath: absolute, keeping a trailing / or /. (they carry meaning). */
export function absoluteLocal(path: string, cwd: string): string {
  if (path === '-') return path;
  const abs = posix.resolve(cwd, path);
  if (/(^|\/)\.$/.test(path)) return `${abs === '/' ? '' : abs}/.`;
  if (path.endsWith('/') && abs !== '/') return `${abs}/`;
  return abs;
}

/** A container's path as docker reads it: relative to its root. */
export const containerPath = (path: string): string => (path.startsWith('/') ? path : `/${path}`);

/** The two operands as docker checks them: exactly one names a container, and neither path is empty. */
export function cpDirection(srcArg: string, destArg: string): CpDirection {
  const src = splitCpArg(srcArg);
  const dest = splitCpArg(destArg);
  if (src.path === '') throw new DiycError('usage', 'source can not be empty');
  if (dest.path === '') throw new DiycError('usage', 'destination can not be empty');
  if (src.container !== undefined && dest.container !== undefined)
    throw new DiycError('invalid', 'copying between containers is not supported');
  if (src.container !== undefined) return { from: 'container', container: src.container, src: src.path, dest: dest.path };
  if (dest.container !== undefined) return { from: 'host', container: dest.container, src: src.path, dest: dest.path };
  throw new DiycError('invalid', 'must specify at least one container source');
}

/** docker's SplitPathDirEntry: the cleaned path's directory and last name ("/a/b/." -> "/a/b", "."). */
export function splitPathDirEntry(path: string): { dir: string; base: string } {
  // A trailing "/." survives as the name ".": it asks for a directory's contents.
  const dotted = /(^|\/)\.$/.test(path);
  const clean = posix.normalize(path.replace(/\/+$/, '') || '/');
  // The root itself is its contents too: there is no name to give it.
  if (dotted || clean === '/') return { dir: clean, base: '.' };
  return { dir: posix.dirname(clean), base: posix.basename(clean) };
}

/** A path that asks for a directory: it ends with / or /. (docker's assertsDirectory). */
export const assertsDirectory = (path: string): boolean => /\/$/.test(path) || /(^|\/)\.$/.test(path);

/** What is at SRC. */
export interface SrcInfo {
  path: string;
  isDir: boolean;
}

/** What is at DEST, if anything. */
export interface DestInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
}

/**
 * Where the copy goes: into the directory `dir` (which must exist), SRC's top entry named
 * `name` there; `name` empty: SRC's contents go straight into `dir` (SRC/. into a directory).
 */
export interface CopyPlan {
  dir: string;
  name: string;
}

/** docker's archive.PrepareArchiveCopy, with SRC/. as docker reads it. */
export function planCopy(src: SrcInfo, dest: DestInfo): CopyPlan {
  const srcBase = splitPathDirEntry(src.path).base;
  const { dir: destDir, base: destBase } = splitPathDirEntry(dest.path);
  if (dest.exists && dest.isDir) {
    return { dir: posix.normalize(dest.path.replace(/\/+\.?$/, '') || '/'), name: srcBase === '.' ? '' : srcBase };
  }
  if (dest.exists && src.isDir) throw new DiycError('invalid', 'cannot copy directory');
  if (dest.exists || src.isDir) return { dir: destDir, name: destBase };
  if (assertsDirectory(dest.path)) throw new DiycError('invalid', 'no such directory');
  return { dir: destDir, name: destBase };
}
