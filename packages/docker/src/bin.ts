#!/usr/bin/env node
import { noTrace, runCli } from '@diyc/cli';
import { diycCommand } from './cli.js';
import { monitorHealth } from './health-monitor.js';
import { reapAndRestart } from './lifecycle.js';

/**
 * Two internal commands, not docker's (not in --help): `diyc --reap NAME`, the exit command
 * a detached container's diyc-shim runs when it ends (the exit recorded, the stages undone,
 * --rm and the restart policy done), and `diyc --health NAME`, its health checks' monitor.
 */
async function main(argv: string[]): Promise<void> {
  const [first, name] = argv;
  if ((first !== '--reap' && first !== '--health') || name === undefined) return runCli(diycCommand());
  try {
    if (first === '--reap') await reapAndRestart(name, process.argv[1] ?? 'diyc', noTrace);
    else await monitorHealth(name);
    process.exit(0);
  } catch (err) {
    process.stderr.write(`diyc ${first} ${name}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

await main(process.argv.slice(2));
