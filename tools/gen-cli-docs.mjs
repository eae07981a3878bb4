#!/usr/bin/env node
// Makes a package's man pages and shell completion scripts from its command definitions,
// at build time (the last step of its build script, after tsc):
//
//   node ../../tools/gen-cli-docs.mjs dist/cli.js#netCommand
//   node ../../tools/gen-cli-docs.mjs dist/run-command.js#diycRunCommand dist/lifecycle-commands.js#psCommand,execCommand
//   node ../../tools/gen-cli-docs.mjs --gather        (the umbrella package: copies its dependencies')
//
// Each MODULE#EXPORT is a command definition (defineCli), or a function that returns one
// when called with no arguments. For each command BIN it writes, in the package:
//   man/BIN.1, completions/BIN.bash, completions/_BIN (zsh), completions/BIN.fish
// and checks that package.json ships them: "man" lists man/BIN.1 for every bin (npm links
// those into the man path on a global install), and "files" has man and completions.
//
// npm links the man pages of the package named on `npm install -g` only, never those of
// its dependencies, and never a path outside the package: so the umbrella package `diyc`
// carries copies (--gather), as its bin files stand in for its dependencies' bins.
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const cli = await import(new URL('../packages/cli/dist/index.js', import.meta.url).href);
const dir = process.cwd();
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const bins = Object.keys(pkg.bin ?? {}).sort();

function fail(message) {
  console.error(`gen-cli-docs: ${pkg.name}: ${message}`);
  process.exit(1);
}

/** The files made for one command, by path under the package. */
const filesOf = (bin) => [`man/${bin}.1`, `completions/${bin}.bash`, `completions/_${bin}`, `completions/${bin}.fish`];

/** Every diyc command, for SEE ALSO: the umbrella package lists them all. */
function allCommands() {
  const umbrella = new URL('../packages/diyc/package.json', import.meta.url);
  return existsSync(umbrella) ? Object.keys(JSON.parse(readFileSync(umbrella, 'utf8')).bin ?? {}).sort() : bins;
}

async function generate(specs) {
  const made = [];
  for (const spec of specs) {
    const [file, names] = spec.split('#');
    if (!file || !names) fail(`${spec}: give MODULE#EXPORT[,EXPORT...]`);
    const module = await import(pathToFileURL(resolve(dir, file)).href);
    for (const name of names.split(',')) {
      const found = module[name];
      if (found === undefined) fail(`${file} exports no ${name}`);
      const cmd = typeof found === 'function' ? found() : found;
      const bin = cmd.meta?.name;
      if (typeof bin !== 'string') fail(`${file}#${name} has no meta.name`);
      const texts = [
        cli.manPage(cmd, { version: pkg.version, seeAlso: allCommands() }),
        cli.bashCompletion(cmd),
        cli.zshCompletion(cmd),
        cli.fishCompletion(cmd),
      ];
      for (const [i, path] of filesOf(bin).entries()) writeFileSync(join(dir, path), texts[i]);
      made.push(bin);
    }
  }
  return made;
}

/** Copies the man pages and completions of this package's bins from the dependencies that have them. */
function gather() {
  const made = [];
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    const from = realpathSync(join(dir, 'node_modules', dep));
    const theirs = Object.keys(JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')).bin ?? {});
    for (const bin of theirs.filter((b) => bins.includes(b))) {
      for (const path of filesOf(bin)) {
        if (!existsSync(join(from, path))) fail(`${dep} has no ${path}: build it first`);
        cpSync(join(from, path), join(dir, path));
      }
      made.push(bin);
    }
  }
  return made;
}

const args = process.argv.slice(2);
if (args.length === 0) fail('usage: gen-cli-docs.mjs MODULE#EXPORT[,EXPORT...]... | --gather');
for (const sub of ['man', 'completions']) {
  rmSync(join(dir, sub), { recursive: true, force: true });
  mkdirSync(join(dir, sub));
}
const made = args[0] === '--gather' ? gather() : await generate(args);

// What npm will install must be what was made: every bin documented, and listed.
const missing = bins.filter((b) => !made.includes(b));
if (missing.length > 0) fail(`no command definition given for ${missing.join(', ')}`);
// Both sorted as paths: a bin named `diyc` sorts before diyc-run, but diyc.1 after diyc-run.1.
const man = bins.map((b) => `./man/${b}.1`).sort();
if (JSON.stringify([...(pkg.man ?? [])].sort()) !== JSON.stringify(man)) fail(`package.json "man" must be ${JSON.stringify(man)}`);
for (const sub of ['man', 'completions']) if (!pkg.files?.includes(sub)) fail(`package.json "files" must have "${sub}"`);
console.log(`gen-cli-docs: ${made.map((b) => `man/${b}.1`).join(', ')}, each with its bash, zsh and fish completions`);
