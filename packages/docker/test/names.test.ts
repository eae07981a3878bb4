import { describe, expect, it } from 'vitest';
import { generateName, randomName } from '../src/names.js';

/** A random source that gives these values in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] as number;
};

describe('container names as docker makes them', () => {
  it('is adjective_surname', () => {
    for (let i = 0; i < 200; i++) expect(randomName()).toMatch(/^[a-z]+_[a-z]+$/);
  });

  it('never gives boring_wozniak', () => {
    const left = 10 / 108; // 'boring' is the 11th of 108 adjectives
    const right = 144 / 150; // 'wozniak', the 145th of 150 surnames
    const name = randomName(sequence(left + 1e-6, right + 1e-6, 0, 0));
    expect(name).not.toBe('boring_wozniak');
    expect(name).toBe('admiring_agnesi');
  });

  it('adds a digit after a clash, as docker retries', () => {
    const random = sequence(0, 0, 0.5);
    expect(generateName(new Set(), random)).toBe('admiring_agnesi');
    expect(generateName(new Set(['admiring_agnesi']), sequence(0))).toBe('admiring_agnesi0');
  });
});
