'use strict';
// Loads a bin's bundle with V8's code cache. tools/bundle-bin.mjs writes this file beside
// the bundle, from tools/bin-loader.cjs, with the bundle's name and hash filled in.
//
// Compiling a bin's bundle from its source is the largest part of what loading a command
// costs. The first run of a build, on a given Node, keeps what V8 compiled (the functions
// that ran too) in a file beside the bundle; every later run starts from it. The cache sits
// beside the code and is written only where the code could be, so whoever may change it
// could change the code itself. Its name holds a hash of the bundle, so a cache made for
// another build is never used (V8 checks only the source's length), and the Node version
// and architecture, which V8 checks too. A cache that cannot be written (a read-only
// install, another user's) costs nothing but the cache.
//
// A bin with subcommands (bundle-bin's --commands-of) keeps one cache per subcommand, named
// by the first argument that is one: a cache holds the functions its first run compiled,
// so one made by `create` left `state`, `kill` and `delete` compiling theirs at every
// call (~4 ms each, diyc-oci, issue 22). Any other command line uses the bin's own cache.
//
// --help and --version keep one of their own too, and a run that failed (below): they
// compile a sliver of the bin, and a cache made by one (the first thing many run after an
// install) left every later `diyc-run` compiling the rest: 15-30 ms more CPU per container
// start (issue 22).
const { readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { Script } = require('node:vm');

const commands = __COMMANDS__;
const args = process.argv.slice(2);
const asksHelp = args.some((arg) => arg === '--help' || arg === '-h' || arg === '--version');
const command = commands.length === 0 ? undefined : args.find((arg) => commands.includes(arg));
const cacheName = asksHelp ? 'help' : command;
const file = `${__dirname}/__BUNDLE__`;
const base = `${__dirname}/__BUNDLE__.__BUILD__.${process.version}-${process.arch}${cacheName === undefined ? '' : `.${cacheName}`}`;
// A run that failed may have stopped early (a first `diyc-run NAME IMAGE` before IMAGE was
// unpacked): its cache is kept apart (NAME.failed.cache), used only until a run that
// succeeds makes the real one. A call that only ever fails (containerd's `state` of a
// container that is gone: the front hands it to Node) still runs from a cache.
const okCache = `${base}.cache`;
const failedCache = `${base}.failed.cache`;
let cached;
let cachedFrom;
for (const candidate of [okCache, failedCache]) {
  try {
    cached = readFileSync(candidate);
    cachedFrom = candidate;
    break;
  } catch {
    // not made yet
  }
}
// The wrapper CommonJS gives a module, on a line of its own, so that line numbers in
// stack traces are the bundle's. The bundle is ASCII (bundle-bin checks it), so Latin-1 reads
// it as UTF-8 would, by a copy: decoding UTF-8 took 2 to 3 ms of diyc's 583 KB bundle, one
// non-ASCII character in it 1 more (issue 22).
const script = new Script(`(function (exports, require, module, __filename, __dirname) {\n${readFileSync(file, 'latin1')}\n})`, {
  filename: file,
  lineOffset: -1,
  cachedData: cached,
});
const used = cached !== undefined && !script.cachedDataRejected ? cachedFrom : undefined;
if (used !== okCache) {
  // At exit, so that the cache holds the functions this run compiled, not only the top level.
  process.once('exit', (code) => {
    const target = code === 0 ? okCache : used === undefined ? failedCache : undefined;
    if (target === undefined) return;
    const partial = `${target}.${process.pid}`;
    try {
      writeFileSync(partial, script.createCachedData());
      renameSync(partial, target);
    } catch {
      try {
        rmSync(partial, { force: true });
      } catch {
        // nowhere to write: no cache
      }
    }
  });
}
// The bundle's __filename is this file: a bin that runs itself again (diyc-run -d) runs
// this loader, and require() resolves from the same directory.
script.runInThisContext()(module.exports, require, module, __filename, __dirname);
