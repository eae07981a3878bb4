import { describe, expect, it } from 'vitest';
import { listeningSockets, parsePublish, procAddress, requireFreeHostPorts, socketClashes, type HostSocket } from '../src/index.js';

// Lines as a little-endian machine prints them (proc(5), /proc/net/tcp).
const TCP = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 0100007F:1F9B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0',
  '   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 100 0 0 10 0',
  '   2: 0100007F:1F9B 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 20 4 30 10 -1',
].join('\n');
const TCP6 = [
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 10 0',
  '   1: 0000000000000000FFFF00000200000A:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2002 1 0000000000000000 100 0 0 10 0',
  '   2: 00000000000000000000000001000000:0051 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2003 1 0000000000000000 100 0 0 10 0',
].join('\n');
const UDP = [
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
  '  1: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3001 2 0000000000000000 0',
  '  2: 0A00000A:9C40 0100000A:0035 01 00000000:00000000 00:00000000 00000000     0        0 3002 2 0000000000000000 0',
].join('\n');

describe("the host's listening sockets", () => {
  it('reads /proc/net addresses, IPv4-mapped IPv6 as IPv4', () => {
    expect(procAddress('0100007F', true)).toBe('127.0.0.1');
    expect(procAddress('7F000001', false)).toBe('127.0.0.1');
    expect(procAddress('00000000000000000000000000000000', true)).toBe('::');
    expect(procAddress('0000000000000000FFFF00000200000A', true)).toBe('10.0.0.2');
    expect(procAddress('00000000000000000000000001000000', true)).toBe('0:0:0:0:0:0:0:1');
  });

  it('lists TCP sockets in LISTEN and unconnected UDP ones, nothing else', () => {
    expect(listeningSockets(TCP, 'tcp', true)).toEqual([
      { protocol: 'tcp', address: '127.0.0.1', port: 8091, inode: 1001 },
      { protocol: 'tcp', address: '0.0.0.0', port: 22, inode: 1002 },
    ]);
    expect(listeningSockets(TCP6, 'tcp', true).map((s) => `${s.address} ${s.port}`)).toEqual([
      ':: 8080',
      '10.0.0.2 80',
      '0:0:0:0:0:0:0:1 81',
    ]);
    expect(listeningSockets(UDP, 'udp', true)).toEqual([{ protocol: 'udp', address: '127.0.0.1', port: 53, inode: 3001 }]);
  });

  it('a socket clashes with a publication that would take its packets', () => {
    const s = (address: string, port: number, protocol: 'tcp' | 'udp' = 'tcp'): HostSocket => ({ protocol, address, port, inode: 0 });
    const p = parsePublish;
    expect(socketClashes(p('8091:80'), s('127.0.0.1', 8091))).toBe(true); // the busybox httpd
    expect(socketClashes(p('127.0.0.1:8091:80'), s('127.0.0.1', 8091))).toBe(true);
    expect(socketClashes(p('192.0.2.7:8091:80'), s('127.0.0.1', 8091))).toBe(false);
    expect(socketClashes(p('127.0.0.1:8091:80'), s('0.0.0.0', 8091))).toBe(true);
    expect(socketClashes(p('127.0.0.1:8091:80'), s('::', 8091))).toBe(true);
    expect(socketClashes(p('8091:80'), s('0:0:0:0:0:0:0:1', 8091))).toBe(false); // ::1 is not IPv4
    expect(socketClashes(p('8091:80/udp'), s('127.0.0.1', 8091))).toBe(false);
    expect(socketClashes(p('8091:80/udp'), s('127.0.0.1', 8091, 'udp'))).toBe(true);
    expect(socketClashes(p('8080-8095:80-95'), s('127.0.0.1', 8091))).toBe(true);
    expect(socketClashes(p('8080-8090:80-90'), s('127.0.0.1', 8091))).toBe(false);
  });

  it('refuses in one line that names the port', () => {
    const sockets: HostSocket[] = [{ protocol: 'tcp', address: '127.0.0.1', port: 8091, inode: 0 }];
    expect(() => requireFreeHostPorts([parsePublish('8091:80')], sockets)).toThrow(
      'host port 8091/tcp is already in use by another program (listening on 127.0.0.1:8091): stop it, or publish another port',
    );
    expect(() => requireFreeHostPorts([parsePublish('8085-8095:85-95')], sockets)).toThrow(/^host port 8091\/tcp is already in use/);
    expect(() => requireFreeHostPorts([parsePublish('8092:80')], sockets)).not.toThrow();
  });
});
