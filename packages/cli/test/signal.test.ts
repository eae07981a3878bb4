// parseSignal: pure, no root needed.
import { describe, expect, it } from 'vitest';
import { parseSignal } from '../src/index.js';

describe('parseSignal', () => {
  it('reads a signal by name with or without SIG, any case, or by number', () => {
    expect(parseSignal(undefined)).toBe(15);
    expect(parseSignal(undefined, 3)).toBe(3);
    expect(['KILL', 'SIGKILL', 'sigkill', 'kill', '9'].map((s) => parseSignal(s))).toEqual([9, 9, 9, 9, 9]);
    expect(parseSignal('USR1')).toBe(10);
    expect(parseSignal('64')).toBe(64);
  });

  it('refuses what is not a signal', () => {
    for (const bad of ['0', '65', 'NOPE', '-9', '9x', '']) expect(() => parseSignal(bad), bad).toThrow(/signal/);
  });
});
