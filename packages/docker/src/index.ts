export { diycCommand } from './cli.js';
export { parseFilters, anyOf, labelMatches, nameMatches, globMatches } from './filters.js';
export type { Filters } from './filters.js';
export { compileTemplate } from './template.js';
export { humanDuration, humanSize, bytesSize, parseGoDuration } from './human.js';
export { generateName, randomName } from './names.js';
export { runRequest, RUN_ARGS } from './run-options.js';
export type { RunRequest } from './run-options.js';
