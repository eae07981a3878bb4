#!/usr/bin/env node
import { runCli } from '@diyc/cli';
import { netCommand } from './cli.js';

await runCli(netCommand);
