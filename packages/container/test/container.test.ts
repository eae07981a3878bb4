// The core's pure logic on a temporary directory: the status machine, the Container
// object, and the stage table's walk (prepare, teardown), with stages that record calls.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyRecord, type ContainerRecord, type Stage } from '@diyc/record';
import {
  canDelete,
  canExec,
  canKill,
  canPause,
  canResume,
  canStart,
  canTransition,
  Container,
  execCgroupProcs,
  prepare,
  processStart,
  teardown,
} from '../src/index.js';

const noTrace = Object.assign(() => {}, { enabled: false });
const ctx = { name: 'box', root: '/r', trace: noTrace, warn: () => {} };

describe('the status machine', () => {
  it('lets a status change only along its edges', () => {
    expect(canTransition('creating', 'created')).toBe(true);
    expect(canTransition('created', 'running')).toBe(true);
    expect(canTransition('running', 'paused')).toBe(true);
    expect(canTransition('paused', 'running')).toBe(true);
    expect(canTransition('running', 'stopped')).toBe(true);
    expect(canTransition('stopped', 'creating')).toBe(true);
    expect(canTransition('stopped', 'running')).toBe(false);
    expect(canTransition('created', 'paused')).toBe(false);
    expect(canTransition('creating', 'running')).toBe(false);
  });

  it('says which operation each status allows, as runc and youki do', () => {
    expect(
      ['creating', 'created', 'running', 'paused', 'stopped'].map((s) =>
        [canStart, canKill, canDelete, canPause, canResume, canExec].map((f) => (f(s as never) ? 1 : 0)).join(''),
      ),
    ).toEqual([
      // start kill delete pause resume exec
      '000000', // creating
      '111001', // created
      '010101', // running
      '010010', // paused
      '001000', // stopped
    ]);
  });
});

describe('Container', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'diyc-container-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const at = (name: string) => new Container(name, join(root, name));
  const self = { pid: process.pid, pidStart: processStart(process.pid) as string };

  it('keeps its state and record, read once, written whole; its status changes only by transition', () => {
    const c = at('box');
    expect(c.exists()).toBe(false);
    c.saveRecord(emptyRecord(['sh']));
    c.begin({ name: 'box', command: ['sh'] });
    c.transition('created', self);
    c.transition('running');
    const again = at('box');
    expect(again.state()?.status).toBe('running');
    expect(again.record()?.process.args).toEqual(['sh']);
    // A state read once is not read again until refresh().
    c.transition('stopped', { exitCode: 3 });
    expect(again.state()?.status).toBe('running');
    expect(again.refresh().state()).toMatchObject({ status: 'stopped', exitCode: 3 });
    expect(JSON.parse(readFileSync(join(root, 'box', 'state.json'), 'utf8')).status).toBe('stopped');
    expect(() => c.transition('running')).toThrow('container box is stopped: it cannot become running');
  });

  it('is running only while its process is the same one; a reused pid is stopped', () => {
    const c = at('box');
    c.begin({ name: 'box', command: ['sh'] });
    c.transition('created', self);
    c.transition('running');
    expect(c.status()).toBe('running');
    c.update({ pidStart: '1' }); // the pid was reused
    expect(c.status()).toBe('stopped');
  });

  it('reads a state written before the one vocabulary: diyc-run\'s "exited" is stopped', () => {
    const c = at('old');
    c.begin({ name: 'old', command: ['sh'] });
    c.transition('stopped');
    const file = join(root, 'old', 'state.json');
    const text = readFileSync(file, 'utf8').replace('"stopped"', '"exited"');
    rmSync(file);
    writeFileSync(file, text);
    expect(at('old').state()?.status).toBe('stopped');
  });
});

describe('the stage table', () => {
  const log: string[] = [];
  const stage = (name: string, options: { fail?: boolean; why?: string; removes?: boolean } = {}): Stage => ({
    name,
    package: `@x/${name}`,
    applies: () => true,
    apply(record: ContainerRecord) {
      if (options.fail) throw new Error(`${name} failed`);
      log.push(`apply ${name}`);
      return { ...record, annotations: { ...record.annotations, [name]: 'done' } };
    },
    undo() {
      log.push(`undo ${name}`);
    },
    ...(options.why
      ? {
          why: () => {
            log.push(`why ${name}`);
            return options.why;
          },
        }
      : {}),
    ...(options.removes
      ? {
          remove: () => {
            log.push(`remove ${name}`);
          },
        }
      : {}),
    command: () => ({ bin: name, args: [] }),
  });
  beforeEach(() => {
    log.length = 0;
  });

  it('prepare runs the stages in order, each on the record the one before returned', () => {
    const record = prepare(emptyRecord(['sh']), ctx, [stage('a'), stage('b')]);
    expect(record.annotations).toEqual({ a: 'done', b: 'done' });
    expect(log).toEqual(['apply a', 'apply b']);
  });

  it('prepare undoes what was done, last first, when a stage fails half-way', () => {
    expect(() => prepare(emptyRecord(['sh']), ctx, [stage('a'), stage('b'), stage('c', { fail: true })])).toThrow('c failed');
    expect(log).toEqual(['apply a', 'apply b', 'undo c', 'undo b', 'undo a']);
  });

  it('teardown asks why before undoing anything, undoes last first, and removes only when asked; it names no stage', () => {
    const stages = [stage('a', { removes: true }), stage('b', { why: 'out of memory' }), stage('c')];
    expect(teardown(emptyRecord(['sh']), ctx, {}, stages)).toEqual({ reason: 'out of memory' });
    expect(log).toEqual(['why b', 'undo c', 'undo b', 'undo a']);
    log.length = 0;
    teardown(undefined, ctx, { remove: true }, stages);
    expect(log).toEqual(['why b', 'undo c', 'undo b', 'undo a', 'remove a']);
  });

  it('teardown with why: false asks no stage why (delete keeps no reason), and still undoes and removes', () => {
    const stages = [stage('a', { removes: true }), stage('b', { why: 'out of memory' }), stage('c')];
    expect(teardown(emptyRecord(['sh']), ctx, { remove: true, why: false }, stages)).toEqual({});
    expect(log).toEqual(['undo c', 'undo b', 'undo a', 'remove a']);
  });
});

describe('execCgroupProcs', () => {
  const withCgroup = (cgroupsPath: string, noted?: string): ContainerRecord => {
    const record = emptyRecord();
    record.linux.cgroupsPath = cgroupsPath;
    if (noted !== undefined) record.annotations['org.diyc.cgroup.procs'] = noted;
    return record;
  };
  const scope = '/sys/fs/cgroup/machine.slice/libpod-1.scope/cgroup.procs';
  const manager = (exists: boolean) => (path: string) => ({
    exists: () => exists,
    procsFiles: () => (path === 'machine.slice:libpod:1' ? [scope] : []),
  });

  it('takes the files the cgroup stage noted (cgroupfs: one per hierarchy)', () => {
    expect(execCgroupProcs(withCgroup('/diyc-oci/1', '/a/cgroup.procs:/b/cgroup.procs'), manager(true))).toEqual([
      '/a/cgroup.procs',
      '/b/cgroup.procs',
    ]);
  });

  it('asks the driver when none were noted: a systemd scope starts after the stage, with the first process', () => {
    expect(execCgroupProcs(withCgroup('machine.slice:libpod:1', ''), manager(true))).toEqual([scope]);
    expect(execCgroupProcs(withCgroup('machine.slice:libpod:1'), manager(true))).toEqual([scope]);
  });

  it('enters nothing when there is no cgroup to enter', () => {
    expect(execCgroupProcs(withCgroup('machine.slice:libpod:1', ''), manager(false))).toEqual([]);
    expect(execCgroupProcs(emptyRecord(), manager(true))).toEqual([]);
  });
});
