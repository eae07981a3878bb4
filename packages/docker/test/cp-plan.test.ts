// docker cp's rules for SRC and DEST (archive.PrepareArchiveCopy), and which operand names a container.
import { describe, expect, it } from 'vitest';
import { absoluteLocal, containerPath, cpDirection, planCopy, splitCpArg, splitPathDirEntry } from '../src/cp-plan.js';

const file = (path: string) => ({ path, isDir: false });
const dir = (path: string) => ({ path, isDir: true });
const missing = (path: string) => ({ path, exists: false, isDir: false });
const existingFile = (path: string) => ({ path, exists: true, isDir: false });
const existingDir = (path: string) => ({ path, exists: true, isDir: true });

describe('splitCpArg and cpDirection', () => {
  it('reads CONTAINER:PATH, and an absolute path or ./a:b as a local one', () => {
    expect(splitCpArg('web:/etc/hostname')).toEqual({ container: 'web', path: '/etc/hostname' });
    expect(splitCpArg('/tmp/a:b')).toEqual({ path: '/tmp/a:b' });
    expect(splitCpArg('./a:b')).toEqual({ path: './a:b' });
    expect(splitCpArg('notes.txt')).toEqual({ path: 'notes.txt' });
    expect(splitCpArg('web:tmp')).toEqual({ container: 'web', path: 'tmp' });
  });

  it('takes exactly one container side, with docker words for the others', () => {
    expect(cpDirection('web:/etc/hostname', '.')).toEqual({ from: 'container', container: 'web', src: '/etc/hostname', dest: '.' });
    expect(cpDirection('-', 'web:/tmp')).toEqual({ from: 'host', container: 'web', src: '-', dest: '/tmp' });
    expect(() => cpDirection('a', 'b')).toThrow('must specify at least one container source');
    expect(() => cpDirection('a:/x', 'b:/y')).toThrow('copying between containers is not supported');
    expect(() => cpDirection('a:', 'b')).toThrow('source can not be empty');
    expect(() => cpDirection('a', 'b:')).toThrow('destination can not be empty');
  });

  it('makes local paths absolute keeping a trailing / or /., and container paths relative to its root', () => {
    expect(absoluteLocal('out', '/home/u')).toBe('/home/u/out');
    expect(absoluteLocal('out/', '/home/u')).toBe('/home/u/out/');
    expect(absoluteLocal('src/.', '/home/u')).toBe('/home/u/src/.');
    expect(absoluteLocal('.', '/home/u')).toBe('/home/u/.');
    expect(absoluteLocal('-', '/home/u')).toBe('-');
    expect(containerPath('tmp/x')).toBe('/tmp/x');
    expect(containerPath('/tmp/x')).toBe('/tmp/x');
  });
});

describe('splitPathDirEntry', () => {
  it('keeps /. as the name "." (the contents), and the root as its contents', () => {
    expect(splitPathDirEntry('/a/b')).toEqual({ dir: '/a', base: 'b' });
    expect(splitPathDirEntry('/a/b/')).toEqual({ dir: '/a', base: 'b' });
    expect(splitPathDirEntry('/a/b/.')).toEqual({ dir: '/a/b', base: '.' });
    expect(splitPathDirEntry('/')).toEqual({ dir: '/', base: '.' });
  });
});

describe('planCopy: where docker puts SRC', () => {
  it('a file: to a new DEST, over a file DEST, into a directory DEST', () => {
    expect(planCopy(file('/etc/hostname'), missing('/tmp/h'))).toEqual({ dir: '/tmp', name: 'h' });
    expect(planCopy(file('/etc/hostname'), existingFile('/tmp/h'))).toEqual({ dir: '/tmp', name: 'h' });
    expect(planCopy(file('/etc/hostname'), existingDir('/tmp'))).toEqual({ dir: '/tmp', name: 'hostname' });
    expect(planCopy(file('/etc/hostname'), existingDir('/tmp/'))).toEqual({ dir: '/tmp', name: 'hostname' });
  });

  it('a file to DEST/ that does not exist: "no such directory"', () => {
    expect(() => planCopy(file('/etc/hostname'), missing('/tmp/new/'))).toThrow(/^no such directory$/);
  });

  it('a directory: made as a new DEST, into a directory DEST, its contents with SRC/.', () => {
    expect(planCopy(dir('/var/log'), missing('/tmp/logs'))).toEqual({ dir: '/tmp', name: 'logs' });
    expect(planCopy(dir('/var/log'), missing('/tmp/logs/'))).toEqual({ dir: '/tmp', name: 'logs' });
    expect(planCopy(dir('/var/log'), existingDir('/tmp'))).toEqual({ dir: '/tmp', name: 'log' });
    expect(planCopy(dir('/var/log/.'), existingDir('/tmp'))).toEqual({ dir: '/tmp', name: '' });
    expect(planCopy(dir('/var/log/.'), missing('/tmp/logs'))).toEqual({ dir: '/tmp', name: 'logs' });
  });

  it('a directory over a file: "cannot copy directory"', () => {
    expect(() => planCopy(dir('/var/log'), existingFile('/tmp/f'))).toThrow(/^cannot copy directory$/);
  });
});
