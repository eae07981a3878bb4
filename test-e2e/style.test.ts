// The code as the next engineer reads it: formatted, and clean of the linter's rules
// (biome.jsonc says which and why). `pnpm format` fixes what it can.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repo } from './helpers.js';

describe('style', () => {
  it('biome ci: every file formatted, no lint error', () => {
    const r = spawnSync('pnpm', ['-s', 'lint', '--colors=off'], { cwd: repo, encoding: 'utf8' });
    expect(r.status, `${r.stdout}\n${r.stderr}\nrun \`pnpm format\` to fix what can be fixed`).toBe(0);
  });
});
