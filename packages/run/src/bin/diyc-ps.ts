#!/usr/bin/env node
import { runCli } from '@diyc/cli';
import { psCommand } from '../lifecycle-commands.js';

await runCli(psCommand);
