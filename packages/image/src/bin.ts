#!/usr/bin/env node
// `diyc-image ls | head -1` (a reader that has all it wants) or stdio an engine closed:
// runCli's shell drops what cannot be written, and the command's own exit code stands.
import { runCli } from '@diyc/cli';
import { imageCommand } from './cli.js';

await runCli(imageCommand);
