#!/usr/bin/env node
import { noTrace, runCli } from '@diyc/cli';
import { diycCommand } from './cli.js';
import { reapAndRestart } from './lifecycle.js';

/**
 * `diyc --reap NAME`: the exit command a detached container's diyc-shim runs when it ends
 * (the exit recorded, the stages undone, --rm done). Not a docker command: not in --help.
 */
async function main(argv: string[]): Promise<void> {
  const [first, name] = argv;
  if (first !== '--reap' || name === undefined) return runCli(diycCommand());
  try {
    await reapAndRestart(name, process.argv[1] ?? 'diyc', noTrace);
    process.exit(0);
  } catch (err) {
    process.stderr.write(`diyc --reap ${name}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

await main(process.argv.slice(2));
