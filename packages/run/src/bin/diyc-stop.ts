#!/usr/bin/env node
import { runCli } from '@diyc/cli';
import { stopCommand } from '../lifecycle-commands.js';

await runCli(stopCommand);
