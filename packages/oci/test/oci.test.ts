// diyc-oci's pure logic: the global flags engines put before the command, signals, IDs, what
// a config.json may not ask for, the device cgroup's rules, exec's process, and the default
// spec. Running containers is test-e2e/oci.test.ts and test-e2e/engines.test.ts.
import { describe, expect, it } from 'vitest';
import { emptyRecord, isDiycError, parseRecord } from '@diyc/record';
import { rfc3339Nano } from '@diyc/container';
import { checkId, defaultSpec, deviceRules, parseGlobals, processFromArgs, unsupportedFields } from '../src/index.js';

describe('parseGlobals', () => {
  it('takes runc\'s global flags before the command and returns the rest untouched', () => {
    expect(parseGlobals(['--root', '/x', '--log=/l', '--log-format', 'json', '--debug', 'create', '--bundle', 'b', 'id'])).toEqual(['create', '--bundle', 'b', 'id']);
    expect(parseGlobals(['--rootless', 'false', 'state', 'id'])).toEqual(['state', 'id']);
    expect(parseGlobals(['--criu', '/usr/sbin/criu', 'list'])).toEqual(['list']);
  });

  it('stops at the command: a flag after it belongs to the command', () => {
    expect(parseGlobals(['kill', '--root', 'r'])).toEqual(['kill', '--root', 'r']);
  });

  it('refuses what diyc-oci cannot be asked to do, saying what to set instead', () => {
    const code = (argv: string[]) => { try { parseGlobals(argv); return 'ok'; } catch (err) { return isDiycError(err) ? err.kind : 'other'; } };
    expect(code(['--systemd-cgroup', 'create'])).toBe('ok');
    expect(code(['--rootless', 'true', 'create'])).toBe('unsupported');
    expect(code(['--log-format', 'xml', 'create'])).toBe('usage');
    expect(code(['--root'])).toBe('usage');
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
    const text = rfc3339Nano(new Date('2026-11-29T07:08:09.123Z'));
    expect(text).toMatch(/^2026-11-29T07:08:09\.123\d{6}Z$/);
  });
});

describe('unsupportedFields', () => {
  const base = () => JSON.parse(JSON.stringify(defaultSpec())) as Record<string, any>;

  it('finds nothing to refuse in the default spec, nor in keys the spec does not have', () => {
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
    expect(unsupportedFields(spec, () => {})).toEqual(['windows', 'process.scheduler', 'linux.intelRdt', 'process.apparmorProfile (diyc has no AppArmor or SELinux)', 'linux.namespaces: time']);
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
  it('denies everything first, keeps the config\'s rules, then allows runc\'s list; a node the config lists is made, not allowed', () => {
    const record = emptyRecord();
    record.linux.resources = { devices: [{ allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }] };
    record.linux.devices = [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11 }];
    const rules = deviceRules(record);
    expect(rules[0]).toEqual({ allow: false, access: 'rwm' });
    expect(rules[1]).toEqual({ allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' });
    const allowed = rules.slice(2).map((r) => `${r.type} ${r.major ?? '*'}:${r.minor ?? '*'} ${r.access}`);
    expect(allowed).toEqual(['c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 1:8 rwm', 'c 1:7 rwm', 'c 5:0 rwm', 'c 1:5 rwm', 'c 1:9 rwm', 'c 136:* rwm', 'c 5:2 rwm', 'c 10:200 rwm']);
  });

  it('never lets a block device be read or written unless the config says so: the host disk stays out of reach', () => {
    expect(deviceRules(emptyRecord()).filter((r) => r.allow && r.type === 'b' && /[rw]/.test(r.access ?? ''))).toEqual([]);
  });
});

describe('processFromArgs', () => {
  const base = { args: ['sh'], env: ['PATH=/bin', 'A=1'], cwd: '/', terminal: false, user: { uid: 0, gid: 0 } };

  it('runs the command given with the container\'s process, changing only what the flags ask', () => {
    const p = processFromArgs(base, ['ls', '-l'], { env: ['A=2', 'B=3'], cwd: '/tmp', user: '1000:100', tty: true });
    expect(p).toMatchObject({ args: ['ls', '-l'], env: ['PATH=/bin', 'A=2', 'B=3'], cwd: '/tmp', terminal: true, user: { uid: 1000, gid: 100 } });
    expect(processFromArgs(base, ['id'], { env: [], user: '7', tty: false }).user).toEqual({ uid: 7, gid: 7 });
  });

  it('refuses a user that is not numbers and an env entry without a value', () => {
    expect(() => processFromArgs(base, ['id'], { env: [], user: 'root', tty: false })).toThrow(/UID\[:GID\]/);
    expect(() => processFromArgs(base, ['id'], { env: ['JUSTKEY'], tty: false })).toThrow(/KEY=VALUE/);
  });
});

describe('defaultSpec', () => {
  it('is a config diyc reads back, with the defaults engines expect of `runc spec`', () => {
    const spec = defaultSpec();
    const record = parseRecord(JSON.stringify(spec));
    expect(record.process?.args).toEqual(['sh']);
    expect(record.process?.noNewPrivileges).toBe(true);
    expect(record.root).toEqual({ path: 'rootfs', readonly: true });
    expect(record.linux.namespaces.map((n) => n.type).sort()).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
    expect(record.linux.maskedPaths).toContain('/proc/kcore');
    expect(record.process?.capabilities?.bounding).not.toContain('CAP_SYS_ADMIN');
    expect(record.linux.seccomp?.defaultAction).toBe('SCMP_ACT_ERRNO');
  });
});
