// diyc-run's options and the pipeline it prints: pure logic, no root needed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgv } from '@diyc/cli';
import {
  baseRecord,
  parseAddHost,
  parseEnvFile,
  parseDnsSearch,
  parseDnsServer,
  parseTmpfs,
  parseVolume,
  resolveUser,
} from '@diyc/container';
import { runArgs, runOptions, shellLine } from '../src/index.js';

const parse = (...argv: string[]) => {
  const { flags, operands } = parseArgv(argv, runArgs, true);
  return runOptions(flags, operands, {});
};

describe('runOptions', () => {
  it("puts a container on the bridge unless --net says none or host; -i is its address there, as diyC's", () => {
    expect(parse('box', 'busybox').net).toBe('bridge');
    expect(parse('--net', 'host', 'box', 'busybox').net).toBe('host');
    expect(parse('-i', '172.16.0.5', 'box', 'busybox').net).toBe('bridge');
    expect(parse('-p', '8080:80', 'box', 'busybox').net).toBe('bridge');
    expect(parse('--net', 'none', 'box', 'busybox').net).toBe('none');
    expect(() => parse('--net', 'host', '-i', '172.16.0.5', 'box', 'busybox')).toThrow('--ip needs --net bridge');
  });

  it("limits processes to 2048 unless --pids (or docker's --pids-limit) says otherwise; 0 or -1 is no limit", () => {
    expect(parse('box', 'busybox').resources.pids).toEqual({ limit: 2048 });
    expect(parse('--pids', '10', 'box', 'busybox').resources.pids).toEqual({ limit: 10 });
    expect(parse('--pids-limit', '-1', 'box', 'busybox').resources.pids).toBeUndefined();
    expect(parse('--pids', '0', 'box', 'busybox').resources.pids).toBeUndefined();
  });

  it("reads -m as megabytes when bare, as diyC's -m", () => {
    expect(parse('-m', '10', 'box', 'busybox').resources.memory?.limit).toBe(10 * 1024 * 1024);
    expect(parse('-m', '512K', 'box', 'busybox').resources.memory?.limit).toBe(512 * 1024);
  });

  it('keeps the command and its own flags after the image', () => {
    expect(parse('-v', 'box', 'busybox', 'ls', '-l', '--help').command).toEqual(['ls', '-l', '--help']);
  });

  it("answers docker's -it with what to type here (-i is diyC's --ip)", () => {
    expect(() => parse('-it', 'box', 'busybox', 'sh')).toThrow(
      "-it: -i is diyC's --ip here (an address); the command gets a terminal of its own whenever stdin is one: leave out -i, or give -t alone",
    );
  });

  it('refuses contradictions and bad values', () => {
    expect(() => parse('--net', 'host', '-i', '172.16.0.5', 'box', 'busybox')).toThrow('--ip needs --net bridge');
    expect(() => parse('-e', 'BAD KEY=1', 'box', 'busybox')).toThrow('use KEY=VALUE');
    expect(() => parse('--ulimit', 'nofile=10:5', 'box', 'busybox')).toThrow('the soft limit is above the hard one');
    expect(() => parse('--ulimit', 'files=10', 'box', 'busybox')).toThrow(
      '--ulimit files=10: use NAME=SOFT[:HARD] with NAME one of cpu, fsize,',
    );
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
      "mkdir -p /r/containers/box && diyc-run --spec --net bridge --env 'A=b c' -- box busybox sh -c 'echo $HOME'" +
        ' | diyc-overlay mount box --image busybox | diyc-cgroup create box --memory 10485760 --pids 9' +
        ' | diyc-net attach box --ip 172.16.0.5 > /r/containers/box/config.json && diyc-run --start box',
    );
  });
});

describe('the command, the environment and the root, as docker makes them', () => {
  const image = (config: { Entrypoint?: string[]; Cmd?: string[]; Env?: string[] }) => ({
    name: 'app',
    layers: [],
    config,
    source: 'x',
    created: '',
    size: 0,
  });
  const args = (config: { Entrypoint?: string[]; Cmd?: string[] }, ...argv: string[]) => {
    const options = parse('--net', 'none', ...argv);
    return baseRecord(options, image(config), false).process.args;
  };

  it("runs a command given after the image's Entrypoint, in place of its Cmd; --entrypoint replaces both", () => {
    const app = { Entrypoint: ['/entry.sh'], Cmd: ['serve'] };
    expect(args(app, 'c', 'app')).toEqual(['/entry.sh', 'serve']);
    expect(args(app, 'c', 'app', 'migrate', '--all')).toEqual(['/entry.sh', 'migrate', '--all']);
    expect(args(app, '--entrypoint', '/bin/sh', 'c', 'app')).toEqual(['/bin/sh']);
    expect(args(app, '--entrypoint', '/bin/sh', 'c', 'app', '-c', 'id')).toEqual(['/bin/sh', '-c', 'id']);
    expect(args(app, '--entrypoint', '', 'c', 'app', 'id')).toEqual(['id']);
    expect(args({ Cmd: ['sh'] }, 'c', 'app', 'ls')).toEqual(['ls']);
    expect(args({}, 'c', 'app')).toEqual(['/bin/sh']);
  });

  it('reads --env-file as docker: KEY=VALUE as written, a bare KEY from the host, comments skipped; -e wins', () => {
    expect(parseEnvFile('# db\nA=1\n\n  B="two words"\r\nHOME_DIR\nUNSET\nC=x=y\n', { HOME_DIR: '/h' })).toEqual([
      'A=1',
      'B="two words"',
      'HOME_DIR=/h',
      'C=x=y',
    ]);
    expect(() => parseEnvFile('A=1\nBAD KEY=2\n', {}, 'app.env')).toThrow("--env-file app.env, line 2: 'BAD KEY' is not a variable name");
    const dir = mkdtempSync(join(tmpdir(), 'diyc-env-file-'));
    try {
      writeFileSync(join(dir, 'app.env'), 'A=from-file\nB=from-file\n');
      const options = parse('--net', 'none', '--env-file', join(dir, 'app.env'), '-e', 'B=from-flag', 'c', 'app');
      const env = baseRecord(options, image({ Env: ['A=from-image'] }), false).process.env;
      expect(env).toContain('A=from-file');
      expect(env).toContain('B=from-flag');
      expect(env).not.toContain('B=from-file');
      // The pipeline replays the file, not its values: a secret in it is not printed.
      expect(shellLine(options, baseRecord(options, image({}), false), '/r')).toContain(
        `--env-file ${join(dir, 'app.env')} --env B=from-flag`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => parse('--env-file', '/nonexistent/app.env', 'c', 'app')).toThrow('--env-file /nonexistent/app.env: no such file');
  });

  it('takes a bare -e KEY from the host, as docker; one the host lacks is left out', () => {
    const { flags, operands } = parseArgv(['-e', 'TOKEN', '-e', 'ABSENT', '-e', 'A=1', 'box', 'busybox'], runArgs, true);
    expect(runOptions(flags, operands, { TOKEN: 's3cret' }).env).toEqual(['TOKEN=s3cret', 'A=1']);
  });

  it("reads --ulimit NAME=SOFT[:HARD] into the process's rlimits, and replays it", () => {
    const options = parse('--net', 'none', '--ulimit', 'nofile=1024:4096', '--ulimit', 'nproc=64', 'c', 'app');
    const record = baseRecord(options, image({}), false);
    expect(record.process.rlimits).toEqual([
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
      { type: 'RLIMIT_NPROC', soft: 64, hard: 64 },
    ]);
    expect(shellLine(options, record, '/r')).toContain('--ulimit nofile=1024:4096 --ulimit nproc=64:64');
  });

  it("reads --sysctl KEY=VALUE into linux.sysctl, refuses net.* on the host's network, and replays it", () => {
    const options = parse('--net', 'none', '--sysctl', 'net.ipv4.ip_unprivileged_port_start=80', 'c', 'app');
    const record = baseRecord(options, image({}), false);
    expect(record.linux.sysctl).toMatchObject({ 'net.ipv4.ip_unprivileged_port_start': '80' });
    expect(shellLine(options, record, '/r')).toContain('--sysctl net.ipv4.ip_unprivileged_port_start=80');
    expect(() => parse('--net', 'host', '--sysctl', 'net.ipv4.ip_forward=1', 'c', 'app')).toThrow(
      "--sysctl net.*: with --net host the container shares the host's network",
    );
    expect(() => parse('--sysctl', 'kernel/../x=1', 'c', 'app')).toThrow('use KEY=VALUE');
  });

  it('marks the root read-only with --read-only, and replays it', () => {
    const options = parse('--net', 'none', '--read-only', '--entrypoint', '/bin/true', 'c', 'app');
    const record = baseRecord(options, image({}), false);
    expect(record.root?.readonly).toBe(true);
    expect(shellLine(options, record, '/r')).toContain('diyc-run --spec --net none --entrypoint /bin/true --read-only -- c app');
    expect(baseRecord(parse('c', 'app'), image({}), false).root).toBeUndefined();
  });
});

describe('resolveUser', () => {
  const passwd = 'root:x:0:0::/root:/bin/sh\nweb:x:33:44::/var/www:/bin/false\nnobody:x:65534:65534::/nonexistent:/bin/false\n';
  const group = 'root:x:0:\nwww:x:55:web,other\nadm:x:4:web\nnogroup:x:65534:\n';
  it('reads names and numbers as docker -u does: the primary group and home from passwd', () => {
    expect(resolveUser('web', passwd, group)).toEqual({ uid: 33, gid: 44, additionalGids: [55, 4], home: '/var/www' });
    expect(resolveUser('33', passwd, group)).toEqual({ uid: 33, gid: 44, additionalGids: [55, 4], home: '/var/www' });
    expect(resolveUser('nobody', passwd, group)).toEqual({ uid: 65534, gid: 65534, additionalGids: [], home: '/nonexistent' });
  });
  it('takes a group by name or number, and keeps it out of the supplementary ones', () => {
    expect(resolveUser('web:www', passwd, group)).toMatchObject({ uid: 33, gid: 55, additionalGids: [4] });
    expect(resolveUser('web:7', passwd, group)).toMatchObject({ uid: 33, gid: 7 });
  });
  it('runs a number that is not in passwd with group 0 and home /, as docker does', () => {
    expect(resolveUser('1000', passwd, group)).toEqual({ uid: 1000, gid: 0, additionalGids: [], home: '/' });
    expect(resolveUser('1000:1000', passwd, group)).toMatchObject({ uid: 1000, gid: 1000 });
  });
  it("refuses a uid or gid in the image's files that is not a number", () => {
    expect(() => resolveUser('bad', 'bad:x:abc:0::/:/bin/sh\n', group)).toThrow("the image's uid for 'bad' is 'abc', not a number");
    expect(() => resolveUser('bad', 'bad:x:5:-1::/:/bin/sh\n', group)).toThrow("the image's gid for 'bad' is '-1', not a number");
  });
  it('refuses a name that is not there', () => {
    expect(() => resolveUser('ghost', passwd, group)).toThrow("user 'ghost' is not in the image's /etc/passwd");
    expect(() => resolveUser('web:ghosts', passwd, group)).toThrow("group 'ghosts' is not in the image's /etc/group");
  });
});

describe('volumes, tmpfs, DNS flags', () => {
  it('reads --volume HOST:CONTAINER[:ro], and refuses what would be unclear or unsafe', () => {
    expect(parseVolume('/tmp:/data')).toEqual({ host: '/tmp', container: '/data', readonly: false });
    expect(parseVolume('/tmp/:/data/x/../y/:ro')).toEqual({ host: '/tmp', container: '/data/y', readonly: true });
    for (const [bad, why] of [
      ['/tmp', 'HOST:CONTAINER'],
      ['data:/data', 'absolute path'],
      ['/tmp:/', 'root'],
      ['/tmp:data', 'not an absolute'],
      ['/tmp:/d:rx', 'ro or rw'],
      ['/no/such/dir/x:/d', 'does not exist'],
    ]) {
      expect(() => parseVolume(bad as string), bad).toThrow(why as string);
    }
  });
  it('reads --tmpfs PATH[:OPTS]', () => {
    expect(parseTmpfs('/run')).toEqual({ path: '/run', options: [] });
    expect(parseTmpfs('/scratch:size=64m,exec')).toEqual({ path: '/scratch', options: ['size=64m', 'exec'] });
    expect(() => parseTmpfs('/')).toThrow('root');
  });
  it('reads --dns, --dns-search and --add-host', () => {
    expect(parseDnsServer('10.0.0.2')).toBe('10.0.0.2');
    expect(parseDnsServer('fd00::53')).toBe('fd00::53');
    expect(() => parseDnsServer('dns.example')).toThrow('IP address');
    expect(parseDnsSearch('corp.example')).toBe('corp.example');
    expect(() => parseDnsSearch('bad domain')).toThrow('not a domain');
    expect(parseAddHost('db:10.0.0.5')).toEqual({ name: 'db', ip: '10.0.0.5' });
    expect(parseAddHost('v6:fd00::5')).toEqual({ name: 'v6', ip: 'fd00::5' });
    expect(() => parseAddHost('db=10.0.0.5')).toThrow('NAME:IP');
  });
});
