// diyc ps, images, pull, inspect: what is there, in docker's table, --format or JSON.
import { defineCli, many, one, writeErr, writeOut } from '@diyc/cli';
import { imageId, ImageStore, type Image } from '@diyc/image';
import { DiycError, stateRoot } from '@diyc/record';
import { anyOf, labelMatches, nameMatches, parseFilters } from '../filters.js';
import { ago, humanSize } from '../human.js';
import { findImage, pull, repoTag, shortId } from '../images.js';
import { inspectContainer, inspectImage } from '../inspect.js';
import { formatList, printInspected, type Columns } from '../output.js';
import { commandText, goTime, portsText, statusText, type ContainerView } from '../view.js';
import { findContainer } from '../containers.js';
import { viewOf } from '../view.js';
import { allViews } from './common.js';

const format = {
  type: 'string',
  valueHint: 'FORMAT',
  description: "table (the default), table TEMPLATE, json, or a Go template: '{{.Names}}'",
} as const;

/** ps's filter keys. */
export const PS_FILTERS = ['id', 'name', 'label', 'status', 'exited'] as const;

/** Whether a container passes ps's --filter. */
export function psFilterMatches(
  view: Pick<ContainerView, 'id' | 'name' | 'labels' | 'status' | 'state'>,
  filters: ReturnType<typeof parseFilters>,
): boolean {
  return (
    anyOf(filters, 'id', (v) => view.id.startsWith(v)) &&
    anyOf(filters, 'name', (v) => nameMatches(view.name, v)) &&
    [...(filters.get('label') ?? [])].every((v) => labelMatches(view.labels, v)) &&
    anyOf(filters, 'status', (v) => view.status === v) &&
    anyOf(filters, 'exited', (v) => view.status === 'exited' && String(view.state.exitCode ?? 0) === v)
  );
}

/** What a ps --format template sees of a container: docker's fields. */
export function psRow(view: ContainerView, noTrunc: boolean, now: number = Date.now()): Record<string, unknown> {
  return {
    ID: noTrunc ? view.id : view.id.slice(0, 12),
    Image: view.image,
    Command: commandText(view.state.command ?? view.record?.process.args ?? [], noTrunc),
    CreatedAt: goTime(view.state.createdAt),
    RunningFor: ago(now - Date.parse(view.state.createdAt ?? new Date(now).toISOString())),
    // docker shows the ports of a running container only.
    Ports: view.status === 'running' || view.status === 'paused' ? portsText(view.ports) : '',
    State: view.status,
    Status: statusText(view, now),
    Names: view.name,
    Labels: Object.entries(view.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Label: (key: string) => view.labels[key] ?? '',
    Networks: view.state.net ?? '',
    Mounts: '',
    Size: '',
  };
}

export const PS_COLUMNS: Columns<Record<string, unknown>> = {
  headers: {
    ID: 'CONTAINER ID',
    Image: 'IMAGE',
    Command: 'COMMAND',
    CreatedAt: 'CREATED AT',
    RunningFor: 'CREATED',
    Ports: 'PORTS',
    State: 'STATE',
    Status: 'STATUS',
    Names: 'NAMES',
    Labels: 'LABELS',
    Networks: 'NETWORKS',
    Mounts: 'MOUNTS',
    Size: 'SIZE',
  },
  fields: ['ID', 'Image', 'Command', 'RunningFor', 'Status', 'Ports', 'Names'],
  cell: (row, field) => String(row[field] ?? ''),
};

export const psCommand = defineCli({
  meta: { name: 'ps', description: 'List containers (running ones; all with -a)' },
  args: {
    all: { type: 'boolean', alias: 'a', description: 'show all containers, not only running ones' },
    quiet: { type: 'boolean', alias: 'q', description: 'only their IDs' },
    'no-trunc': { type: 'boolean', description: 'do not cut IDs and commands short' },
    latest: { type: 'boolean', alias: 'l', description: 'only the one made last' },
    filter: {
      type: 'string',
      alias: 'f',
      valueHint: 'KEY=VALUE',
      description: `keep those that match: ${PS_FILTERS.join(', ')} (repeatable)`,
    },
    format,
  },
  main({ flags }) {
    const filters = parseFilters(many(flags.filter), PS_FILTERS);
    const noTrunc = flags['no-trunc'] === true;
    let views = allViews().filter(
      (v) =>
        (flags.all === true ||
          filters.has('status') ||
          filters.has('exited') ||
          v.status === 'running' ||
          v.status === 'paused' ||
          v.status === 'restarting') &&
        psFilterMatches(v, filters),
    );
    // Newest first, as docker lists them.
    views.sort((a, b) => (b.state.createdAt ?? '').localeCompare(a.state.createdAt ?? ''));
    if (flags.latest === true) views = views.slice(0, 1);
    const rows = views.map((v) => psRow(v, noTrunc));
    const text =
      flags.quiet === true ? rows.map((r) => `${String(r.ID)}\n`).join('') : formatList(rows, one(flags.format), PS_COLUMNS, (r) => r);
    writeOut(text);
    return 0;
  },
});

/** One line of `docker images`: an image under each of its references (<none> when it has none). */
export interface ImageRow {
  Repository: string;
  Tag: string;
  Digest: string;
  ID: string;
  CreatedSince: string;
  CreatedAt: string;
  Size: string;
}

export function imageRows(image: Image, references: string[], noTrunc: boolean, now: number = Date.now()): ImageRow[] {
  const id = imageId(image);
  const common = {
    ID: noTrunc ? id : shortId(id),
    CreatedSince: image.created ? ago(now - Date.parse(image.created)) : 'N/A',
    CreatedAt: goTime(image.created),
    Size: humanSize(image.size),
  };
  const tags = references.filter((r) => !r.includes('@'));
  if (tags.length === 0)
    return [
      {
        Repository: references.length === 0 ? image.name : '<none>',
        Tag: references.length === 0 ? 'latest' : '<none>',
        Digest: '<none>',
        ...common,
      },
    ];
  return tags.map((r) => {
    const rt = repoTag(r);
    return { Repository: rt.repository, Tag: rt.tag, Digest: '<none>', ...common };
  });
}

const IMAGE_COLUMNS: Columns<ImageRow> = {
  headers: {
    Repository: 'REPOSITORY',
    Tag: 'TAG',
    Digest: 'DIGEST',
    ID: 'IMAGE ID',
    CreatedSince: 'CREATED',
    CreatedAt: 'CREATED AT',
    Size: 'SIZE',
  },
  fields: ['Repository', 'Tag', 'ID', 'CreatedSince', 'Size'],
  cell: (row, field) => String(row[field as keyof ImageRow] ?? ''),
};

export const imagesCommand = defineCli({
  meta: { name: 'images', description: 'List images' },
  args: {
    quiet: { type: 'boolean', alias: 'q', description: 'only their IDs' },
    'no-trunc': { type: 'boolean', description: 'whole IDs' },
    format,
    repository: { type: 'positional', required: false, description: 'only this repository (busybox), or REPOSITORY:TAG' },
  },
  main({ flags, operands }) {
    const store = new ImageStore(stateRoot());
    const noTrunc = flags['no-trunc'] === true;
    let rows = store.listImages().flatMap((image) => imageRows(image, store.referencesOf(image.name), noTrunc));
    const [asked] = operands;
    if (asked !== undefined) {
      const [repo, tag] = asked.split(/:(?=[^/]*$)/);
      rows = rows.filter((r) => r.Repository === repo && (tag === undefined || r.Tag === tag));
    }
    if (flags.quiet === true) {
      writeOut([...new Set(rows.map((r) => r.ID))].map((id) => `${id}\n`).join(''));
      return 0;
    }
    writeOut(formatList(rows, one(flags.format), IMAGE_COLUMNS, (r) => r));
    return 0;
  },
});

export const pullCommand = defineCli({
  meta: {
    name: 'pull',
    description: "Pull an image from a registry (Docker Hub through DIYC_REGISTRY_MIRROR or /etc/diyc/daemon.json's registry-mirrors)",
  },
  args: {
    quiet: { type: 'boolean', alias: 'q', description: 'print only the reference' },
    platform: { type: 'string', valueHint: 'OS/ARCH', description: 'which image of a multi-platform one' },
    image: { type: 'positional', description: 'NAME[:TAG|@DIGEST]' },
  },
  async main({ flags, operands }) {
    const store = new ImageStore(stateRoot());
    const platform = one(flags.platform);
    await pull(store, operands[0] as string, {
      ...(platform !== undefined ? { platform } : {}),
      out: { write: (l) => writeOut(l), quiet: flags.quiet === true, reference: true },
    });
    return 0;
  },
});

export const inspectCommand = defineCli({
  meta: { name: 'inspect', description: "Show containers or images as docker's JSON (a list), or --format TEMPLATE for each" },
  // Several operands, flags among them (docker rm web -f).
  manyOperands: true,
  args: {
    format: { ...format, alias: 'f' },
    type: { type: 'enum', options: ['container', 'image'], description: 'look only for a container, or only for an image' },
    objects: { type: 'positional', description: 'names or IDs of containers or images' },
  },
  main({ flags, operands }) {
    if (operands.length === 0) throw new DiycError('usage', '"diyc inspect" requires at least 1 argument: NAME|ID [NAME|ID...]');
    const root = stateRoot();
    const store = new ImageStore(root);
    const type = one(flags.type);
    const found: object[] = [];
    let failed = false;
    for (const text of operands) {
      try {
        found.push(inspectOne(text, type, root, store));
      } catch (err) {
        if (!(err instanceof DiycError) || err.kind !== 'not-found') throw err;
        failed = true;
        writeErr(`Error: No such object: ${text}\n`);
      }
    }
    printInspected(found, one(flags.format));
    return failed ? 1 : 0;
  },
});

function inspectOne(text: string, type: string | undefined, root: string, store: ImageStore): object {
  if (type !== 'image') {
    try {
      const { container, state } = findContainer(text, root);
      return inspectContainer(viewOf(container, state), root, store);
    } catch (err) {
      if (type === 'container' || !(err instanceof DiycError) || err.kind !== 'not-found') throw err;
    }
  }
  const image = findImage(store, text);
  if (!image) throw new DiycError('not-found', `No such object: ${text}`);
  return inspectImage(image.image, store);
}
