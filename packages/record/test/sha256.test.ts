import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/index.js';

describe('sha256Hex', () => {
  it("gives node:crypto's digest, for the lengths around a block's edges and for UTF-8", () => {
    const inputs = ['', 'abc', 'diyc0\0web', 'dn3br0\0b587fe43\0net3-a', 'é✓', ...Array.from({ length: 140 }, (_, n) => 'x'.repeat(n))];
    for (const text of inputs) expect(sha256Hex(text), JSON.stringify(text)).toBe(createHash('sha256').update(text).digest('hex'));
  });
});
