#!/usr/bin/env node
// The `diyc` command. This file is in git, not built, so that pnpm links it when it
// installs, before `pnpm build` has made dist/ (it skips a bin whose file is missing).
// It is CommonJS (bin/package.json), as is what it loads: Node starts it without its ES
// module loader (tools/bundle-bin.mjs).
'use strict';
const entry = `${__dirname}/../dist/bin.cjs`;
try {
  require(entry);
} catch (err) {
  if (err?.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes(`'${entry}'`)) throw err;
  process.stderr.write('diyc: diyc is not built yet: run `pnpm build` in its repository\n');
  process.exit(1);
}
