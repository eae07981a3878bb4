// diyc-run's options and the pipeline it prints: pure logic, no root needed.
import { describe, expect, it } from 'vitest';
import { parseArgv } from '@diyc/cli';
import { baseRecord, resolveUser, runArgs, runOptions, shellLine } from '../src/index.js';

const parse = (...argv: string[]) => {
  const { flags, operands } = parseArgv(argv, runArgs, true);
  return runOptions(flags, operands, {});
};

describe('runOptions', () => {
  it('shares the host\'s network without --ip, as diyC did; an address or a port asks for the bridge', () => {
    expect(parse('box', 'busybox').net).toBe('host');
    expect(parse('-i', '172.16.0.5', 'box', 'busybox').net).toBe('bridge');
    expect(parse('-p', '8080:80', 'box', 'busybox').net).toBe('bridge');
    expect(parse('--net', 'none', 'box', 'busybox').net).toBe('none');
  });

  it('reads -m as megabytes when bare, as diyC\'s -m', () => {
    expect(parse('-m', '10', 'box', 'busybox').resources.memory?.limit).toBe(10 * 1024 * 1024);
    expect(parse('-m', '512K', 'box', 'busybox').resources.memory?.limit).toBe(512 * 1024);
  });

  it('keeps the command and its own flags after the image', () => {
    expect(parse('-v', 'box', 'busybox', 'ls', '-l', '--help').command).toEqual(['ls', '-l', '--help']);
  });

  it('refuses contradictions and bad values', () => {
    expect(() => parse('--net', 'host', '-i', '172.16.0.5', 'box', 'busybox')).toThrow('--ip needs --net bridge');
    expect(() => parse('-e', 'NOEQUALS', 'box', 'busybox')).toThrow('use KEY=VALUE');
    expect(() => parse('-w', 'relative', 'box', 'busybox')).toThrow('absolute path');
    expect(() => parse('-m', 'x', 'box', 'busybox')).toThrow("'x' is not a size");
    expect(() => parse('a'.repeat(40), 'busybox')).toThrow('longer than 32');
    expect(() => parse('box')).toThrow('usage: diyc-run');
  });
});

describe('shellLine', () => {
  it('prints the stages a person can replay, quoting what the shell would split', () => {
    const options = parse('-i', '172.16.0.5', '-m', '10M', '--pids', '9', '-e', 'A=b c', 'box', 'busybox', 'sh', '-c', 'echo $HOME');
    const image = { name: 'busybox', layers: [], config: {}, source: 'x', created: '', size: 0 };
    const line = shellLine(options, baseRecord(options, image, false), '/r');
    expect(line).toBe(
      "mkdir -p /r/containers/box && diyc-run --spec --net bridge --env 'A=b c' -- box busybox sh -c 'echo $HOME'"
      + ' | diyc-overlay mount box --image busybox | diyc-cgroup create box --memory 10485760 --pids 9'
      + ' | diyc-net attach box --ip 172.16.0.5 > /r/containers/box/config.json && diyc-run --start box',
    );
  });
});

describe('resolveUser', () => {
  const passwd = 'root:x:0:0::/root:/bin/sh\nweb:x:33:44::/var/www:/bin/false\n';
  const group = 'root:x:0:\nwww:x:55:\n';
  it('reads numbers, names, and the primary group from passwd', () => {
    expect(resolveUser('1000', passwd, group)).toEqual({ uid: 1000, gid: 1000 });
    expect(resolveUser('web', passwd, group)).toEqual({ uid: 33, gid: 44 });
    expect(resolveUser('web:www', passwd, group)).toEqual({ uid: 33, gid: 55 });
    expect(() => resolveUser('nobody', passwd, group)).toThrow("user 'nobody' is not in the image's /etc/passwd");
  });
});
