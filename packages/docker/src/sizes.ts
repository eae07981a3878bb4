// How many bytes a directory tree holds, for prune's "Total reclaimed space". The tree may
// be a container's own (its upper directory, a volume): walked with lstat, never through a
// symlink, so it counts what is there and cannot be led elsewhere.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function treeSize(path: string): number {
  let total = 0;
  const stack = [path];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const child = join(dir, name);
      try {
        const st = lstatSync(child);
        if (st.isDirectory()) stack.push(child);
        else if (st.isFile()) total += st.size;
      } catch {
        /* gone meanwhile */
      }
    }
  }
  return total;
}
