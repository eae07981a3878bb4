// printTable: pure formatting, no root needed.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { printTable } from '../src/index.js';

const render = (header: string[], rows: string[][]): string => {
  const out = new PassThrough();
  printTable(header, rows, out);
  return out.read()?.toString() ?? '';
};

describe('printTable', () => {
  it('aligns columns two spaces apart, header first, without trailing blanks', () => {
    expect(
      render(
        ['NAME', 'STATUS'],
        [
          ['web', 'running'],
          ['database', '-'],
        ],
      ),
    ).toBe('NAME      STATUS\nweb       running\ndatabase  -\n');
  });

  it('shows control characters from an image (a command with escape sequences) escaped, on one line', () => {
    // ESC ] 0; sets the terminal title; ESC [2J clears the screen; a newline would add a row.
    const hostile = 'sh\u001b]0;owned\u0007\u001b[2J\nfake-row';
    const text = render(['COMMAND'], [[hostile]]);
    expect(text).toBe('COMMAND\nsh\\x1b]0;owned\\x07\\x1b[2J\\x0afake-row\n');
    expect(text).not.toMatch(/\u001b/);
  });
});
