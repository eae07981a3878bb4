import { describe, expect, it } from 'vitest';
import type { ContainerState } from '@diyc/container';
import { PS_COLUMNS, psRow } from '../src/commands/list.js';
import { alignTabs, formatList } from '../src/output.js';
import { commandText, ellipsis, goTime, portsText, statusText, type ContainerView } from '../src/view.js';

const now = Date.parse('2026-01-01T12:00:00Z');
const view = (over: Partial<Omit<ContainerView, 'state'>> & { state?: Partial<ContainerState> } = {}): ContainerView => ({
  container: undefined as never,
  id: '4f2a1c9e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f',
  name: 'web',
  status: 'running',
  image: 'busybox:latest',
  ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
  labels: { tier: 'front' },
  ...over,
  state: {
    name: 'web',
    command: ['httpd', '-f', '-p', '80', '-h', '/www'],
    createdAt: '2026-01-01T11:58:00Z',
    startedAt: '2026-01-01T11:58:01Z',
    ...over.state,
  } as ContainerState,
});

describe('ps columns as docker shows them', () => {
  it('quotes the command, cut at 20 characters with an ellipsis', () => {
    expect(commandText(['httpd', '-f', '-p', '80', '-h', '/www'])).toBe('"httpd -f -p 80 -h /…"');
    expect(commandText(['echo', 'hi'])).toBe('"echo hi"');
    expect(commandText(['httpd', '-f', '-p', '80', '-h', '/www'], true)).toBe('"httpd -f -p 80 -h /www"');
    expect(ellipsis('abc', 3)).toBe('abc');
  });

  it('shows ports as 0.0.0.0:8080->80/tcp, ranges joined', () => {
    expect(
      portsText([
        { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostIp: '127.0.0.1', hostPort: 5000, containerPort: 5000, protocol: 'udp', count: 3 },
      ]),
    ).toBe('0.0.0.0:8080->80/tcp, 127.0.0.1:5000-5002->5000-5002/udp');
  });

  it('says Up, Exited (N) ... ago and Created', () => {
    expect(statusText(view(), now)).toBe('Up About a minute');
    expect(statusText(view({ status: 'exited', state: { exitCode: 137, finishedAt: '2026-01-01T11:59:57Z' } }), now)).toBe(
      'Exited (137) 3 seconds ago',
    );
    expect(statusText(view({ status: 'created' }), now)).toBe('Created');
    expect(statusText(view({ status: 'paused' }), now)).toBe('Up About a minute (Paused)');
  });

  it("gives a template docker's fields: a short ID, Names, Label, and no ports once it has exited", () => {
    const row = psRow(view(), false, now);
    expect(row).toMatchObject({
      ID: '4f2a1c9e8b7d',
      Names: 'web',
      Image: 'busybox:latest',
      RunningFor: '2 minutes ago',
      State: 'running',
      Ports: '0.0.0.0:8080->80/tcp',
      Labels: 'tier=front',
    });
    expect((row.Label as (k: string) => string)('tier')).toBe('front');
    expect(psRow(view(), true, now).ID).toHaveLength(64);
    expect(psRow(view({ status: 'exited' }), false, now).Ports).toBe('');
    expect(goTime('2026-01-01T11:58:00.123Z')).toBe('2026-01-01 11:58:00 +0000 UTC');
  });
});

describe('list output', () => {
  const rows = [
    psRow(view(), false, now),
    psRow(view({ name: 'db', id: 'ab'.repeat(32), ports: [], state: { command: ['sleep', '1d'] } }), false, now),
  ];

  it("prints docker's table: its headers, columns three spaces apart, no trailing space", () => {
    expect(formatList(rows, undefined, PS_COLUMNS, (r) => r)).toBe(
      [
        'CONTAINER ID   IMAGE            COMMAND                  CREATED         STATUS              PORTS                  NAMES',
        '4f2a1c9e8b7d   busybox:latest   "httpd -f -p 80 -h /…"   2 minutes ago   Up About a minute   0.0.0.0:8080->80/tcp   web',
        'abababababab   busybox:latest   "sleep 1d"               2 minutes ago   Up About a minute                          db',
        '',
      ].join('\n'),
    );
  });

  it('runs a template a line, or `table TEMPLATE` with a header made from it, or json', () => {
    expect(formatList(rows, '{{.Names}}', PS_COLUMNS, (r) => r)).toBe('web\ndb\n');
    expect(formatList(rows, 'table {{.Names}}\t{{.Status}}', PS_COLUMNS, (r) => r)).toBe(
      'NAMES   STATUS\nweb     Up About a minute\ndb      Up About a minute\n',
    );
    const json = formatList(rows, 'json', PS_COLUMNS, (r) => r)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { Names: string });
    expect(json.map((j) => j.Names)).toEqual(['web', 'db']);
  });

  it('escapes control characters a container put in its command, so that a row stays one line', () => {
    const evil = psRow(view({ state: { command: ['echo', '\x1b[2J\nowned'] } }), true, now);
    const line = formatList([evil], '{{.Command}}', PS_COLUMNS, (r) => r);
    expect(line.split('\n')).toHaveLength(2);
    expect(line).not.toContain('\x1b');
  });

  it('aligns at tabs', () => {
    expect(alignTabs(['a\tbb\tc', 'ccc\td\te'])).toBe('a     bb   c\nccc   d    e\n');
  });
});
