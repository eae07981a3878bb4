#!/usr/bin/env node
// The `diyc-cgroup` command. This file is in git, not built, so that pnpm links it when it
// installs, before `pnpm build` has made dist/ (it skips a bin whose file is missing).
const entry = new URL('../dist/bin.js', import.meta.url);
await import(entry.href).catch((err) => {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes(`'${entry.pathname}'`)) throw err;
  process.stderr.write('diyc-cgroup: diyc is not built yet: run `pnpm build` in its repository\n');
  process.exit(1);
});
