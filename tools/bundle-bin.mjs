#!/usr/bin/env node
// Bundles a package's bin (tsc's output) into one file, in place.
//
// Node 20 spends about half a millisecond on every ES module it loads, and a bin
// such as nsexec pulls in some thirty: bundled, nsexec starts about 18 ms sooner
// (tools/bench/startup.mjs). The libraries stay unbundled for those who import them;
// @diyc/syscalls stays outside, since it finds its compiled addon beside itself.
//
//   node tools/bundle-bin.mjs dist/bin.js [dist/other-bin.js ...]
import { build } from 'esbuild';

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
    external: ['@diyc/syscalls'],
    // tsc's shebang line is kept by esbuild from the entry file.
    logLevel: 'warning',
    legalComments: 'none',
  });
}
