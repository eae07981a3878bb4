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
import { lstatSync, readdirSync, renameSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Removes `path` and everything below it, however deep; nothing when it is missing. */
export function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
    return;
  } catch (err) {
    const deep = err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ENAMETOOLONG';
    if (!deep) throw err;
  }
  removeFlat(path);
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
