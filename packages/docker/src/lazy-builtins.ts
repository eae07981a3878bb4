// Node's modules that only some commands need, loaded when first used: node:net (and the
// streams it brings) costs every `diyc` command ~5 ms to load, and only a foreground run,
// a health check, `exec` and `top` use them.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const net = (): typeof import('node:net') => require('node:net') as typeof import('node:net');
export const childProcess = (): typeof import('node:child_process') => require('node:child_process') as typeof import('node:child_process');
