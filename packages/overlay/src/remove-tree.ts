// Removing a tree a container made: its upper layer, a volume. Its depth is the
// container's to choose (`mkdir d; cd d` in a loop, each path relative, reaches thousands
// of levels), and rmSync's recursive walk goes one stack frame and one longer path per
// level: at about two thousand it fails ("Maximum call stack size exceeded", or
// ENAMETOOLONG past PATH_MAX), and the container could never be removed. So, when
// rmSync fails that way, the tree is taken apart flat: every directory met below the top
// is first renamed to a short name right under it (rename(2) within one filesystem moves
// a whole subtree at once), so no path is ever longer than two names and nothing
// recurses. Nothing is followed: a symlink is unlinked, never entered.
// https://man7.org/linux/man-pages/man2/rename.2.html
//
// The common tree (a container's upper layer and work directory: a few files) goes by
// removeWalk, not rmSync: Node 20's recursive rmSync loads its rimraf module and tries
// rmdir(2) on every directory before reading it, an exception each time; it took ~3 ms
// of each `diyc-run --rm` where the walk takes ~1 (issue 22). d_type from getdents(2)
// (readdir's withFileTypes) says what each entry is, with no lstat(2).
import { lstatSync, readdirSync, renameSync, rmdirSync, rmSync, unlinkSync, type Dirent } from 'node:fs';
import { join } from 'node:path';

/** Removes `path` and everything below it, however deep; nothing when it is missing. */
export function removeTree(path: string): void {
  try {
    removeWalk(path);
    return;
  } catch (err) {
    // Too deep for one path (PATH_MAX): taken apart flat. Anything else (an entry that
    // changed under the walk) is rmSync's to sort out, as before.
    if ((err as NodeJS.ErrnoException).code === 'ENAMETOOLONG') {
      removeFlat(path);
      return;
    }
  }
  try {
    rmSync(path, { recursive: true, force: true });
    return;
  } catch (err) {
    const deep = err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ENAMETOOLONG';
    if (!deep) throw err;
  }
  removeFlat(path);
}

/**
 * Depth first, without recursion: each directory's entries are read once, its files
 * unlinked, its directories entered, then it is removed. A symlink is a file here.
 */
export function removeWalk(top: string): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(top, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'ENOTDIR') throw err;
    unlinkSync(top);
    return;
  }
  const stack: { dir: string; entries: Dirent[] }[] = [{ dir: top, entries }];
  for (let frame = stack.at(-1); frame !== undefined; frame = stack.at(-1)) {
    const entry = frame.entries.pop();
    if (entry === undefined) {
      rmdirSync(frame.dir);
      stack.pop();
      continue;
    }
    const path = `${frame.dir}/${entry.name}`;
    if (entry.isDirectory()) stack.push({ dir: path, entries: readdirSync(path, { withFileTypes: true }) });
    else unlinkSync(path);
  }
}

/** removeTree's way for a tree too deep for rmSync: directories moved up under `top`, then emptied one by one. */
export function removeFlat(top: string): void {
  let moved = 0;
  const freeName = (): string => {
    for (;;) {
      const name = join(top, `.diyc-rm-${process.pid}-${moved++}`);
      try {
        lstatSync(name);
      } catch {
        return name;
      }
    }
  };
  const pending = [top];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!lstatSync(path).isDirectory()) {
        unlinkSync(path);
        continue;
      }
      if (dir === top) {
        pending.push(path);
        continue;
      }
      const flat = freeName();
      renameSync(path, flat);
      pending.push(flat);
    }
    // Its files are gone and its directories moved up: it is empty.
    if (dir !== top) rmdirSync(dir);
  }
  rmdirSync(top);
}
