#!/usr/bin/env node
import { runCli } from '@diyc/cli';
import { overlayCommand } from './cli.js';

await runCli(overlayCommand);
