#!/usr/bin/env node
// Makes a package's bins cheap to load: each entry (tsc's output, an ES module) becomes
// one CommonJS bundle and a small loader that runs it from V8's code cache.
//
//   node tools/bundle-bin.mjs [--commands-of=dist/cli.js#EXPORT] dist/bin.js [dist/other-bin.js ...]
//
// For dist/NAME.js it writes dist/NAME.bundle.cjs (the code) and dist/NAME.cjs (the
// loader, from tools/bin-loader.cjs), and removes dist/NAME.js and its declaration: a
// bin exports nothing. The bin file in git (bin/NAME.js, CommonJS through bin/package.json)
// requires dist/NAME.cjs. What each step saves, for `diyc-oci list` on Node 20 (ms over
// `node -e 0`, tools/bench/bins.mjs; the ES module bundle it replaces: +39.5):
// - one file: the workspace's packages and the ES-module-only ones (citty) are bundled,
//   their licences copied beside the bundle (THIRD-PARTY-LICENSES.md); a third-party
//   package that can be required (tar) stays in node_modules, with its updates (+25.7
//   as one ES module);
// - CommonJS, not an ES module: Node starts a CommonJS program without its ES module
//   loader (+16.9);
// - the code cache (+10.5): see tools/bin-loader.cjs.
// Tried and dropped: a V8 startup snapshot per bin (+10.0 when node is given the blob;
// +11.2 through the shell script a bin would need to give it), minifying (no change).
//
// A bundle is CommonJS, so what the sources take from ES modules is given another way:
// - import.meta.url is the loader's URL (made on first use: pathToFileURL costs ~0.5 ms
//   that most commands need not pay), fileURLToPath(import.meta.url) the loader's path
//   (no URL made and parsed back: ~0.5 ms of every diyc-run), and
//   createRequire(import.meta.url) the loader's own require (the same directory);
//   import.meta.resolve(x) resolves as require does;
// - a package with native parts (a binding.gyp: @diyc/syscalls) finds them beside itself:
//   in its files, import.meta.url is where that package is installed, found on first use
//   (the bin's package must depend on it) in the node_modules folders require() searches,
//   as require.resolve would, but without it: resolving a package's "exports" loads and
//   compiles Node's ES module resolver, ~4 ms of every container start (issue 22);
//   require.resolve is the fallback (NODE_PATH, global folders);
// - `await EXPR;` at the top of an entry runs EXPR without waiting for it: nothing follows
//   it, and a rejection still ends the process with the error. Any other top-level await
//   fails the build.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const loaderTemplate = readFileSync(fileURLToPath(new URL('bin-loader.cjs', import.meta.url)), 'utf8');

/** The directory and manifest of the package a file belongs to. */
function packageOf(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    // dist/commonjs/package.json and the like say only "type": the package is further up.
    if (pkg.name) return { dir, pkg };
  }
  throw new Error(`${file}: no package.json with a name above it`);
}

/** Is the file CommonJS, as Node would load it? */
function isCommonJs(file) {
  if (file.endsWith('.cjs')) return true;
  if (file.endsWith('.mjs')) return false;
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, 'utf8')).type !== 'module';
  }
  return true;
}

const hasNativeParts = (pkgDir) => existsSync(join(pkgDir, 'binding.gyp'));

/** Where `require(name)` lands, relative to the package's directory: dist/index.js. */
function mainOf(name, from) {
  const main = createRequire(from).resolve(name);
  return relative(packageOf(main).dir, main);
}

// Defined in every bundle, before its code; see the header.
const banner = `"use strict";
var __diycHref, __diycUrl = () => (__diycHref ??= require("node:url").pathToFileURL(__filename).href), __diycRequire = require;
var __diycResolve = (id) => require("node:url").pathToFileURL(require.resolve(id)).href;
var __diycCreateRequire = (url) => require("node:module").createRequire(url);
var __diycRoots = {};
var __diycPackageRoot = (name, main) => {
  const fs = require("node:fs");
  for (const dir of module.paths) {
    const root = dir + "/" + name;
    if (fs.existsSync(root + "/" + main)) return fs.realpathSync(root) + "/";
  }
  const entry = require.resolve(name);
  return entry.slice(0, entry.length - main.length);
};
var __diycPackagePath = (name, main, file) => (__diycRoots[name] ??= __diycPackageRoot(name, main)) + file;
var __diycPackageUrl = (name, main, file) => require("node:url").pathToFileURL(__diycPackagePath(name, main, file)).href;`;

/**
 * What a bin bundles: node's modules and the third-party packages that can be required stay
 * outside; the rest is bundled. Records the third-party packages it bundles (for their
 * licences) and the packages with native parts (which must be installed beside it).
 */
function resolvePlugin(bundled, natives) {
  return {
    name: 'diyc-bin-imports',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        // esbuild keeps node's modules outside itself, and drops those imported for nothing.
        if (isBuiltin(args.path)) return undefined;
        if (args.path.startsWith('@diyc/')) return undefined;
        let file;
        try {
          file = createRequire(args.importer).resolve(args.path);
        } catch {
          return undefined; // ES modules only: esbuild resolves it, and it is bundled
        }
        return isCommonJs(file) ? { path: args.path, external: true } : undefined;
      });
      b.onLoad({ filter: /\.m?js$/ }, (args) => {
        let text = readFileSync(args.path, 'utf8');
        const owner = packageOf(args.path);
        if (args.path.includes('/node_modules/') && !owner.pkg.name.startsWith('@diyc/')) bundled.set(owner.pkg.name, owner);
        if (text.includes('import.meta')) {
          if (hasNativeParts(owner.dir)) {
            natives.add(owner.pkg.name);
            const where = `${JSON.stringify(owner.pkg.name)}, ${JSON.stringify(mainOf(owner.pkg.name, args.path))}, ${JSON.stringify(relative(owner.dir, args.path))}`;
            const here = `__diycPackageUrl(${where})`;
            text = text
              .replaceAll('createRequire(import.meta.url)', `__diycCreateRequire(${here})`)
              .replaceAll('fileURLToPath(import.meta.url)', `__diycPackagePath(${where})`)
              .replaceAll('import.meta.url', here);
          } else {
            text = text
              .replaceAll('createRequire(import.meta.url)', '__diycRequire')
              .replaceAll('fileURLToPath(import.meta.url)', '__filename')
              .replaceAll('import.meta.url', '__diycUrl()');
          }
          text = text.replaceAll('import.meta.resolve(', '__diycResolve(');
        }
        // Any other createRequire(x) goes through the banner's, which loads node:module (~1 ms)
        // on first use, not at the start of every command.
        text = text.replace(/\bcreateRequire\(/g, '__diycCreateRequire(');
        if (args.path === entryPath) text = text.replace(/^await (.+);$/gm, '$1;');
        return { contents: text, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/** The licence files of a bundled package: LICENSE, and those of what it bundled itself. */
function licenceText(name, { dir, pkg }) {
  const parts = [`## ${name} ${pkg.version ?? ''}\n\nLicense: ${pkg.license ?? 'see below'}\n`];
  for (const sub of ['', 'dist']) {
    if (!existsSync(join(dir, sub))) continue;
    for (const f of readdirSync(join(dir, sub)).sort()) {
      if (/^(licen[cs]e|copying|third-party-licen[cs]es)/i.test(f)) parts.push(readFileSync(join(dir, sub, f), 'utf8').trim());
    }
  }
  return parts.join('\n\n');
}

let entryPath;
// --commands-of=dist/cli.js#ociCommand: the subcommands of that command tree (as
// gen-cli-docs reads it), each given a code cache of its own (bin-loader.cjs): diyc-oci's
// and diyc's.
const commandsOf = process.argv.slice(2).find((a) => a.startsWith('--commands-of='));
let commandNames = [];
if (commandsOf) {
  const [module, name] = commandsOf.slice('--commands-of='.length).split('#');
  // The export is the command tree, or what makes it (docker's `diycCommand(script)`).
  const exported = (await import(pathToFileURL(resolve(module)).href))[name];
  const tree = typeof exported === 'function' ? exported() : exported;
  if (!tree?.subCommands) throw new Error(`${commandsOf}: no command tree with subcommands there`);
  commandNames = Object.keys(tree.subCommands);
}
const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  console.error('usage: bundle-bin.mjs [--commands-of=MODULE#EXPORT] FILE...');
  process.exit(2);
}
const licences = new Map(); // directory -> (package -> its text)
for (const file of files) {
  entryPath = resolve(file);
  const binPkg = packageOf(entryPath);
  const bundled = new Map();
  const natives = new Set();
  const result = await build({
    entryPoints: [entryPath],
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // import() of what stays outside becomes require(): a script the loader compiles has
    // no ES module loader to hand import() to.
    supported: { 'dynamic-import': false },
    plugins: [resolvePlugin(bundled, natives)],
    metafile: true,
    outfile: join(dirname(entryPath), 'out.cjs'), // names the output in the metafile; nothing is written
    banner: { js: banner },
    logLevel: 'warning',
    // An import.meta left over would be undefined at run time: fail here instead.
    logOverride: { 'empty-import-meta': 'error' },
    legalComments: 'none',
  });
  // What the bundle requires, or finds, at run time must be installed with it.
  const required = Object.values(result.metafile.outputs)[0]
    .imports.filter((i) => i.external && !isBuiltin(i.path))
    .map((i) => (i.path.startsWith('@') ? i.path.split('/').slice(0, 2).join('/') : i.path.split('/')[0]));
  for (const name of new Set([...required, ...natives])) {
    if (!binPkg.pkg.dependencies?.[name])
      throw new Error(`${binPkg.pkg.name}: ${file} needs ${name} at run time, but does not depend on it`);
  }
  // tsc's shebang line is dropped: the bundle is not run by itself.
  const code = result.outputFiles[0].text.replace(/^#!.*\n/, '');
  // The loader reads the bundle as Latin-1, a copy where UTF-8 is a decoding: it must be
  // ASCII. esbuild escapes strings and names, but not a regular expression's characters.
  const nonAscii = /[^\x00-\x7f]/.exec(code);
  if (nonAscii) {
    const line = code.slice(0, nonAscii.index).split('\n').length;
    throw new Error(
      `${file}: the bundle holds '${nonAscii[0]}' (line ${line}: ${code.split('\n')[line - 1]?.trim().slice(0, 100)}): write it as \\u${nonAscii[0].charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  const base = basename(file).replace(/\.js$/, '');
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  writeFileSync(join(dirname(entryPath), `${base}.bundle.cjs`), code);
  writeFileSync(
    join(dirname(entryPath), `${base}.cjs`),
    loaderTemplate
      .replaceAll('__BUNDLE__', `${base}.bundle.cjs`)
      .replaceAll('__BUILD__', hash)
      .replaceAll('__COMMANDS__', JSON.stringify(commandNames)),
  );
  // tsc's module and declaration: the bundle is what runs, and a bin exports nothing.
  rmSync(entryPath);
  rmSync(entryPath.replace(/\.js$/, '.d.ts'), { force: true });
  const here = licences.get(dirname(entryPath)) ?? new Map();
  for (const [name, owner] of bundled) here.set(name, licenceText(name, owner));
  licences.set(dirname(entryPath), here);
}
for (const [dir, texts] of licences) {
  if (texts.size === 0) continue;
  const body = [...texts.keys()]
    .sort()
    .map((name) => texts.get(name))
    .join('\n\n');
  writeFileSync(join(dir, 'THIRD-PARTY-LICENSES.md'), `# Licences of the packages bundled in the bins here\n\n${body}\n`);
}
