#!/usr/bin/env node
import { runCli } from '@diyc/cli';
import { rmCommand } from '../lifecycle-commands.js';

await runCli(rmCommand);
