#!/usr/bin/env node
import { runCli } from '@diyc/cli';
import { nsexecCommand } from './cli.js';

await runCli(nsexecCommand);
