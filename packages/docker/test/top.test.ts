import { describe, expect, it } from 'vitest';
import { filterPs, psArgs, topTable } from '../src/top.js';

const ps = [
  'UID          PID    PPID  C STIME TTY          TIME CMD',
  'root           1       0  0 07:00 ?        00:00:01 /sbin/init',
  'root        5597    5596 61 07:30 ?        00:00:09 sh -c while :; do :; done',
  'root        5601    5597  0 07:30 ?        00:00:00 sleep 10',
  '',
].join('\n');

describe('docker top', () => {
  it("keeps the lines of the container's processes, the PID column found in the header; CMD keeps its spaces", () => {
    const { titles, processes } = filterPs(ps, [5597, 5601]);
    expect(titles).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    expect(processes).toEqual([
      ['root', '5597', '5596', '61', '07:30', '?', '00:00:09', 'sh -c while :; do :; done'],
      ['root', '5601', '5597', '0', '07:30', '?', '00:00:00', 'sleep 10'],
    ]);
    expect(filterPs(ps, []).processes).toEqual([]);
  });

  it('the PID column anywhere (ps aux), and an error when ps options print none', () => {
    const aux =
      'USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\nroot        5620  0.0  0.0   2268  1764 ?        Ss   07:30   0:00 sleep 1000\n';
    expect(filterPs(aux, [5620]).processes[0]?.[10]).toBe('sleep 1000');
    expect(() => filterPs('COMMAND\nsleep\n', [1])).toThrow(/PID field/);
  });

  it("prints docker's table: columns at least 20 wide, 3 spaces of padding, the last as it is", () => {
    const table = topTable(['PID', 'CMD'], [['5597', 'sh -c sleep 1']]);
    expect(table).toBe(`${'PID'.padEnd(20)}CMD\n${'5597'.padEnd(20)}sh -c sleep 1\n`);
    const wide = topTable(['A', 'B'], [['x'.repeat(25), 'y']]);
    expect(wide.split('\n')[1]).toBe(`${'x'.repeat(25)}   y`);
  });

  it('ps options: -ef by default, else those given', () => {
    expect(psArgs([])).toEqual(['-ef']);
    expect(psArgs(['aux'])).toEqual(['aux']);
    expect(psArgs(['-o', 'pid,comm'])).toEqual(['-o', 'pid,comm']);
  });
});
