import { describe, expect, it } from 'vitest';
import { blkioTotals, inactiveFile, ioTotals, netTotals, statsRow } from '../src/stats.js';

const id = '4f2a1c9e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f';
const GiB = 2 ** 30;

describe('docker stats rows', () => {
  it('CPU % is the CPU time between two samples over the time between them (100% = one CPU)', () => {
    const row = statsRow(id, 'web', { at: 0, cpuNanoseconds: 1e9 }, { at: 1000, cpuNanoseconds: 1.5e9, pids: 3 }, 4 * GiB);
    expect(row.CPUPerc).toBe('50.00%');
    expect(row.PIDs).toBe('3');
    expect(row.ID).toBe('4f2a1c9e8b7d');
    // Two CPUs busy for the whole second.
    expect(statsRow(id, 'web', { at: 0, cpuNanoseconds: 0 }, { at: 500, cpuNanoseconds: 1e9 }, GiB).CPUPerc).toBe('200.00%');
  });

  it('memory: binary units, the limit the cgroup sets, else the machine memory', () => {
    const limited = statsRow(id, 'web', undefined, { at: 1, memoryBytes: 1.5 * 2 ** 20, memoryLimitBytes: 64 * 2 ** 20 }, 4 * GiB);
    expect([limited.MemUsage, limited.MemPerc]).toEqual(['1.5MiB / 64MiB', '2.34%']);
    // v1's "no limit" is a huge number, v2's "max" reads as none: the machine's memory then.
    const unlimited = statsRow(id, 'web', undefined, { at: 1, memoryBytes: GiB, memoryLimitBytes: 2 ** 63 - 4096 }, 4 * GiB);
    expect([unlimited.MemUsage, unlimited.MemPerc, unlimited.CPUPerc]).toEqual(['1GiB / 4GiB', '25.00%', '--']);
  });

  it('I/O in decimal units; a container not running shows -- everywhere', () => {
    const row = statsRow(id, 'web', undefined, { at: 1, netRx: 1234, netTx: 0, blockRead: 4_260_000, blockWrite: 512 }, GiB);
    expect([row.NetIO, row.BlockIO]).toEqual(['1.23kB / 0B', '4.26MB / 512B']);
    const stopped = statsRow(id, 'db', undefined, undefined, GiB);
    expect([stopped.CPUPerc, stopped.MemUsage, stopped.MemPerc, stopped.NetIO, stopped.BlockIO, stopped.PIDs]).toEqual([
      '--',
      '-- / --',
      '--',
      '--',
      '--',
      '--',
    ]);
  });
});

describe('the counters read from /proc and the cgroup', () => {
  it('net/dev: received and sent bytes of every interface but lo', () => {
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:  999999      10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0',
      '  eth0:    1500      12    0    0    0     0          0         0      700       5    0    0    0     0       0          0',
      '  eth1:     500       1    0    0    0     0          0         0      300       1    0    0    0     0       0          0',
    ].join('\n');
    expect(netTotals(text)).toEqual({ rx: 2000, tx: 1000 });
  });

  it("v2's io.stat and v1's blkio bytes, summed over devices", () => {
    expect(ioTotals('8:0 rbytes=4096 wbytes=100 rios=1 wios=1 dbytes=0 dios=0\n8:16 rbytes=4 wbytes=0 rios=1 wios=0\n')).toEqual({
      read: 4100,
      write: 100,
    });
    expect(blkioTotals('8:0 Read 4096\n8:0 Write 100\n8:0 Sync 1\n8:0 Total 4196\nTotal 4196\n')).toEqual({ read: 4096, write: 100 });
  });

  it('the page cache docker does not count: inactive_file (v2), total_inactive_file (v1)', () => {
    expect(inactiveFile('anon 10\ninactive_file 4096\nactive_file 1\n', false)).toBe(4096);
    expect(inactiveFile('inactive_file 1\ntotal_inactive_file 8192\n', true)).toBe(8192);
    expect(inactiveFile('anon 10\n', false)).toBe(0);
  });
});
