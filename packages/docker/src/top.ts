// `diyc top`: as docker does it, the host's ps(1) is run with the options given (default
// -ef) over every process, and only the lines of the container's processes are kept: the
// PID column is found in ps's header. https://man7.org/linux/man-pages/man1/ps.1.html
import { DiycError } from '@diyc/record';

/** A line of ps in its columns: one word each, but the last (CMD, COMMAND), which may hold spaces. */
function cells(line: string, count: number): string[] {
  const words = line.trim().split(/\s+/);
  return [...words.slice(0, count - 1), words.slice(count - 1).join(' ')];
}

/** ps's output cut to the processes `pids` names: the titles, then their rows. */
export function filterPs(output: string, pids: readonly number[]): { titles: string[]; processes: string[][] } {
  const [header = '', ...rest] = output.split('\n').filter((l) => l.trim() !== '');
  const titles = header.trim().split(/\s+/);
  const column = titles.indexOf('PID');
  if (column < 0) throw new DiycError('usage', "Couldn't find PID field in ps output: give ps options that print a PID column");
  const wanted = new Set(pids.map(String));
  const processes = rest.map((l) => cells(l, titles.length)).filter((row) => wanted.has(row[column] ?? ''));
  return { titles, processes };
}

/** docker top's table: Go's tabwriter with cells at least 20 wide, 3 spaces of padding. */
export function topTable(titles: string[], processes: string[][]): string {
  const rows = [titles, ...processes];
  const widths = titles.map((_, i) => Math.max(20, ...rows.map((r) => (r[i] ?? '').length + 3)));
  return rows.map((r) => `${r.map((cell, i) => (i < titles.length - 1 ? cell.padEnd(widths[i] ?? 20) : cell)).join('')}\n`).join('');
}

/** The options docker passes ps: the words given, or -ef. */
export function psArgs(operands: string[]): string[] {
  return operands.length === 0 ? ['-ef'] : operands;
}
