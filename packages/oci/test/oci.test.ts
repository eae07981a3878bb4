// diyc-oci's pure logic: runc's command line (flags, help, exit codes), its log formats,
// IDs, what a config.json may not ask for, the device cgroup's rules, exec's process and
// --cgroup, update's steps, events' durations and stats encoding, list and ps output,
// checkpoint's paths and CRIU arguments, and `spec` = `runc spec`. Running containers is
// test-e2e/oci.test.ts and test-e2e/engines.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { emptyRecord, isDiycError } from '@diyc/record';
import { rfc3339Nano } from '@diyc/container';
import {
  appHelp,
  askedResources,
  checkId,
  checkTerminal,
  commandHelp,
  cpuList,
  deviceRules,
  dispatch,
  dumpArgs,
  existingContainer,
  filterPs,
  formatLine,
  goJson,
  goQuote,
  IncorrectUsage,
  listStates,
  NoHelpTopic,
  ociCommand,
  parseDuration,
  parseGlobalLine,
  parseSignal,
  prepareImagePaths,
  processFromArgs,
  ramInBytes,
  reorderArgs,
  runcSpec,
  runOci,
  specText,
  subCgroupProcs,
  tabwriter,
  type AppInfo,
  type OciCommand,
  unsupportedFields,
  updateSteps,
  usageText,
} from '../src/index.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'diyc-oci-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const app: AppInfo = {
  name: 'diyc-oci',
  usage: 'a drop-in for runc - Open Container Initiative runtime',
  about: 'about',
  version: 'runc version 1.1.5 (diyc-oci 0.0.0)\ncommit: x\n',
  commands: ociCommand.subCommands as Record<string, OciCommand>,
  globals: ociCommand.globalArgs ?? {},
};
const line = (...argv: string[]) => dispatch(app, parseGlobalLine(app, argv));

describe("runc's command line", () => {
  it('takes the global flags before the command, with one dash or two, and = or a word for a value', () => {
    const g = parseGlobalLine(app, ['--root', '/x', '-log=/l', '--log-format', 'json', '--debug', 'create', '--bundle', 'b', 'id']);
    expect(g.globals).toEqual({ root: '/x', log: '/l', 'log-format': 'json', debug: true });
    expect(g.rest).toEqual(['create', '--bundle', 'b', 'id']);
    expect(parseGlobalLine(app, ['--rootless', 'false', '--criu', '/usr/sbin/criu', '--systemd-cgroup', 'list']).globals).toEqual({
      rootless: 'false',
      criu: '/usr/sbin/criu',
      'systemd-cgroup': true,
    });
  });

  it('moves flags typed after the arguments to the front (update ID --memory 1M), except for exec and ps', () => {
    expect(reorderArgs(['test_update', '--cpuset-cpus', '1'])).toEqual(['--cpuset-cpus', '1', 'test_update']);
    expect(reorderArgs(['-a', 'box', '0'])).toEqual(['-a', 'box', '0']);
    expect(reorderArgs(['box', '--', '--x'])).toEqual(['box', '--', '--x']);
    const update = line('update', 'box', '--memory', '50M', '--pids-limit=10').command;
    expect(update?.ctx).toMatchObject({ flags: { memory: '50M', 'pids-limit': '10' }, operands: ['box'] });
    expect(line('exec', 'box', 'ls', '-la').command?.ctx.operands).toEqual(['box', 'ls', '-la']);
    expect(line('ps', 'box', '-e', '-x').command?.ctx.operands).toEqual(['box', '-e', '-x']);
    expect(line('kill', '-a', 'box', '0').command?.ctx).toMatchObject({ flags: { all: true }, operands: ['box', '0'] });
  });

  it('collects a repeated flag; a boolean takes =false; a value flag needs its value', () => {
    const exec = line('exec', '-g', '100', '--additional-gids', '65534', '--no-new-privs=false', 'box', 'id').command;
    expect(exec?.ctx.flags).toEqual({ 'additional-gids': ['100', '65534'], 'no-new-privs': false });
    expect(() => line('exec', '--detach=maybe', 'box', 'id')).toThrow('invalid boolean value "maybe" for -detach: parse error');
    expect(() => line('state', '--nope', 'box')).toThrow('flag provided but not defined: -nope');
    expect(() => line('update', '--memory')).toThrow('flag needs an argument: -memory');
  });

  it('checks the argument count as runc does, and says "Incorrect Usage."', () => {
    for (const [argv, text] of [
      [['state'], '"state" requires exactly 1 argument(s)'],
      [['kill', 'a', 'b', 'c'], '"kill" requires a maximum of 2 argument(s)'],
      [['exec'], '"exec" requires a minimum of 1 argument(s)'],
      [['list', 'x'], '"list" requires exactly 0 argument(s)'],
    ] as const) {
      let err: unknown;
      try {
        line(...argv);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IncorrectUsage);
      expect((err as Error).message).toBe(`diyc-oci: ${text}`);
      expect((err as IncorrectUsage).exitCode).toBe(1);
    }
  });

  it('words a flag error as urfave/cli: "Incorrect Usage." for a global flag, "Incorrect Usage:" for a command\'s', () => {
    const caught = (...argv: string[]): IncorrectUsage => {
      try {
        line(...argv);
      } catch (e) {
        return e as IncorrectUsage;
      }
      throw new Error(`${argv.join(' ')} was taken`);
    };
    expect(usageText(app, caught('--nope'))).toMatch(/^Incorrect Usage\. flag provided but not defined: -nope\n\nNAME:\n/);
    expect(usageText(app, caught('state', '--nope', 'x'))).toMatch(/^Incorrect Usage: flag provided but not defined: -nope\n\nNAME:\n/);
  });

  it('shows help as urfave/cli lays it out: NAME first, and each command names the runc command it stands for', () => {
    const top = appHelp(app).split('\n');
    expect(top[0]).toBe('NAME:');
    expect(top[1]).toMatch(/runc - Open Container Initiative runtime/);
    expect(line('-h').print).toBe(appHelp(app));
    expect(line('--help').print).toBe(appHelp(app));
    for (const name of [
      'checkpoint',
      'delete',
      'events',
      'exec',
      'kill',
      'list',
      'pause',
      'restore',
      'resume',
      'spec',
      'start',
      'run',
      'state',
      'update',
    ]) {
      const help = line(name, '-h').print?.split('\n') ?? [];
      expect(help[0], name).toBe('NAME:');
      expect(help[1], name).toMatch(new RegExp(`runc ${name}`));
      expect(line('help', name).print).toBe(commandHelp(app, name));
    }
    expect(commandHelp(app, 'run')).toMatch(/--bundle value, -b value\s+path to the root of the bundle directory/);
    expect(() => line('foo', '-h')).toThrow(NoHelpTopic);
    expect(() => line('foo')).toThrow("No help topic for 'foo'");
    expect(new NoHelpTopic('foo').exitCode).toBe(3);
  });

  it('asks for the version with -v or --version', () => {
    expect(parseGlobalLine(app, ['-v']).version).toBe(true);
    expect(parseGlobalLine(app, ['--version']).version).toBe(true);
  });

  it('refuses the global flags it cannot honour, saying what to set instead (the error in --log)', async () => {
    const root = join(work, 'root');
    const refusal = async (...globals: string[]): Promise<[number, string]> => {
      const log = join(work, 'refusal.log');
      rmSync(log, { force: true });
      const code = await runOci(['--root', root, '--log', log, ...globals, 'list', '-q']);
      return [code, readFileSync(log, { encoding: 'utf8', flag: 'a+' })];
    };
    const driver = process.env.DIYC_CGROUP_DRIVER;
    try {
      expect(await refusal('--systemd-cgroup')).toEqual([0, '']);
      expect(process.env.DIYC_CGROUP_DRIVER).toBe('systemd');
    } finally {
      if (driver === undefined) delete process.env.DIYC_CGROUP_DRIVER;
      else process.env.DIYC_CGROUP_DRIVER = driver;
    }
    const [rootlessCode, rootlessLog] = await refusal('--rootless', 'true');
    expect(rootlessCode).toBe(1);
    expect(rootlessLog).toContain('--rootless true: diyc-oci runs as root only (use auto or false)');
    const [formatCode, formatLog] = await refusal('--log-format', 'xml');
    expect(formatCode).toBe(1);
    expect(formatLog).toContain('invalid log-format: xml');
    expect(() => parseGlobalLine(app, ['--root'])).toThrow('flag needs an argument: -root');
  });
});

describe('the log, as logrus writes it', () => {
  const now = new Date('2026-12-05T03:00:18Z');
  it('text: time, level, msg quoted as Go quotes, fields sorted', () => {
    expect(formatLine('text', 'debug', 'nsexec container setup', { pid: 42 }, now)).toMatch(
      /^time="2026-12-05T\d\d:00:18(Z|[+-]\d\d:\d\d)" level=debug msg="nsexec container setup" pid=42\n$/,
    );
    expect(formatLine('text', 'error', 'a "b"\n', {}, now)).toContain('level=error msg="a \\"b\\"\\n"');
    expect(formatLine('text', 'info', 'bare', {}, now)).toContain(' msg=bare\n');
  });
  it('json: one object a line, keys sorted, HTML characters escaped as Go does', () => {
    const parsed = JSON.parse(formatLine('json', 'error', 'x => y', { pid: 1 }, now));
    expect(Object.keys(parsed)).toEqual(['level', 'msg', 'pid', 'time']);
    expect(parsed).toMatchObject({ level: 'error', msg: 'x => y', pid: 1 });
    expect(formatLine('json', 'debug', '=>', {}, now)).toContain('"msg":"=\\u003e"');
  });
  it('tty: LEVL[seconds] msg, coloured', () => {
    expect(formatLine('tty', 'warning', 'careful', {}, now, now)).toBe('\x1b[33mWARN\x1b[0m[0000] careful\n');
  });
  it('quotes like strconv.Quote', () => {
    expect(goQuote('a\tb\u0001')).toBe('"a\\tb\\x01"');
  });
});

describe('checkId', () => {
  it('takes the IDs engines make, and refuses any that could be a path', () => {
    for (const id of ['abc', 'a1_b.c+d-e', '0123456789abcdef'.repeat(4)]) expect(checkId(id)).toBe(id);
    for (const id of ['', '../x', 'a/b', '.hidden', '-flag', 'a b', 'x'.repeat(256)]) expect(() => checkId(id), id).toThrow();
  });
});

describe('rfc3339Nano', () => {
  it('writes the time with nine digits of fraction in UTC', () => {
    expect(rfc3339Nano(new Date('2026-11-29T07:08:09.123Z'))).toMatch(/^2026-11-29T07:08:09\.123\d{6}Z$/);
  });
});

describe('spec', () => {
  it('writes what runc spec writes, byte for byte but the spec version: tabs, no newline at the end', () => {
    const runc = fixture('runc-spec.json');
    expect(specText({ unified: false }).replace(/"ociVersion": "[^"]*"/, '"ociVersion": "1.0.2-dev"')).toBe(runc);
    expect(runc.endsWith('}')).toBe(true);
  });
  it('writes runc spec --rootless for the user given', () => {
    expect(specText({ unified: false, rootless: { uid: 0, gid: 0 } }).replace(/"ociVersion": "[^"]*"/, '"ociVersion": "1.0.2-dev"')).toBe(
      fixture('runc-spec-rootless.json'),
    );
  });
  it("adds a cgroup namespace on a cgroup v2 machine, as runc; --no-terminal is diyc's", () => {
    expect((runcSpec({ unified: true }).linux as { namespaces: { type: string }[] }).namespaces.map((n) => n.type)).toEqual([
      'pid',
      'network',
      'ipc',
      'uts',
      'mount',
      'cgroup',
    ]);
    expect((runcSpec({ terminal: false }).process as { terminal: boolean }).terminal).toBe(false);
  });
  it('is a config diyc-oci reads without refusing anything', () => {
    expect(unsupportedFields(runcSpec() as Record<string, unknown>, () => {})).toEqual([]);
  });
});

describe('unsupportedFields', () => {
  const base = () => JSON.parse(specText()) as Record<string, any>;

  it('finds nothing to refuse in keys the spec does not have', () => {
    const spec = base();
    spec.somethingNew = { a: 1 };
    spec.linux.futureField = true;
    expect(unsupportedFields(spec, () => {})).toEqual([]);
  });

  it('refuses by name each known field it cannot honour, wherever it lives', () => {
    const spec = base();
    spec.windows = { layerFolders: [] };
    spec.process.scheduler = { policy: 'SCHED_FIFO' };
    spec.linux.intelRdt = { closID: 'x' };
    spec.linux.namespaces.push({ type: 'time' });
    spec.process.apparmorProfile = 'docker-default';
    expect(unsupportedFields(spec, () => {})).toEqual([
      'windows',
      'process.scheduler',
      'linux.intelRdt',
      'process.apparmorProfile (diyc has no AppArmor or SELinux)',
      'linux.namespaces: time',
    ]);
  });

  it('lets an empty field pass, and warns when an empty label says there is none', () => {
    const spec = base();
    spec.linux.intelRdt = {};
    spec.process.selinuxLabel = '';
    const warnings: string[] = [];
    expect(unsupportedFields(spec, (m) => warnings.push(m))).toEqual([]);
    expect(warnings).toEqual(['process.selinuxLabel is empty: diyc has no AppArmor or SELinux, and nothing is asked']);
  });
});

describe('deviceRules', () => {
  it("are runc's: deny all, the config's rules in order, then runc's fixed list; a device the config lists is made, not allowed", () => {
    const record = emptyRecord();
    record.linux.resources = {
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
      ],
    };
    record.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
    const rules = deviceRules(record);
    expect(rules.slice(0, 3)).toEqual([{ allow: false, access: 'rwm' }, ...(record.linux.resources.devices ?? [])]);
    const rest = rules.slice(3).map((r) => `${r.type} ${r.major ?? '*'}:${r.minor ?? '*'} ${r.access}`);
    expect(rest).toEqual([
      'c *:* m',
      'b *:* m',
      'c 1:3 rwm',
      'c 1:8 rwm',
      'c 1:7 rwm',
      'c 5:0 rwm',
      'c 1:5 rwm',
      'c 1:9 rwm',
      'c 136:* rwm',
      'c 5:2 rwm',
      'c 10:200 rwm',
    ]);
  });

  it('never lets a block device be read or written unless the config says so: only mknod', () => {
    expect(deviceRules(emptyRecord()).filter((r) => r.allow && r.type === 'b' && /[rw]/.test(r.access ?? ''))).toEqual([]);
  });
});

describe("exec's process (runc's getProcess)", () => {
  const base = {
    args: ['sh'],
    env: ['PATH=/bin', 'A=1'],
    cwd: '/',
    terminal: true,
    user: { uid: 0, gid: 5 },
    capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
  };

  it("runs the command with the container's process, changing only what the flags ask", () => {
    const p = processFromArgs(base, ['ls', '-l'], { env: ['A=2', 'B=3'], cwd: '/tmp', user: '1000:100', tty: true });
    expect(p).toMatchObject({
      args: ['ls', '-l'],
      env: ['PATH=/bin', 'A=2', 'B=3'],
      cwd: '/tmp',
      terminal: true,
      user: { uid: 1000, gid: 100 },
    });
    // runc: a uid alone keeps the config's gid; no --tty, no terminal.
    expect(processFromArgs(base, ['id'], { env: [], user: '7', tty: false })).toMatchObject({ terminal: false, user: { uid: 7, gid: 5 } });
  });

  it('adds supplementary groups, capabilities (to all four sets, ambient too) and no_new_privs', () => {
    const p = processFromArgs(base, ['id'], {
      env: [],
      tty: false,
      additionalGids: ['100', '65534'],
      caps: ['CAP_SYS_ADMIN'],
      noNewPrivs: false,
    });
    expect(p.user?.additionalGids).toEqual([100, 65534]);
    expect(p.capabilities).toEqual({
      bounding: ['CAP_KILL', 'CAP_SYS_ADMIN'],
      effective: ['CAP_KILL', 'CAP_SYS_ADMIN'],
      permitted: ['CAP_KILL', 'CAP_SYS_ADMIN'],
      ambient: ['CAP_SYS_ADMIN'],
    });
    expect(p.noNewPrivileges).toBe(false);
    expect(base.capabilities.bounding).toEqual(['CAP_KILL']);
  });

  it('refuses what runc refuses, in its words', () => {
    expect(() => processFromArgs(base, ['id'], { env: [], user: 'root', tty: false })).toThrow('parsing root as int for uid failed');
    expect(() => processFromArgs(base, ['id'], { env: [], tty: false, additionalGids: ['-1'] })).toThrow(
      'additional-gids must be a positive number -1',
    );
    expect(() => processFromArgs(base, ['id'], { env: [], tty: false, cwd: 'rel' })).toThrow('Cwd must be an absolute path');
  });

  it('checks the terminal as runc: a detached one needs a console socket, a console socket needs both', () => {
    expect(() => checkTerminal(true, true, undefined)).toThrow(
      'cannot allocate tty if diyc-oci will detach without setting console socket',
    );
    expect(() => checkTerminal(false, true, '/s')).toThrow('cannot use console socket if diyc-oci will not detach or allocate tty');
    expect(() => checkTerminal(true, false, '/s')).toThrow('cannot use console socket');
    checkTerminal(true, false, undefined);
    checkTerminal(true, true, '/s');
  });
});

describe('exec --cgroup', () => {
  const mounts = new Map([
    ['/sys/fs/cgroup/memory', ['memory']],
    ['/sys/fs/cgroup/cpu,cpuacct', ['cpu', 'cpuacct']],
    ['/sys/fs/cgroup/systemd', ['xattr', 'name=systemd']],
    ['/sys/fs/cgroup/unified', ['']],
  ]);
  const procs = [
    '/sys/fs/cgroup/memory/ct/cgroup.procs',
    '/sys/fs/cgroup/cpu,cpuacct/ct/cgroup.procs',
    '/sys/fs/cgroup/systemd/ct/cgroup.procs',
    '/sys/fs/cgroup/unified/ct/cgroup.procs',
  ];

  it("moves every hierarchy, or those named, to a sub-cgroup of the container's", () => {
    expect(subCgroupProcs(procs, [], mounts)).toEqual(procs);
    expect(subCgroupProcs(procs, ['/'], mounts)).toEqual(procs);
    expect(subCgroupProcs(procs, ['sub'], mounts)).toEqual(procs.map((p) => p.replace('/ct/', '/ct/sub/')));
    expect(subCgroupProcs(procs, ['memory:submem', 'cpu,cpuacct:subcpu'], mounts)).toEqual([
      '/sys/fs/cgroup/memory/ct/submem/cgroup.procs',
      '/sys/fs/cgroup/cpu,cpuacct/ct/subcpu/cgroup.procs',
      procs[2],
      procs[3],
    ]);
  });

  it('refuses what runc refuses', () => {
    expect(() => subCgroupProcs(procs, ['..'], mounts)).toThrow('.. is not a sub cgroup path');
    expect(() => subCgroupProcs(procs, ['whaaat:/'], mounts)).toThrow('unknown controller whaaat in SubCgroupPaths');
    expect(() => subCgroupProcs(procs, ['a', 'b'], mounts)).toThrow('missing <controller>: prefix');
    expect(() => subCgroupProcs(procs, ['a:b:c'], mounts)).toThrow('invalid --cgroup argument');
  });
});

describe('update', () => {
  const none = {
    memory: { limit: 0, reservation: 0, swap: 0, kernel: 0, kernelTCP: 0 },
    cpu: { shares: 0, quota: 0, period: 0, realtimeRuntime: 0, realtimePeriod: 0, cpus: '', mems: '' },
    blockIO: { weight: 0 },
    pids: { limit: 0 },
  };

  it("reads runc's flags: sizes with units, -1, numbers; -r replaces every flag", () => {
    const asked = askedResources({
      memory: '50M',
      'memory-swap': '-1',
      'cpu-quota': '-1',
      'cpu-period': '900000',
      'pids-limit': '-1',
      'cpuset-cpus': '1',
    });
    expect(asked.memory).toMatchObject({ limit: 52428800, swap: -1 });
    expect(asked.cpu).toMatchObject({ quota: -1, period: 900000, cpus: '1' });
    expect(asked.pids.limit).toBe(-1);
    expect(askedResources({ resources: '-', memory: '1M' }, () => '{"pids":{"limit":20},"cpu":{"cpus":"0"}}')).toMatchObject({
      pids: { limit: 20 },
      cpu: { cpus: '0' },
      memory: { limit: 0 },
    });
    expect(() => askedResources({ 'cpu-share': 'x' })).toThrow(
      'invalid value for cpu-share: strconv.ParseUint: parsing "x": invalid syntax',
    );
    expect(() => askedResources({ memory: '1x' })).toThrow("invalid value for memory: invalid size: '1x'");
  });

  it('sizes as docker/go-units: binary units, any case', () => {
    expect([ramInBytes('67108864'), ramInBytes('50M'), ramInBytes('1.5g'), ramInBytes('512KiB'), ramInBytes('2kb')]).toEqual([
      67108864, 52428800, 1610612736, 524288, 2048,
    ]);
  });

  it('keeps the other of quota and period when one is given; v1 writes the period first, retried after the quota', () => {
    const current = { cpu: { quota: 500000, period: 1000000 } };
    expect(updateSteps({ ...none, cpu: { ...none.cpu, period: 900000 } }, current, true)).toEqual([
      { cpu: { period: 900000 }, retryPeriodAfterQuota: true },
      { cpu: { quota: 500000 } },
    ]);
    expect(updateSteps({ ...none, cpu: { ...none.cpu, quota: 30000 } }, {}, true)).toEqual([{ cpu: { quota: 30000 } }]);
    expect(updateSteps({ ...none, cpu: { ...none.cpu, period: 50000 } }, {}, true)).toEqual([
      { cpu: { period: 50000 }, retryPeriodAfterQuota: false },
    ]);
    expect(updateSteps({ ...none, cpu: { ...none.cpu, quota: 3000, period: 10000, shares: 200 } }, current, false)).toEqual([
      { cpu: { shares: 200 } },
      { cpu: { quota: 3000, period: 10000 } },
    ]);
  });

  it('memory: -1 alone lifts swap too; a new limit keeps the swap limit; swap alone is set with the current limit', () => {
    expect(updateSteps({ ...none, memory: { ...none.memory, limit: -1 } }, { memory: { limit: 1, swap: 2 } }, true)).toEqual([
      { memory: { limit: -1, swap: -1 } },
    ]);
    expect(updateSteps({ ...none, memory: { ...none.memory, limit: 100 } }, { memory: { limit: 1, swap: 200 } }, true)).toEqual([
      { memory: { limit: 100, swap: 200 } },
    ]);
    expect(updateSteps({ ...none, memory: { ...none.memory, swap: 300 } }, { memory: { limit: 100 } }, true)).toEqual([
      { memory: { swap: 300, limit: 100 } },
    ]);
    expect(updateSteps({ ...none, pids: { limit: -5 } }, {}, true)).toEqual([{ pids: { limit: -1 } }]);
    expect(updateSteps(none, {}, true)).toEqual([]);
  });
});

describe('events', () => {
  it('reads Go durations', () => {
    expect([
      parseDuration('5s'),
      parseDuration('1s'),
      parseDuration('100ms'),
      parseDuration('1m30s'),
      parseDuration('1.5h'),
      parseDuration('0'),
      parseDuration('2500\u00b5s'), // both of Go's micro signs
      parseDuration('2500\u03bcs'),
    ]).toEqual([5000, 1000, 100, 90000, 5400000, 0, 2.5, 2.5]);
    expect(() => parseDuration('5')).toThrow('invalid value "5" for flag -interval');
  });
  it('writes JSON as Go does: counters past 2^53 exact', () => {
    expect(goJson({ type: 'stats', id: 'x', data: { limit: 9223372036854771712n, cpus: [0, 1], s: '<&>' } })).toBe(
      '{"type":"stats","id":"x","data":{"limit":9223372036854771712,"cpus":[0,1],"s":"\\u003c\\u0026\\u003e"}}',
    );
    expect(cpuList('0-2,5')).toEqual([0, 1, 2, 5]);
  });
});

describe('list and ps', () => {
  it("lays the list out as Go's tabwriter(12, 1, 3)", () => {
    expect(
      tabwriter([
        ['ID', 'PID', 'STATUS'],
        ['a-much-longer-id', '1', 'running'],
      ]),
    ).toBe(`ID${' '.repeat(17)}PID${' '.repeat(9)}STATUS\na-much-longer-id   1${' '.repeat(11)}running\n`);
  });
  it("keeps ps's header and the lines whose PID column is the container's", () => {
    const out =
      'UID        PID  PPID  C STIME TTY          TIME CMD\nroot         1     0  0 03:00 ?        00:00:01 /sbin/init\nroot      8809     1  0 03:00 ?        00:00:00 sleep 1000\n';
    expect(filterPs(out, [8809])).toBe(
      'UID        PID  PPID  C STIME TTY          TIME CMD\nroot      8809     1  0 03:00 ?        00:00:00 sleep 1000\n',
    );
    expect(filterPs('  PID TTY      STAT   TIME COMMAND\n 8809 ?        Ss     0:00 sleep\n', [8809])).toContain(' 8809 ?');
    expect(() => filterPs('USER COMMAND\n', [1])).toThrow("couldn't find PID field in ps output");
  });
});

describe("kill's signals", () => {
  it('are numbers (0 too) or names with or without SIG, any case', () => {
    expect([
      parseSignal(undefined),
      parseSignal('0'),
      parseSignal('9'),
      parseSignal('KILL'),
      parseSignal('sigusr1'),
      parseSignal('Term'),
    ]).toEqual([15, 0, 9, 9, 10, 15]);
    expect(() => parseSignal('NOPE')).toThrow('unknown signal "NOPE"');
  });
});

describe('checkpoint', () => {
  it('checks --parent-path as runc: relative, and a directory under --image-path', () => {
    const cwd = join(work, 'cp');
    mkdirSync(cwd);
    expect(() => prepareImagePaths({ 'image-path': './image-dir', 'parent-path': '/abs/parent-dir' }, cwd)).toThrow(
      '--parent-path must be relative',
    );
    expect(() => prepareImagePaths({ 'image-path': './image-dir', 'parent-path': './parent-dir' }, cwd)).toThrow(
      'invalid --parent-path: stat image-dir/parent-dir: no such file or directory',
    );
    mkdirSync(join(cwd, 'image-dir', 'parent-dir'));
    expect(prepareImagePaths({ 'image-path': './image-dir', 'parent-path': './parent-dir' }, cwd)).toEqual({
      imagePath: join(cwd, 'image-dir'),
      parentPath: './parent-dir',
    });
    writeFileSync(join(cwd, 'image-dir', 'file'), '');
    expect(() => prepareImagePaths({ 'image-path': './image-dir', 'parent-path': 'file' }, cwd)).toThrow('not a directory');
    expect(prepareImagePaths({}, cwd).imagePath).toBe(join(cwd, 'checkpoint'));
  });

  it('asks CRIU what runc asks it: the tree, the images, the root, cgroups, external binds', () => {
    const record = emptyRecord();
    record.root = { path: '/b/rootfs' };
    record.mounts = [{ destination: '/data', type: 'bind', source: '/srv', options: ['rbind'] }];
    const args = dumpArgs(
      { 'leave-running': true, 'tcp-established': true, 'manage-cgroups-mode': 'full' },
      { imagePath: '/img', parentPath: '../parent', workPath: '/work' },
      record,
      42,
      '/sys/fs/cgroup/freezer/ct',
    );
    expect(args.slice(0, 7)).toEqual(['dump', '-t', '42', '-D', '/img', '-W', '/work']);
    for (const a of ['--tcp-established', '--manage-cgroups=full', '--leave-running', '--orphan-pts-master', '--track-mem'])
      expect(args).toContain(a);
    expect(args.join(' ')).toContain('--root /b/rootfs');
    expect(args.join(' ')).toContain('--freeze-cgroup /sys/fs/cgroup/freezer/ct');
    expect(args.join(' ')).toContain('--prev-images-dir ../parent');
    expect(args.join(' ')).toContain('--external mnt[/data]:/data');
    expect(args.join(' ')).toContain('--empty-ns net');
    expect(dumpArgs({ 'pre-dump': true }, { imagePath: '/img', parentPath: '' }, record, 42, undefined)[0]).toBe('pre-dump');
    expect(() => dumpArgs({ 'manage-cgroups-mode': 'odd' }, { imagePath: '/i', parentPath: '' }, record, 1, undefined)).toThrow(
      'Invalid manage cgroups mode',
    );
    expect(() => dumpArgs({ 'page-server': 'nohost' }, { imagePath: '/i', parentPath: '' }, record, 1, undefined)).toThrow(
      '--page-server ADDRESS:PORT',
    );
  });
});

describe('errors', () => {
  it('usage errors are 1 as in runc (not 2)', () => {
    expect(isDiycError(new IncorrectUsage('x', 'state', false), 'usage')).toBe(true);
    expect(new IncorrectUsage('x', 'state', false).exitCode).toBe(1);
  });
});

describe('the cgroup driver a container was created with', () => {
  const asked = process.env.DIYC_CGROUP_DRIVER;
  const roots: string[] = [];
  afterEach(() => {
    if (asked === undefined) delete process.env.DIYC_CGROUP_DRIVER;
    else process.env.DIYC_CGROUP_DRIVER = asked;
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });
  /** A root holding stopped containers, each with the driver given in its state.json. */
  const rootWith = (containers: Record<string, 'cgroupfs' | 'systemd' | undefined>): string => {
    const root = mkdtempSync(join(tmpdir(), 'diyc-oci-driver-'));
    roots.push(root);
    for (const [id, cgroupDriver] of Object.entries(containers)) {
      mkdirSync(join(root, id));
      writeFileSync(
        join(root, id, 'state.json'),
        JSON.stringify({ name: id, status: 'stopped', command: ['sh'], ...(cgroupDriver ? { cgroupDriver } : {}) }),
      );
    }
    return root;
  };

  it("is used by a later command without --systemd-cgroup (podman's pause, kill, delete), and wins over the flag", () => {
    const root = rootWith({ sd: 'systemd', fs: 'cgroupfs', old: undefined });
    delete process.env.DIYC_CGROUP_DRIVER;
    existingContainer(root, 'sd');
    expect(process.env.DIYC_CGROUP_DRIVER).toBe('systemd');
    existingContainer(root, 'fs');
    expect(process.env.DIYC_CGROUP_DRIVER).toBeUndefined();
    // A container from before the driver was recorded keeps what the flag says.
    process.env.DIYC_CGROUP_DRIVER = 'systemd';
    existingContainer(root, 'old');
    expect(process.env.DIYC_CGROUP_DRIVER).toBe('systemd');
  });

  it("is taken per container by list, and the flag's is back after it", () => {
    const root = rootWith({ a: 'systemd', b: 'cgroupfs' });
    delete process.env.DIYC_CGROUP_DRIVER;
    expect(listStates(root).map((s) => s.id)).toEqual(['a', 'b']);
    expect(process.env.DIYC_CGROUP_DRIVER).toBeUndefined();
    process.env.DIYC_CGROUP_DRIVER = 'systemd';
    listStates(root);
    expect(process.env.DIYC_CGROUP_DRIVER).toBe('systemd');
  });
});
