#!/usr/bin/env node
import { runCli } from '@diyc/cli';
import { imageCommand } from './cli.js';

// `diyc-image ls | head -1`, or a next pipeline stage that failed: the reader has all it
// wants. Unhandled, the write's EPIPE would end the command with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
});

await runCli(imageCommand);
