// A stage's input record: from a file, from stdin when it is a pipe or a file (or `-`),
// or, at the head of a pipeline typed by hand, an empty record.
import { emptyRecord, parseRecord, type ContainerRecord } from './record.js';

/**
 * Reads the record from `source` ('-' is stdin), or from stdin when it is not a
 * terminal. Stdin is read as a stream: a pipe from another Node process may be
 * non-blocking, where a plain read(2) would fail with EAGAIN.
 */
export async function readRecordInput(source?: string): Promise<ContainerRecord> {
  // node:fs/promises is loaded here, not by every command that links this module.
  if (source !== undefined && source !== '-') return parseRecord(await (await import('node:fs/promises')).readFile(source, 'utf8'));
  if (source === undefined && process.stdin.isTTY) return emptyRecord();
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return parseRecord(Buffer.concat(chunks).toString('utf8'));
}
