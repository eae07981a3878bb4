// The man pages and completion scripts the packages ship, as a user meets them after the
// build: each listed in its package.json "man", rendered by man without a warning, and
// each bash script completing its command's subcommands and flags (zsh and fish read
// theirs, where installed). A package joins by running tools/gen-cli-docs.mjs in its build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo } from './helpers.js';

interface Manifest {
  name: string;
  bin?: Record<string, string>;
  man?: string[];
  files?: string[];
}

const packages = readdirSync(join(repo, 'packages')).map((dir) => ({
  dir: join(repo, 'packages', dir),
  pkg: JSON.parse(readFileSync(join(repo, 'packages', dir, 'package.json'), 'utf8')) as Manifest,
}));
const documented = packages.filter(({ pkg }) => pkg.man !== undefined);
const pages = documented.flatMap(({ dir, pkg }) => Object.keys(pkg.bin ?? {}).map((bin) => ({ bin, dir, pkg })));
const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** What the bash script of `bin` completes for `words` (the last one under the cursor). */
function bashComplete(dir: string, bin: string, words: string[]): string[] {
  const fn = `_${bin.replace(/[^A-Za-z0-9]/g, '_')}`;
  const r = spawnSync(
    'bash',
    [
      '-c',
      `source "$1"; COMP_WORDS=("\${@:2}"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); ${fn}; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'bash',
      join(dir, 'completions', `${bin}.bash`),
      bin,
      ...words,
    ],
    { encoding: 'utf8' },
  );
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean);
}

describe('man pages and completion', () => {
  it('the packages that make them: at least the tools without a container lifecycle', () => {
    expect(documented.map(({ pkg }) => pkg.name)).toEqual(
      expect.arrayContaining(['@diyc/nsexec', '@diyc/image', '@diyc/overlay', '@diyc/cgroup', '@diyc/net']),
    );
  });

  it.each(documented.map(({ dir, pkg }) => [pkg.name, dir, pkg] as const))(
    '%s lists a man page for each bin, and ships man and completions',
    (_name, dir, pkg) => {
      expect([...(pkg.man ?? [])].sort()).toEqual(
        Object.keys(pkg.bin ?? {})
          .map((bin) => `./man/${bin}.1`)
          .sort(),
      );
      expect(pkg.files).toEqual(expect.arrayContaining(['man', 'completions']));
      for (const page of pkg.man ?? []) expect(existsSync(join(dir, page)), page).toBe(true);
    },
  );

  it.skipIf(!has('man'))('every man page renders without a warning', () => {
    for (const { bin, dir } of pages) {
      const r = spawnSync('man', ['--warnings', '-l', join(dir, 'man', `${bin}.1`)], {
        encoding: 'utf8',
        env: { ...process.env, MANWIDTH: '80' },
      });
      expect(r.stderr, bin).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^NAME\\n\\s+${bin} - `, 'm'));
      expect(r.stdout).toMatch(/^EXIT STATUS$/m);
    }
  });

  it('diyc-net s<TAB> completes setup and status; nsexec --h<TAB> completes --help', () => {
    const net = documented.find(({ pkg }) => pkg.name === '@diyc/net');
    const nsexec = documented.find(({ pkg }) => pkg.name === '@diyc/nsexec');
    expect(bashComplete(net?.dir ?? '', 'diyc-net', ['s'])).toEqual(['setup', 'status']);
    expect(bashComplete(net?.dir ?? '', 'diyc-net', ['attach', '--p'])).toEqual(['--publish']);
    expect(bashComplete(nsexec?.dir ?? '', 'nsexec', ['--h'])).toEqual(['--help']);
  });

  it("every bash script completes its command's own help flag", () => {
    for (const { bin, dir } of pages) expect(bashComplete(dir, bin, ['--he']), bin).toEqual(['--help']);
  });

  it.skipIf(!has('zsh') || !has('fish'))('zsh and fish read every script', () => {
    for (const { bin, dir } of pages) {
      expect(spawnSync('zsh', ['-n', join(dir, 'completions', `_${bin}`)], { encoding: 'utf8' }).stderr, bin).toBe('');
      const fish = spawnSync('fish', ['-c', `source ${join(dir, 'completions', `${bin}.fish`)}; complete -C '${bin} --he'`], {
        encoding: 'utf8',
      });
      expect(fish.stderr, bin).toBe('');
      expect(fish.stdout, bin).toMatch(/^--help\t/m);
    }
  });
});
