// Reading and writing cgroup files, with errors that say which file and which value
// ("cannot write 1000 to /sys/fs/cgroup/pids/diyc/box/pids.max: EINVAL").
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { DiycError } from '@diyc/record';

export function writeValue(path: string, value: string | number): void {
  try {
    writeFileSync(path, String(value));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new DiycError('system', `cannot write ${value} to ${path}: ${e.code ?? e.message}`, { cause: err });
  }
}

export function readValue(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function readNumber(path: string): number | undefined {
  const text = readValue(path);
  if (text === undefined || text === 'max') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** A "key value" line from a flat-keyed file such as memory.events or cpu.stat. */
export function readKey(path: string, key: string): number | undefined {
  const text = readValue(path);
  const line = text?.split('\n').find((l) => l.startsWith(`${key} `));
  return line === undefined ? undefined : Number(line.slice(key.length + 1));
}

export function readPids(path: string): number[] {
  return (readValue(path) ?? '').split('\n').filter(Boolean).map(Number);
}

export { existsSync };
