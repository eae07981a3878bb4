export { runCli, defineCli, CliError } from './main.js';
export type { CliCommand, CliContext } from './main.js';
export { parseArgv, many, one, UsageError } from './parse.js';
export type { Parsed, ParsedFlags } from './parse.js';
export { createTrace, noTrace } from './trace.js';
export type { Trace } from './trace.js';
export { createProgress, formatBytes } from './progress.js';
export type { Progress } from './progress.js';
export type { ArgsDef } from 'citty';
