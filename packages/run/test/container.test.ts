// The stage table's walk and the Container object: pure logic on a temporary directory.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { noTrace } from '@diyc/cli';
import { emptyRecord, type ContainerRecord, type Stage } from '@diyc/record';
import { Container, pipelineStages, prepare, processStart, runArgs, runOptions, STAGES } from '../src/index.js';
import { parseArgv } from '@diyc/cli';

const ctx = { name: 'box', root: '/r', trace: noTrace, warn: () => {} };

describe('prepare', () => {
  const log: string[] = [];
  const stage = (name: string, fail = false): Stage => ({
    name,
    applies: () => true,
    apply(record: ContainerRecord) {
      if (fail) throw new Error(`${name} failed`);
      log.push(`apply ${name}`);
      return { ...record, annotations: { ...record.annotations, [name]: 'done' } };
    },
    undo() { log.push(`undo ${name}`); },
    command: () => ({ bin: name, args: [] }),
  });
  beforeEach(() => { log.length = 0; });

  it('runs the stages in order, each on the record the one before returned', () => {
    const record = prepare(emptyRecord(['sh']), ctx, [stage('a'), stage('b')]);
    expect(record.annotations).toEqual({ a: 'done', b: 'done' });
    expect(log).toEqual(['apply a', 'apply b']);
  });

  it('undoes what was done, last first, when a stage fails half-way', () => {
    expect(() => prepare(emptyRecord(['sh']), ctx, [stage('a'), stage('b'), stage('c', true)])).toThrow('c failed');
    expect(log).toEqual(['apply a', 'apply b', 'undo c', 'undo b', 'undo a']);
  });

  it('is the one table: the pipeline diyc-run prints has a command for each stage that applies', () => {
    const { flags, operands } = parseArgv(['-i', '172.16.0.9', 'box', 'busybox'], runArgs, true);
    const options = runOptions(flags, operands, {});
    const base = emptyRecord(['sh']);
    base.annotations['org.diyc.image'] = 'busybox';
    base.annotations['org.diyc.net.bridge'] = 'diyc0';
    expect(STAGES.map((s) => s.name)).toEqual(['overlay', 'cgroup', 'net']);
    expect(pipelineStages(options, base).map((s) => s.bin)).toEqual(['diyc-run', 'diyc-overlay', 'diyc-cgroup', 'diyc-net']);
  });
});

describe('Container', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'diyc-container-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('keeps its state and record, read once, written whole', () => {
    const c = Container.at('box', root);
    expect(c.exists()).toBe(false);
    c.saveRecord(emptyRecord(['sh']));
    c.save({ name: 'box', status: 'running', command: ['sh'], pid: process.pid, pidStart: processStart(process.pid) as string });
    const again = Container.at('box', root);
    expect(again.state()?.status).toBe('running');
    expect(again.record()?.process.args).toEqual(['sh']);
    // A state read once is not read again until refresh().
    c.save({ ...(c.state() as NonNullable<ReturnType<Container['state']>>), status: 'exited' });
    expect(again.state()?.status).toBe('running');
    expect(again.refresh().state()?.status).toBe('exited');
    expect(JSON.parse(readFileSync(join(root, 'containers', 'box', 'state.json'), 'utf8')).status).toBe('exited');
  });

  it('is running only while its process is the same one', () => {
    const c = Container.at('box', root);
    c.save({ name: 'box', status: 'running', command: ['sh'], pid: process.pid, pidStart: processStart(process.pid) as string });
    expect(c.isRunning()).toBe(true);
    c.save({ ...(c.state() as NonNullable<ReturnType<Container['state']>>), pidStart: '1' }); // the pid was reused
    expect(c.isRunning()).toBe(false);
  });

  it('refuses a name that would leave the state root', () => {
    expect(() => Container.at('../other', root)).toThrow('may hold only letters');
  });
});
