import { describe, expect, it } from 'vitest';
import { parseArgv } from '@diyc/cli';
import { DEFAULT_PIDS_LIMIT, memoryResources, parseLabels, parsePortFlag, RUN_ARGS, RUN_HINTS, runRequest } from '../src/run-options.js';
import { parseVolumeFlag } from '../src/mounts.js';

/** docker run's command line, read as `diyc run` reads it. */
const request = (...argv: string[]) => {
  const parsed = parseArgv(argv, RUN_ARGS, true, RUN_HINTS);
  return runRequest(parsed.flags, parsed.operands, { HOME: '/root', FROM_HOST: 'h' });
};

describe("docker run's flags", () => {
  it('stops at the image: what follows is the command, its flags its own', () => {
    const r = request('--rm', '-d', '--name', 'web', 'busybox', 'ls', '-l', '--rm');
    expect(r).toMatchObject({ image: 'busybox', command: ['ls', '-l', '--rm'], name: 'web', remove: true, detach: true, net: 'bridge' });
  });

  it("takes docker's defaults: bridge network, pull when missing, a pids limit, no restart", () => {
    const r = request('busybox');
    expect(r).toMatchObject({ command: [], detach: false, interactive: false, tty: false, pull: 'missing', restart: { Name: 'no' } });
    expect(r.resources.pids).toEqual({ limit: DEFAULT_PIDS_LIMIT });
  });

  it('reads --log-opt max-size and max-file, refusing max-size=0 as docker does (a log never rotated fills the disk)', () => {
    expect(request('--log-opt', 'max-size=1k', '--log-opt', 'max-file=2', 'busybox')).toMatchObject({ logSize: 1024, logFiles: 1 });
    expect(() => request('--log-opt', 'max-size=0', 'busybox')).toThrow(/max-size must be a positive number/);
  });

  it("reads -e KEY=VALUE and a bare -e KEY from the caller's environment, as docker does", () => {
    expect(request('-e', 'A=1', '-e', 'FROM_HOST', '-e', 'NOT_SET', 'busybox').env).toEqual(['A=1', 'FROM_HOST=h']);
  });

  it('reads -v as a bind (absolute or ./), a named volume, or an anonymous one; :ro is read-only', () => {
    expect(parseVolumeFlag('/srv:/data:ro', '/x')).toEqual({ type: 'bind', source: '/srv', target: '/data', readonly: true, create: true });
    expect(parseVolumeFlag('./w:/w/', '/home/u')).toEqual({
      type: 'bind',
      source: '/home/u/w',
      target: '/w',
      readonly: false,
      create: true,
    });
    expect(parseVolumeFlag('cache:/var/cache')).toEqual({ type: 'volume', name: 'cache', target: '/var/cache', readonly: false });
    expect(parseVolumeFlag('/scratch')).toEqual({ type: 'volume', target: '/scratch', readonly: false });
    expect(() => parseVolumeFlag('/a:data')).toThrow(/mount path must be absolute/);
    expect(() => parseVolumeFlag('/a:/')).toThrow(/'\/' cannot be mounted over/);
    expect(() => parseVolumeFlag('/a:/b:shared')).toThrow(/invalid mode: shared/);
    expect(() => request('-v', '/a:/d', '-v', '/b:/d', 'busybox')).toThrow(/Duplicate mount point: \/d/);
  });

  it('reads -p as docker does: HOST:CTR, IP:HOST:CTR, ranges, /udp, and a bare port for a free host port', () => {
    expect(parsePortFlag('8080:80')).toEqual({ publish: expect.objectContaining({ hostPort: 8080, containerPort: 80, protocol: 'tcp' }) });
    expect(parsePortFlag('127.0.0.1:53:53/udp')).toEqual({
      publish: expect.objectContaining({ hostIp: '127.0.0.1', hostPort: 53, containerPort: 53, protocol: 'udp' }),
    });
    expect(parsePortFlag('80')).toEqual({ random: { containerPort: 80, protocol: 'tcp' } });
    expect(parsePortFlag('127.0.0.1::80')).toEqual({ random: { hostIp: '127.0.0.1', containerPort: 80, protocol: 'tcp' } });
    expect(() => parsePortFlag('70000')).toThrow(/from 1 to 65535/);
  });

  it("drops -p with --network host or none, with docker's warning, and refuses an unknown network", () => {
    expect(request('--network', 'none', '-p', '80:80', 'busybox').ports).toEqual([]);
    expect(() => request('--network', 'mynet', 'busybox')).toThrow(/network mynet not found/);
  });

  it('reads -m and --memory-swap as docker does (swap twice the memory by default, at least 6 MB)', () => {
    expect(memoryResources('512m', undefined)).toEqual({ limit: 512 * 1024 ** 2, swap: 1024 * 1024 ** 2 });
    expect(memoryResources('1g', '-1')).toEqual({ limit: 1024 ** 3, swap: -1 });
    expect(() => memoryResources('4m', undefined)).toThrow(/minimum memory limit is 6MB/);
    expect(() => memoryResources('64m', '32m')).toThrow(/at least --memory/);
    expect(() => memoryResources(undefined, '1g')).toThrow(/--memory-swap needs --memory/);
  });

  it('reads --label, --cpus and --pids-limit -1', () => {
    expect(parseLabels(['a=1', 'b', 'c=x=y'])).toEqual({ a: '1', b: '', c: 'x=y' });
    expect(request('--cpus', '0.5', 'busybox').resources.cpu).toEqual({ quota: 50_000, period: 100_000 });
    expect(request('--pids-limit', '-1', 'busybox').resources.pids).toBeUndefined();
    expect(() => request('--cpus', 'lots', 'busybox')).toThrow(/--cpus lots/);
  });

  it('refuses what diyc does not do yet with a line that says so, rather than doing half of it', () => {
    expect(() => parseArgv(['--gpus', 'all', 'busybox'], RUN_ARGS, true, RUN_HINTS)).toThrow(/--gpus is not supported by diyc yet/);
    expect(() => request('--no-sig-proxy', 'busybox')).toThrow(/--sig-proxy=false is not supported/);
  });

  it('reads --restart and the --health-* flags as docker does', () => {
    expect(request('--restart', 'on-failure:3', 'busybox').restart).toEqual({ Name: 'on-failure', MaximumRetryCount: 3 });
    expect(() => request('--restart', 'always', '--rm', 'busybox')).toThrow(/Conflicting options: --restart and --rm/);
    expect(() => request('--restart', 'always:2', 'busybox')).toThrow(/only on-failure takes a count/);
    const health = request(
      '--health-cmd',
      'wget -q -O- localhost',
      '--health-interval',
      '1m30s',
      '--health-retries',
      '5',
      'busybox',
    ).health;
    expect(health).toEqual({ none: false, cmd: 'wget -q -O- localhost', interval: 90_000, retries: 5 });
    expect(() => request('--health-interval', '30', 'busybox')).toThrow(/--health-interval 30: give a duration/);
    expect(() => request('--no-healthcheck', '--health-cmd', 'true', 'busybox')).toThrow(/conflicts/);
  });

  it('checks names and needs an image', () => {
    expect(request('--name', '/web', 'busybox').name).toBe('web');
    expect(() => request('--name', 'a/b', 'busybox')).toThrow(/--name/);
    expect(() => request()).toThrow(/requires at least 1 argument/);
  });
});
