// @diyc/run: diyC's command line (diyc-run and the lifecycle tools) over @diyc/container:
// flags in, a record and options out to the core, its answers formatted.
export { runOptions, DEFAULT_PIDS_LIMIT, DEFAULT_LOG_SIZE, DEFAULT_LOG_FILES } from './options.js';
export type { RunOptions } from './options.js';
export { containerAt, runtimeFor } from './runtime.js';
export { pipelineStages, shellLine, runPipeline, specFlags, startFlags } from './pipeline.js';
export type { StageCommand } from './pipeline.js';
export { diycRunCommand, runArgs, EXIT_RUNTIME } from './run-command.js';
export { psCommand, execCommand, logsCommand, stopCommand, rmCommand } from './lifecycle-commands.js';
