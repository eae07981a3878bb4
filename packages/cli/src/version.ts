// The version a command answers --version with: the one in the package.json of the
// package that installed the running bin. It is read, not written into the code, so it
// cannot drift from what npm installed; the walk is a few stat(2) calls.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The version of the package holding `file` (default: the running bin), or 'unknown'. */
export function commandVersion(file: string | undefined = process.argv[1]): string {
  if (!file) return 'unknown';
  let dir: string;
  try {
    dir = dirname(realpathSync(file));
  } catch {
    return 'unknown';
  }
  for (;;) {
    const manifest = join(dir, 'package.json');
    // A package.json without a version is not a package's: bin/package.json only makes
    // the bins CommonJS (tools/bundle-bin.mjs).
    if (existsSync(manifest)) {
      try {
        const version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown }).version;
        if (typeof version === 'string') return version;
      } catch {
        return 'unknown';
      }
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}
