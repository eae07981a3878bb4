// The wire between TypeScript and the native child is written twice, in two languages:
// the step names (spawn.ts's CHILD_STEPS against child.h's enum Step), the messages, the
// filesystem operations and their option bits. This test reads child.h and fails on any
// difference, so that a step added on one side only cannot name the wrong system call.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHILD_STEPS, FS_OPS, FS_OPTIONS, MESSAGES } from '../src/spawn.js';

const header = readFileSync(join(import.meta.dirname, '..', 'src', 'native', 'child.h'), 'utf8');

/** The entries of `enum NAME` in child.h, in order, with their values (implicit ones counted). */
function enumOf(name: string): [string, number][] {
  const body = new RegExp(`enum ${name}\\b[^{]*\\{([^}]*)\\}`).exec(header)?.[1];
  if (body === undefined) throw new Error(`child.h has no enum ${name}`);
  let next = 0;
  return body
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, '').trim())
    .filter(Boolean)
    .flatMap((line) => line.split(','))
    .map((e) => e.trim())
    .filter(Boolean)
    .map((entry) => {
      const [key, value] = entry.split('=').map((s) => s.trim());
      next = value === undefined ? next : Number(value);
      return [key as string, next++] as [string, number];
    });
}

/** kStepOpenNs -> open_ns, kFsMkfile -> mkfile, kMsgSyncBeforePivot -> sync_before_pivot. */
const snake = (name: string, prefix: string): string =>
  name
    .slice(prefix.length)
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();

describe('the wire between spawn.ts and child.h', () => {
  it('names every step of enum Step, in its order', () => {
    expect(enumOf('Step').map(([key, value]) => [snake(key, 'kStep'), value])).toEqual(CHILD_STEPS.map((name, i) => [name, i]));
  });

  it('has the messages, the fs operations and the option bits of child.h', () => {
    expect(Object.fromEntries(enumOf('Message').map(([k, v]) => [snake(k, 'kMsg'), v]))).toEqual(MESSAGES);
    expect(Object.fromEntries(enumOf('FsOp').map(([k, v]) => [snake(k, 'kFs'), v]))).toEqual(FS_OPS);
    expect(Object.fromEntries(enumOf('FsOpt').map(([k, v]) => [snake(k, 'kFs'), v]))).toEqual(FS_OPTIONS);
  });
});
