// Describes a directory tree file by file, to compare an image's merged view with a
// reference tree made by another tool.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export function describeTree(root: string, options: { mtimes?: boolean } = {}): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    const abs = join(root, rel);
    const st = lstatSync(abs);
    const perm = (st.mode & 0o7777).toString(8);
    let kind: string;
    if (st.isDirectory()) kind = 'dir';
    else if (st.isSymbolicLink()) kind = `link->${readlinkSync(abs)}`;
    else if (st.isFile()) kind = `file:${st.size}:${createHash('sha256').update(readFileSync(abs)).digest('hex').slice(0, 16)}`;
    else if (st.isCharacterDevice()) kind = `char:${st.rdev}`;
    else if (st.isBlockDevice()) kind = `block:${st.rdev}`;
    else if (st.isFIFO()) kind = 'fifo';
    else kind = 'other';
    const mtime = options.mtimes && !st.isDirectory() && !st.isSymbolicLink() ? ` ${Math.floor(st.mtimeMs / 1000)}` : '';
    out.set(rel || '/', `${kind} ${perm} ${st.uid}:${st.gid}${mtime}`);
    if (st.isDirectory()) for (const name of readdirSync(abs).sort()) walk(rel ? `${rel}/${name}` : name);
  };
  walk('');
  return out;
}
