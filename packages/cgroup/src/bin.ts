#!/usr/bin/env node
import { runCli } from '@diyc/cli';
import { cgroupCommand } from './cli.js';

await runCli(cgroupCommand);
