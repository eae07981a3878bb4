// diyc volume create, ls, inspect, rm, prune: named volumes (volumes.ts), directories under
// the state root that outlive the containers that mount them, as docker's local driver.
import { defineCli, many, one, writeErr, writeOut } from '@diyc/cli';
import { DiycError, stateRoot } from '@diyc/record';
import { anyOf, labelMatches, nameMatches, parseFilters } from '../filters.js';
import { humanSize } from '../human.js';
import { formatList, printInspected, type Columns } from '../output.js';
import { parseLabels } from '../run-options.js';
import { treeSize } from '../sizes.js';
import { checkVolumeName, createVolume, getVolume, listVolumes, removeVolume, volumeUsers, type VolumeInfo } from '../volumes.js';

const format = {
  type: 'string',
  valueHint: 'FORMAT',
  description: "table (the default), json, or a Go template: '{{.Name}}'",
} as const;

const driverFlag = {
  type: 'string',
  alias: 'd',
  valueHint: 'local',
  description: 'the volume driver: local, the only one',
} as const;

const VOLUME_COLUMNS: Columns<VolumeInfo> = {
  headers: { Driver: 'DRIVER', Name: 'VOLUME NAME', Mountpoint: 'MOUNTPOINT', Scope: 'SCOPE', Labels: 'LABELS' },
  fields: ['Driver', 'Name'],
  cell: (v, field) => String(volumeRow(v)[field] ?? ''),
};

function volumeRow(v: VolumeInfo): Record<string, unknown> {
  return {
    Name: v.Name,
    Driver: v.Driver,
    Mountpoint: v.Mountpoint,
    Scope: v.Scope,
    Labels: Object.entries(v.Labels)
      .map(([k, val]) => `${k}=${val}`)
      .join(','),
    Label: (key: string) => v.Labels[key] ?? '',
  };
}

/** What inspect prints of a volume: docker's shape, without diyc's own Anonymous mark. */
function inspectVolume(v: VolumeInfo): object {
  const { Anonymous: _anonymous, ...shown } = v;
  return shown;
}

const createCommand = defineCli({
  meta: { name: 'create', description: 'Create a volume (a name is made up when none is given); prints its name' },
  args: {
    driver: driverFlag,
    label: { type: 'string', alias: 'l', valueHint: 'KEY=VALUE', description: 'a label (repeatable)' },
    name: { type: 'string', valueHint: 'NAME', description: 'the name (or as the operand)' },
    volume: { type: 'positional', description: 'its name', required: false },
  },
  main({ flags, operands }) {
    checkDriver(one(flags.driver));
    const given = operands[0] ?? one(flags.name);
    const name = checkVolumeName(given ?? Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(32))).toString('hex'));
    createVolume(name, { labels: parseLabels(many(flags.label)), root: stateRoot() });
    writeOut(`${name}\n`);
    return 0;
  },
});

const lsCommand = defineCli({
  meta: { name: 'ls', description: 'List volumes' },
  args: {
    quiet: { type: 'boolean', alias: 'q', description: 'print only the names' },
    filter: {
      type: 'string',
      alias: 'f',
      valueHint: 'KEY=VALUE',
      description: 'name=, label=, dangling=true|false, driver=local (repeatable)',
    },
    format,
  },
  main({ flags }) {
    const root = stateRoot();
    const filters = parseFilters(many(flags.filter), ['name', 'label', 'dangling', 'driver']);
    const rows = listVolumes(root).filter(
      (v) =>
        anyOf(filters, 'name', (f) => nameMatches(v.Name, f)) &&
        [...(filters.get('label') ?? [])].every((f) => labelMatches(v.Labels, f)) &&
        anyOf(filters, 'driver', (f) => f === v.Driver) &&
        anyOf(filters, 'dangling', (f) => (volumeUsers(v.Name, root).length === 0) === (f === 'true' || f === '1')),
    );
    if (flags.quiet === true) writeOut(rows.map((v) => `${v.Name}\n`).join(''));
    else writeOut(formatList(rows, one(flags.format), VOLUME_COLUMNS, volumeRow));
    return 0;
  },
});

const inspectCommand = defineCli({
  meta: { name: 'inspect', description: "Show volumes as docker's JSON (a list), or --format TEMPLATE for each" },
  manyOperands: true,
  args: { format: { ...format, alias: 'f' }, volumes: { type: 'positional', description: 'their names' } },
  main({ flags, operands }) {
    if (operands.length === 0) throw new DiycError('usage', '"diyc volume inspect" requires at least 1 argument: VOLUME [VOLUME...]');
    const found: object[] = [];
    let failed = false;
    for (const name of operands) {
      const v = getVolume(checkVolumeName(name), stateRoot());
      if (v) found.push(inspectVolume(v));
      else {
        failed = true;
        writeErr(`Error: No such volume: ${name}\n`);
      }
    }
    printInspected(found, one(flags.format));
    return failed ? 1 : 0;
  },
});

const rmCommand = defineCli({
  meta: { name: 'rm', description: 'Remove volumes and their files (not while a container mounts one)' },
  manyOperands: true,
  args: {
    force: { type: 'boolean', alias: 'f', description: 'no error for a volume that does not exist' },
    volumes: { type: 'positional', description: 'their names' },
  },
  main({ flags, operands }) {
    if (operands.length === 0) throw new DiycError('usage', '"diyc volume rm" requires at least 1 argument: VOLUME [VOLUME...]');
    let failed = false;
    for (const name of operands) {
      try {
        removeVolume(checkVolumeName(name), { root: stateRoot() });
        writeOut(`${name}\n`);
      } catch (err) {
        if (flags.force === true && err instanceof DiycError && err.kind === 'not-found') continue;
        failed = true;
        writeErr(`Error response from diyc: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
    return failed ? 1 : 0;
  },
});

/** Removes the volumes no container mounts (anonymous ones only, unless `all`); their names and the bytes freed. */
export function pruneVolumes(all: boolean, root: string = stateRoot()): { names: string[]; bytes: number } {
  const names: string[] = [];
  let bytes = 0;
  for (const v of listVolumes(root)) {
    if ((!all && !v.Anonymous) || volumeUsers(v.Name, root).length > 0) continue;
    const size = treeSize(v.Mountpoint);
    removeVolume(v.Name, { root });
    names.push(v.Name);
    bytes += size;
  }
  return { names, bytes };
}

const pruneCommand = defineCli({
  meta: { name: 'prune', description: 'Remove the anonymous volumes no container uses (all unused ones with -a)' },
  args: {
    all: { type: 'boolean', alias: 'a', description: 'named volumes too' },
    force: { type: 'boolean', alias: 'f', description: 'do not ask' },
  },
  async main({ flags }) {
    const all = flags.all === true;
    const what = all
      ? 'all local volumes not used by at least one container'
      : 'anonymous local volumes not used by at least one container';
    if (flags.force !== true && !(await confirm(`WARNING! This will remove ${what}.`))) return 0;
    const { names, bytes } = pruneVolumes(all);
    writeOut(
      `${names.length > 0 ? `Deleted Volumes:\n${names.map((n) => `${n}\n`).join('')}\n` : ''}Total reclaimed space: ${humanSize(bytes)}\n`,
    );
    return 0;
  },
});

export const volumeCommand = defineCli({
  meta: { name: 'volume', description: 'Manage named volumes: directories under the state root that outlive their containers' },
  subCommands: { create: createCommand, ls: lsCommand, inspect: inspectCommand, rm: rmCommand, prune: pruneCommand },
});

function checkDriver(driver: string | undefined): void {
  if (driver !== undefined && driver !== 'local') throw new DiycError('usage', `--driver ${driver}: diyc has the local driver only`);
}

/**
 * docker's "Are you sure you want to continue? [y/N]": a line read from stdin, yes only
 * for y or yes. With no terminal and no answer, no: -f says yes in a script.
 */
export async function confirm(warning: string): Promise<boolean> {
  writeOut(`${warning}\nAre you sure you want to continue? [y/N] `);
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    const done = (): void => {
      process.stdin.pause();
      resolve(text);
    };
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) done();
    });
    process.stdin.once('end', done);
    process.stdin.once('error', done);
  });
  return /^\s*y(es)?\s*$/i.test(answer.split('\n')[0] ?? '');
}
