// The commands as a new user meets them: installed from the packed tarballs, answering
// --version with the version npm installed, printing tables through a pipe and JSON only
// when asked, help without colour unless a person is reading it, and usage errors that
// repeat the usage --help shows. Also what the packages ship.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRoot, onTerminal, repo, rootReason, runBin, runCommand, tempDir } from './helpers.js';

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  repository?: unknown;
  homepage?: string;
  bugs?: string;
  keywords?: string[];
}

const packageDirs = readdirSync(join(repo, 'packages'));
const manifests = packageDirs.map((dir) => ({
  dir,
  pkg: JSON.parse(readFileSync(join(repo, 'packages', dir, 'package.json'), 'utf8')) as Manifest,
}));
const bins = manifests
  .filter(({ pkg }) => pkg.name !== 'diyc')
  .flatMap(({ pkg }) => Object.keys(pkg.bin ?? {}).map((bin) => ({ bin, pkg })));
const ANSI = /\x1b\[/;

describe('every command', () => {
  it.each(bins.map(({ bin, pkg }) => [bin, pkg.version]))('%s --version prints the version of its package.json', async (bin, version) => {
    const r = await runBin(bin, ['--version']);
    expect(r.code, r.stderr).toBe(0);
    // diyc-oci's first line is runc's, with its own version: containerd and Docker read it.
    expect(r.stdout.split('\n')[0]).toBe(bin === 'diyc-oci' ? `runc version 1.1.5 (diyc-oci ${version})` : `${bin} ${version}`);
  });

  it.each(bins.map(({ bin }) => [bin]))(
    '%s --help has no colour through a pipe, and the usage of an error is the one --help shows',
    async (bin) => {
      const help = await runBin(bin, ['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).not.toMatch(ANSI);
      if (bin === 'diyc-oci') {
        // runc's (urfave/cli's) words: "Incorrect Usage." and the whole help on stdout, exit 1.
        const bad = await runBin(bin, ['--no-such-flag']);
        expect(bad.code).toBe(1);
        expect(bad.stdout).toBe(`Incorrect Usage. flag provided but not defined: -no-such-flag\n\n${help.stdout}`);
        return;
      }
      const synopsis = /^USAGE (.*)$/m.exec(help.stdout)?.[1];
      expect(synopsis).toBeDefined();
      const bad = await runBin(bin, ['--no-such-flag']);
      // diyc gives docker's 125 for a bad flag; the other bins 2.
      expect(bad.code).toBe(bin === 'diyc' ? 125 : 2);
      expect(bad.stderr).toContain(`usage: ${synopsis}`);
    },
  );

  it('colours help only on a terminal, and not with NO_COLOR set (to any value)', async () => {
    const helpOnTerminal = async (env: Record<string, string>): Promise<string> => {
      let screen = '';
      await onTerminal(['diyc-ps', '--help;', 'sleep', '5'], env, async (t) => {
        await t.screen(/OPTIONS/);
        screen = t.escapes();
      });
      return screen;
    };
    const colour = /\x1b\[[0-9;]*[1-9][0-9;]*m/; // a colour or bold; a bare reset is tmux's own
    expect(await helpOnTerminal({})).toMatch(colour);
    const plain = await helpOnTerminal({ NO_COLOR: '' });
    expect(plain).toContain('USAGE');
    expect(plain).not.toMatch(colour);
  });
});

describe.skipIf(!isRoot)(`list commands through a pipe (${rootReason})`, () => {
  const state = tempDir('diyc-lists-');
  const env = { DIYC_ROOT: state.path, DIYC_CGROUP_PARENT: `diyc-e2e-lists-${process.pid}`, DIYC_BRIDGE: 'dlists0' };
  afterAll(() => state.remove());
  const lists: [string, string[], string][] = [
    ['diyc-ps', ['-a'], 'NAME'],
    ['diyc-image', ['ls'], 'NAME'],
    ['diyc-cgroup', ['ls'], 'NAME'],
    ['diyc-oci', ['--root', join(state.path, 'oci'), 'list'], 'ID'],
  ];

  it.each(lists)('%s %s prints a table with a header, and JSON with --json', async (bin, args, header) => {
    const table = await runBin(bin, args, { env: { ...process.env, ...env } });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(new RegExp(`^${header}\\s`));
    const json = await runBin(bin, bin === 'diyc-oci' ? [...args, '--format', 'json'] : [...args, '--json'], {
      env: { ...process.env, ...env },
    });
    expect(json.code, json.stderr).toBe(0);
    // runc's list prints null when it has no container (a Go nil slice).
    const parsed: unknown = JSON.parse(json.stdout);
    expect(Array.isArray(parsed) || (bin === 'diyc-oci' && parsed === null), json.stdout).toBe(true);
  });

  it('diyc-net status prints lines through a pipe and JSON with --json', async () => {
    const text = await runBin('diyc-net', ['status'], { env: { ...process.env, ...env } });
    expect(text.stdout).toMatch(/^missing {2}bridge dlists0/m);
    const json = await runBin('diyc-net', ['status', '--json'], { env: { ...process.env, ...env } });
    expect(JSON.parse(json.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ ok: false })]));
  });

  it('diyc-image inspect takes --json', async () => {
    const r = await runBin('diyc-image', ['inspect', '--json', 'nothing'], { env: { ...process.env, ...env } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nothing');
  });
});

describe('what the packages ship', () => {
  it('every bin bundle imports only the packages its package.json depends on', () => {
    for (const { dir, pkg } of manifests.filter(({ pkg }) => pkg.name !== 'diyc')) {
      const dist = join(repo, 'packages', dir, 'dist');
      for (const bin of Object.values(pkg.bin ?? {})) {
        // A shell-script bin (diyc-oci's) names the Node program it runs: js=$here/NAME.js.
        const script = readFileSync(join(repo, 'packages', dir, bin), 'utf8');
        const file = script.startsWith('#!/bin/sh') ? join(dirname(bin), /^js=\$here\/(\S+)$/m.exec(script)?.[1] ?? 'missing') : bin;
        const shim = readFileSync(join(repo, 'packages', dir, file), 'utf8');
        // The bin requires its loader, dist/NAME.cjs, which runs dist/NAME.bundle.cjs (tools/bundle-bin.mjs).
        const loader = /\/\.\.\/(dist\/[^`']+)\.cjs`/.exec(shim)?.[1];
        const bundle = join(repo, 'packages', dir, loader === undefined ? 'missing' : `${loader}.bundle.cjs`);
        // What the bundle requires, and the packages whose files it finds at run time (@diyc/syscalls).
        const text = readFileSync(bundle, 'utf8');
        const imports = [...text.matchAll(/\brequire(?:\.resolve)?\("([^".][^"]*)"\)|__diycPackageUrl\("([^"]+)"/g)].map(
          (m) => (m[1] ?? m[2]) as string,
        );
        const bare = [
          ...new Set(
            imports
              .filter((i) => !i.startsWith('node:'))
              .map((i) => (i.startsWith('@') ? i.split('/').slice(0, 2).join('/') : (i.split('/')[0] as string))),
          ),
        ];
        for (const name of bare) expect(Object.keys(pkg.dependencies ?? {}), `${pkg.name} ${file} imports ${name}`).toContain(name);
      }
      expect(
        readdirSync(dist, { recursive: true }).filter((f) => String(f).endsWith('.map')),
        dir,
      ).toEqual([]);
    }
  });

  it('every package has its metadata, and all of them are released together', () => {
    const config = JSON.parse(readFileSync(join(repo, '.changeset', 'config.json'), 'utf8')) as { fixed: string[][] };
    const published = manifests
      .filter(({ pkg }) => !pkg.private)
      .map(({ pkg }) => pkg.name)
      .sort();
    expect([...(config.fixed[0] ?? [])].sort()).toEqual(published);
    for (const { pkg } of manifests) {
      expect(pkg.repository, pkg.name).toBeDefined();
      expect(pkg.homepage, pkg.name).toMatch(/^https:\/\//);
      expect(pkg.bugs, pkg.name).toMatch(/^https:\/\//);
      expect(pkg.keywords?.length, pkg.name).toBeGreaterThan(2);
      expect(pkg.version, pkg.name).toBe(manifests[0]?.pkg.version);
    }
  });

  it('the umbrella package diyc gives every command', () => {
    const umbrella = manifests.find(({ pkg }) => pkg.name === 'diyc')?.pkg;
    expect(Object.keys(umbrella?.bin ?? {}).sort()).toEqual(bins.map((b) => b.bin).sort());
  });

  it('the addon asks for nothing newer than glibc 2.28 and libstdc++ 3.4.21 (Debian 10, Ubuntu 20.04)', () => {
    const symbols = spawnSync('objdump', ['-T', join(repo, 'packages', 'syscalls', 'build', 'Release', 'diyc_syscalls.node')], {
      encoding: 'utf8',
    }).stdout;
    const newest = (prefix: string) =>
      [...symbols.matchAll(new RegExp(`${prefix}_([0-9.]+)`, 'g'))]
        .map((m) => m[1] as string)
        .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
        .pop();
    expect(newest('GLIBC')?.localeCompare('2.28', undefined, { numeric: true })).toBeLessThanOrEqual(0);
    expect(newest('GLIBCXX')?.localeCompare('3.4.21', undefined, { numeric: true })).toBeLessThanOrEqual(0);
    // libseccomp is linked in: the addon needs no libseccomp.so where it runs.
    const needed = spawnSync('objdump', ['-p', join(repo, 'packages', 'syscalls', 'build', 'Release', 'diyc_syscalls.node')], {
      encoding: 'utf8',
    }).stdout;
    expect(needed).toMatch(/NEEDED\s+libc\.so\.6/);
    expect(needed).not.toMatch(/NEEDED\s+libseccomp/);
  });
});

describe("a bin's code cache", () => {
  // diyc-ps's bundle, run as installed: which cache files its runs leave beside it.
  const dir = join(repo, 'packages/run/dist/bin');
  const caches = () => readdirSync(dir).filter((f) => f.startsWith('diyc-ps.bundle.cjs.') && f.endsWith('.cache'));
  const removeCaches = () => {
    for (const f of caches()) rmSync(join(dir, f), { force: true });
  };
  const root = tempDir('diyc-cache-');
  afterAll(() => root.remove());

  it('is made by a run that succeeded: --help keeps one of its own, and a failed run one apart, until a run succeeds', async () => {
    removeCaches();
    const kinds = () =>
      caches()
        .map((f) => f.replace(/^.*-x64/, ''))
        .sort();
    try {
      const env = { DIYC_ROOT: root.path };
      expect((await runBin('diyc-ps', ['--help'], { env })).code).toBe(0);
      expect(kinds()).toEqual(['.help.cache']);
      expect((await runBin('diyc-ps', ['--no-such-flag'], { env })).code).toBe(2);
      expect(kinds()).toEqual(['.failed.cache', '.help.cache']);
      const listed = await runBin('diyc-ps', ['-a'], { env });
      expect(listed.code, listed.stderr).toBe(0);
      expect(kinds()).toEqual(['.cache', '.failed.cache', '.help.cache']);
    } finally {
      removeCaches();
    }
  });

  it("is one per subcommand for a bin of subcommands: diyc's ps and images do not compile each other's code", async () => {
    const docker = join(repo, 'packages/docker/dist');
    const dockerCaches = () => readdirSync(docker).filter((f) => f.startsWith('bin.bundle.cjs.') && f.endsWith('.cache'));
    const clear = () => {
      for (const f of dockerCaches()) rmSync(join(docker, f), { force: true });
    };
    clear();
    try {
      const env = { DIYC_ROOT: root.path };
      for (const args of [['ps', '-a'], ['images']]) {
        const r = await runBin('diyc', args, { env });
        expect(r.code, r.stderr).toBe(0);
      }
      expect(
        dockerCaches()
          .map((f) => f.replace(/^.*-x64/, ''))
          .sort(),
      ).toEqual(['.images.cache', '.ps.cache']);
    } finally {
      clear();
    }
  });
});

describe.skipIf(!isRoot)(`an install from the packed tarballs (${rootReason})`, () => {
  it('packs every package, installs the tarballs with npm and scripts off, and runs the commands and a container from there', async () => {
    const r = await runCommand('bash', [join(repo, 'tools', 'pack-check.sh')], { timeoutMs: 600_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pack-check: \d+ bins answer --version; nsexec -pu packcheck hostname printed packcheck/);
    // A container from the installed bins alone: diyc-init (a prebuilt executable that
    // packing leaves 0644) as PID 1, and the --dry-run pipeline stage by stage.
    expect(r.stdout).toContain(
      "pack-check: from the installed tarballs, diyc-run --init printed 'packrun init', and the --dry-run pipeline and --pipeline ran stage by stage",
    );
    expect(r.stdout).toContain(
      'pack-check: from the installed tarballs, diyc-oci-front (prebuilt, made executable by create) did start, state, kill and delete with no node',
    );
  }, 600_000);
});

describe('bundle-bin', () => {
  const work = tempDir('diyc-bundle-');
  afterAll(() => work.remove());

  it('refuses a bundle that is not ASCII, which the loader would read wrong as Latin-1, and says what to write', () => {
    const pkg = join(work.path, 'pkg');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'bundle-test', version: '0.0.0', type: 'module' }));
    const bundle = (source: string) => {
      writeFileSync(join(pkg, 'dist/bin.js'), source);
      return spawnSync(process.execPath, [join(repo, 'tools/bundle-bin.mjs'), 'dist/bin.js'], { cwd: pkg, encoding: 'utf8' });
    };
    // esbuild escapes a string's µ, not a regular expression's.
    const refused = bundle("console.log(/(\\d+)(ms|µs)/.test(process.argv[2] ?? ''), 'µs');\n");
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("the bundle holds 'µ'");
    expect(refused.stderr).toContain('write it as \\u00b5');
    const made = bundle("console.log(/(\\d+)(ms|\\u00b5s)/.test(process.argv[2] ?? ''), 'µs');\n");
    expect(made.status, made.stderr).toBe(0);
    const run = spawnSync(process.execPath, [join(pkg, 'dist/bin.cjs'), '5µs'], { encoding: 'utf8' });
    expect(run.stdout).toBe('true µs\n');
  });
});
