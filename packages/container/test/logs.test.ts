// diyc-logs' pure parts: --tail's value and where the last N lines of a file start.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Container, logFiles, parseTail, showLogs, tailOffset } from '../src/index.js';

describe('parseTail', () => {
  it('takes a count of lines or all', () => {
    expect(parseTail(undefined)).toBeUndefined();
    expect(parseTail('all')).toBeUndefined();
    expect(parseTail('0')).toBe(0);
    expect(parseTail('25')).toBe(25);
  });
  it('refuses anything else', () => {
    for (const bad of ['-1', '1.5', 'ten', '']) expect(() => parseTail(bad), bad).toThrow(/number of lines/);
  });
});

describe('tailOffset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'diyc-logs-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const tail = (text: string, lines: number, block?: number): string => {
    const file = join(dir, 'log');
    writeFileSync(file, text);
    const fd = openSync(file, 'r');
    try {
      return text.slice(tailOffset(fd, Buffer.byteLength(text), lines, block));
    } finally {
      closeSync(fd);
    }
  };

  it('finds the start of the last N lines, with or without a final newline', () => {
    expect(tail('a\nb\nc\n', 2)).toBe('b\nc\n');
    expect(tail('a\nb\nc', 2)).toBe('b\nc');
    expect(tail('a\nb\nc\n', 3)).toBe('a\nb\nc\n');
    expect(tail('a\nb\nc\n', 10)).toBe('a\nb\nc\n');
    expect(tail('a\nb\nc\n', 0)).toBe('');
    expect(tail('', 5)).toBe('');
  });

  it('reads backwards across blocks', () => {
    const text = `${Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n')}\n`;
    expect(tail(text, 3, 7)).toBe('line 97\nline 98\nline 99\n');
    expect(tail('\n\n\n', 2, 1)).toBe('\n\n');
  });
});

describe("showLogs across the shim's rotation", () => {
  const dir = mkdtempSync(join(tmpdir(), 'diyc-logs-rot-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints log.2, log.1 and log in that order, and a tail that spans them', async () => {
    const container = new Container('talker', join(dir, 'talker'));
    container.begin({ name: 'talker', command: ['sh'] });
    writeFileSync(join(dir, 'talker', 'log.2'), 'one\ntwo\n');
    writeFileSync(join(dir, 'talker', 'log.1'), 'three\n');
    writeFileSync(join(dir, 'talker', 'log'), 'four\nfive\n');
    expect(logFiles(join(dir, 'talker')).map((f) => f.slice(f.lastIndexOf('/') + 1))).toEqual(['log.2', 'log.1', 'log']);
    const read = async (tail?: number): Promise<string> => {
      const chunks: Buffer[] = [];
      await showLogs(container, {
        ...(tail !== undefined ? { tail } : {}),
        write: async (c) => {
          chunks.push(c);
        },
      });
      return Buffer.concat(chunks).toString();
    };
    expect(await read()).toBe('one\ntwo\nthree\nfour\nfive\n');
    expect(await read(4)).toBe('two\nthree\nfour\nfive\n');
    expect(await read(1)).toBe('five\n');
  });
});
