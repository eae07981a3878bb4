// Node's modules that only some commands need, loaded when first used: each costs a few
// milliseconds to load, and `diyc-image ls` or the unpack of a plain layer uses none of
// them (the digest worker loads crypto on its own thread).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const crypto = (): typeof import('node:crypto') => require('node:crypto') as typeof import('node:crypto');
export const zlib = (): typeof import('node:zlib') => require('node:zlib') as typeof import('node:zlib');
export const childProcess = (): typeof import('node:child_process') => require('node:child_process') as typeof import('node:child_process');
export const workerThreads = (): typeof import('node:worker_threads') =>
  require('node:worker_threads') as typeof import('node:worker_threads');
