#!/usr/bin/env node
import { runCli } from '@diyc/cli';
import { execCommand } from '../lifecycle-commands.js';

await runCli(execCommand);
