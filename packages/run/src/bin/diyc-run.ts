#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { runCli } from '@diyc/cli';
import { diycRunCommand } from '../run-command.js';

await runCli(diycRunCommand(fileURLToPath(import.meta.url)));
