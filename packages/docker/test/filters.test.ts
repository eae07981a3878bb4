import { describe, expect, it } from 'vitest';
import { anyOf, globMatches, labelMatches, nameMatches, parseFilters } from '../src/filters.js';
import { psFilterMatches } from '../src/commands/list.js';

const KEYS = ['id', 'name', 'label', 'status', 'exited'] as const;

describe('--filter', () => {
  it('groups values by key; a key given twice matches any of them', () => {
    const f = parseFilters(['name=web', 'name=db', 'status=running'], KEYS);
    expect(f.get('name')).toEqual(['web', 'db']);
    expect(anyOf(f, 'name', (v) => v === 'db')).toBe(true);
    expect(anyOf(f, 'name', (v) => v === 'cache')).toBe(false);
    expect(anyOf(f, 'label', () => false)).toBe(true);
  });

  it('refuses a filter without = and a key it does not know, listing the keys', () => {
    expect(() => parseFilters(['name'], KEYS)).toThrow(/use KEY=VALUE/);
    expect(() => parseFilters(['colour=red'], KEYS)).toThrow(/invalid filter 'colour' \(use id, name, label, status, exited\)/);
  });

  it('matches labels by key or key=value, names as regular expressions, references as globs', () => {
    expect(labelMatches({ tier: 'front' }, 'tier')).toBe(true);
    expect(labelMatches({ tier: 'front' }, 'tier=front')).toBe(true);
    expect(labelMatches({ tier: 'front' }, 'tier=back')).toBe(false);
    expect(nameMatches('my-web-1', 'web')).toBe(true);
    expect(nameMatches('my-web-1', '^web')).toBe(false);
    expect(nameMatches('a(b', 'a(')).toBe(true);
    expect(globMatches('busybox', 'busy*')).toBe(true);
    expect(globMatches('library/busybox', 'busy*')).toBe(false);
  });

  it("applies ps's keys to a container, all keys together", () => {
    const view = {
      id: 'abc123',
      name: 'web',
      labels: { tier: 'front' },
      status: 'exited' as const,
      state: { name: 'web', exitCode: 3 } as never,
    };
    const f = (...v: string[]) => parseFilters(v, KEYS);
    expect(psFilterMatches(view, f('id=abc'))).toBe(true);
    expect(psFilterMatches(view, f('id=bc'))).toBe(false);
    expect(psFilterMatches(view, f('status=exited', 'exited=3'))).toBe(true);
    expect(psFilterMatches(view, f('status=exited', 'exited=0'))).toBe(false);
    expect(psFilterMatches(view, f('label=tier=front', 'name=we'))).toBe(true);
    expect(psFilterMatches(view, f('label=tier', 'label=other'))).toBe(false);
  });
});
