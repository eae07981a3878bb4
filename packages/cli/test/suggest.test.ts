import { describe, expect, it } from 'vitest';
import { closest, editDistance } from '../src/index.js';

describe('editDistance', () => {
  it('counts insertions, deletions, changes, and a swap of neighbours as one', () => {
    expect(editDistance('detatch', 'detach')).toBe(1);
    expect(editDistance('stauts', 'status')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });
});

describe('closest', () => {
  const run = ['ip', 'net', 'mem', 'cpus', 'pids', 'pids-limit', 'detach', 'dry-run', 'env', 'env-file', 'volume', 'verbose', 'help'];

  it('finds a typo', () => {
    expect(closest('detatch', run)).toBe('detach');
    expect(closest('voluem', run)).toBe('volume');
    expect(closest('dry_run', run)).toBe('dry-run');
    expect(closest('DETACH', run)).toBe('detach');
  });

  it("finds a longer or shorter form of a name (docker's --memory, --network)", () => {
    expect(closest('memory', run)).toBe('mem');
    expect(closest('network', run)).toBe('net');
    expect(closest('pid', run)).toBe('pids');
    expect(closest('verb', run)).toBe('verbose');
  });

  it('prefers a longer form to a typo of the same distance: stat is state, not start', () => {
    expect(closest('stat', ['create', 'start', 'state', 'kill'])).toBe('state');
    expect(closest('strat', ['create', 'start', 'state', 'kill'])).toBe('start');
  });

  it('suggests nothing for a word that is not close', () => {
    expect(closest('no-such-flag', run)).toBeUndefined();
    expect(closest('restart', run)).toBeUndefined();
    expect(closest('x', run)).toBeUndefined();
    // Two letters are too few to be a form of a longer name.
    expect(closest('de', run)).toBeUndefined();
  });
});
