#!/usr/bin/env node
import { runCli } from '@diyc/cli';
import { imageCommand } from './cli.js';

await runCli(imageCommand);
