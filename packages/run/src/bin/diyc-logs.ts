#!/usr/bin/env node
import { runCli } from '@diyc/cli';
import { logsCommand } from '../lifecycle-commands.js';

await runCli(logsCommand);
