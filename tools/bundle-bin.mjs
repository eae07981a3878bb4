#!/usr/bin/env node
// Bundles a package's bin (tsc's output) into one file, in place.
//
// Node 20 spends about half a millisecond on every ES module it loads, and a bin
// such as nsexec pulls in some thirty: bundled, nsexec starts about 18 ms sooner
// (tools/bench/startup.mjs). Only the workspace's own code is bundled: third-party
// packages (citty, tar) are imported from node_modules, so they keep their licence and
// their updates, and each bin package lists them as dependencies. @diyc/syscalls stays
// outside, since it finds its compiled addon beside itself. The workspace packages share
// one version (.changeset/config.json "fixed"), so a release never leaves a bin bundling
// an older copy of a sibling package.
//
//   node tools/bundle-bin.mjs dist/bin.js [dist/other-bin.js ...]
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

/** Leaves every package but the workspace's own (@diyc/*) to be imported from node_modules. */
const thirdPartyExternal = {
  name: 'third-party-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@diyc/') && !args.path.startsWith('@diyc/syscalls')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: bundle-bin.mjs FILE...');
  process.exit(2);
}
for (const file of files) {
  await build({
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    plugins: [thirdPartyExternal],
    // tsc's shebang line is kept by esbuild from the entry file.
    logLevel: 'warning',
    legalComments: 'none',
  });
  // tsc's declaration describes the module before bundling; a bin exports nothing.
  rmSync(file.replace(/\.js$/, '.d.ts'), { force: true });
}
