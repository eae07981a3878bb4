// The output of list commands (ps, images, volume ls, network ls, stats) as docker prints it:
// a table whose columns are three spaces apart (docker's tabwriter), or --format: `table
// TEMPLATE` (a header made from the same template, then the rows, aligned at tabs),
// `json` (one object a line), or a TEMPLATE run once per row. What a container or an image
// wrote (a command, a label) is shown with its control characters escaped, so that it
// cannot move the cursor or add lines.
import { printable, writeOut } from '@diyc/cli';
import { compileTemplate } from './template.js';

/** A list's columns: the header of each, and how a row fills it. */
export interface Columns<Row> {
  /** The field a template names (.ID) -> the header docker gives it (CONTAINER ID). */
  headers: Record<string, string>;
  /** The default table's fields, in order. */
  fields: string[];
  /** The value of a field for a row, as text. */
  cell: (row: Row, field: string) => string;
}

/** Control characters but tab and newline, escaped. */
const safe = (text: string): string => text.replace(/[^\t\n]+/g, (part) => printable(part));

/** Lines whose cells are split at tabs, aligned with three spaces between columns. */
export function alignTabs(lines: string[]): string {
  const rows = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      if (i < row.length - 1) widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i < row.length - 1 ? cell.padEnd((widths[i] ?? 0) + 3) : cell))
        .join('')
        .trimEnd(),
    )
    .map((l) => `${l}\n`)
    .join('');
}

/**
 * The rows as `format` asks: undefined or `table` for the default table, `json` for one
 * JSON object a line, `table TEMPLATE`, or a TEMPLATE a line. `object` gives what a
 * template sees of a row (its fields, and its methods such as .Label).
 */
export function formatList<Row>(rows: Row[], format: string | undefined, columns: Columns<Row>, object: (row: Row) => object): string {
  if (format === undefined || format === '' || format === 'table') {
    const lines = [
      columns.fields.map((f) => columns.headers[f] ?? f.toUpperCase()).join('\t'),
      ...rows.map((r) => columns.fields.map((f) => printable(columns.cell(r, f))).join('\t')),
    ];
    return alignTabs(lines);
  }
  if (format === 'json') return rows.map((r) => `${JSON.stringify(object(r))}\n`).join('');
  if (format.startsWith('table ') || format.startsWith('table\t')) {
    const template = compileTemplate(format.slice(6).trimStart());
    // The header is the same template run on a row whose every field is its header's name.
    const headerLine = template(headerRow(columns.headers));
    return alignTabs(
      [headerLine, ...rows.map((r) => safe(template(object(r))))]
        .flatMap((l) => l.split('\n'))
        .filter((l, i, all) => l !== '' || i < all.length - 1),
    );
  }
  const template = compileTemplate(format);
  return rows.map((r) => `${safe(template(object(r)))}\n`).join('');
}

/** A row for the header line: each field, or method (.Label "x"), answers its header's name. */
function headerRow(headers: Record<string, string>): object {
  return new Proxy(
    {},
    {
      has: () => true,
      get: (_t, key) => {
        if (typeof key !== 'string') return undefined;
        const name = headers[key] ?? key.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
        return key === 'Label' ? () => 'LABEL' : name;
      },
    },
  );
}

/** What inspect commands print: docker's JSON list (indented by four), or `format` run on each object. */
export function printInspected(found: object[], format: string | undefined): void {
  if (format === undefined || format === '' || format === 'json') {
    writeOut(`${JSON.stringify(found, null, 4)}\n`);
    return;
  }
  const template = compileTemplate(format);
  writeOut(found.map((o) => `${template(o)}\n`).join(''));
}
