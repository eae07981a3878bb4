import { writeOut } from './stdio.js';

/**
 * Prints aligned columns (two spaces apart), header first. A cell can hold what an image
 * or a container wrote (a command from an image's config): control characters are shown
 * escaped (`\x1b`), so that a cell cannot move the cursor or rewrite the user's terminal,
 * and cannot break the table into more lines.
 */
export function printTable(header: string[], rows: string[][], stream?: NodeJS.WritableStream): void {
  const cells = [header, ...rows].map((row) => row.map(printable));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const text = cells
    .map(
      (row) =>
        `${row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
  // One write: a table through a pipe arrives whole, and no stream is made for it.
  if (stream) stream.write(text);
  else writeOut(text);
}

/** `text` with its C0 and C1 control characters (and DEL) written as \xNN. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
