// Pipeline records arrive on stdin as JSON (DESIGN.md: "The pipeline").
import { readFile } from 'node:fs/promises';

/** Reads all of stdin (or a file) as text. */
export async function readInput(source: '-' | string = '-'): Promise<string> {
  if (source !== '-') return readFile(source, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** True when stdin carries a record: it is not a terminal (a pipe or a file). */
export function stdinHasInput(): boolean {
  return !process.stdin.isTTY;
}
