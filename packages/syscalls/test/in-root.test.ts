// resolveInRoot and mkdirInRoot on a directory tree shaped as a hostile image would shape
// it: absolute and relative symlinks that aim out, `..` past the top, /proc magic links.
// No root needed. The pre-5.6 walk is held to the same answers as openat2.
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../src/binding.js';
import { mkdirInRoot, O, resolveInRoot } from '../src/index.js';

describe('paths inside a root', () => {
  let top: string;
  let root: string;
  let outside: string;
  let rootFd: number;

  beforeAll(() => {
    top = mkdtempSync(join(tmpdir(), 'diyc-inroot-'));
    root = join(top, 'root');
    outside = join(top, 'outside');
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(root, 'etc', 'passwd'), 'inside\n');
    writeFileSync(join(outside, 'passwd'), 'host\n');
    symlinkSync(outside, join(root, 'abs')); // absolute, to a host path
    symlinkSync('../../outside', join(root, 'rel')); // relative, climbing out
    symlinkSync('/etc', join(root, 'etclink')); // absolute, to the root's own /etc
    symlinkSync('loop', join(root, 'loop'));
    symlinkSync('/proc/self/root/etc', join(root, 'magic'));
    rootFd = openSync(root, O.PATH | O.DIRECTORY);
  });

  afterAll(() => {
    closeSync(rootFd);
    rmSync(top, { recursive: true, force: true });
  });

  const read = (open: (fd: number, path: string, flags: number, mode: number) => number, path: string): string => {
    const fd = open(rootFd, path, O.RDONLY, 0);
    try {
      return readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  };

  for (const [how, open] of [
    ['openat2', resolveInRoot],
    ['the walk (kernels before 5.6)', (...a: [number, string, number, number]) => native().walkInRoot(...a)],
  ] as const) {
    describe(how, () => {
      it('resolves symlinks and .. as if the root were /', () => {
        expect(read(open, '/etc/passwd')).toBe('inside\n');
        expect(read(open, '/etclink/passwd')).toBe('inside\n');
        expect(read(open, '/../../../etc/passwd')).toBe('inside\n');
        expect(read(open, 'etc/../etc/./passwd')).toBe('inside\n');
        // Links that aim at the host's paths land on the same names inside, which do not exist.
        expect(() => read(open, '/abs/passwd')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
        expect(() => read(open, '/rel/passwd')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      });

      it('refuses a loop and never follows a /proc magic link out', () => {
        expect(() => read(open, '/loop/x')).toThrow(expect.objectContaining({ code: 'ELOOP' }));
        // openat2 refuses magic links (RESOLVE_NO_MAGICLINKS); the walk reads their text
        // and resolves it inside the root, where /proc/self does not exist.
        expect(() => read(open, '/magic/passwd')).toThrow();
      });
    });
  }

  it('mkdirInRoot makes missing directories inside, following a dangling link inside too', () => {
    symlinkSync(`${outside}/made`, join(root, 'dangling'));
    closeSync(mkdirInRoot(rootFd, '/dangling/deeper/still'));
    // The link's target was made inside the root, not on the host.
    expect(readlinkSync(join(root, 'dangling'))).toBe(`${outside}/made`);
    expect(() => readFileSync(join(outside, 'made'))).toThrow();
    expect(() => readFileSync(join(root, outside, 'made', 'deeper', 'still'))).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });
});
