import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiycError, emptyRecord, hostnameProblem, nameProblem, parseRecord, stageCopy, withLock } from '../src/index.js';

describe('parseRecord', () => {
  it('reads empty input as an empty record, so a stage can start a pipeline', () => {
    expect(parseRecord('').process.args).toEqual([]);
  });

  it('keeps fields it does not know', () => {
    const r = parseRecord('{"process":{"args":["sh"],"env":[],"cwd":"/"},"other":1}') as unknown as Record<string, unknown>;
    expect(r.other).toBe(1);
  });

  it('refuses broken records with a message that names the field', () => {
    expect(() => parseRecord('{')).toThrow(DiycError);
    expect(() => parseRecord('[]')).toThrow('must be a JSON object');
    expect(() => parseRecord('{"process":{"args":"sh"}}')).toThrow('process.args');
    expect(() => parseRecord('{"linux":{"namespaces":[{"type":"users"}]}}')).toThrow('linux.namespaces[0].type must be one of');
    expect(() => parseRecord('{"mounts":[{"destination":"proc"}]}')).toThrow('mounts[0].destination must be an absolute path');
    expect(() =>
      parseRecord('{"process":{"args":["sh"],"env":[],"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","hard":-1,"soft":1}]}}'),
    ).toThrow('process.rlimits[0].hard must be a whole number, 0 or more');
    expect(() => parseRecord('{"linux":{"namespaces":[],"resources":{"devices":[{"allow":true,"access":"rwx"}]}}}')).toThrow(
      'linux.resources.devices[0].access must be made of r, w and m',
    );
    expect(() => parseRecord('{"process":{"args":["sh"],"env":["NOEQUALS"],"cwd":"/"}}')).toThrow('process.env[0] must be KEY=VALUE');
  });
});

describe('names', () => {
  it('accepts hostnames of RFC 1123 labels up to 64 bytes', () => {
    expect(hostnameProblem('box')).toBeNull();
    expect(hostnameProblem('a-b.c9')).toBeNull();
    expect(hostnameProblem('a'.repeat(64))).toBeNull();
    expect(hostnameProblem('a'.repeat(65))).toMatch(/at most 64 bytes/);
    expect(hostnameProblem('-a')).toMatch(/not a valid hostname/);
    expect(hostnameProblem('a..b')).toMatch(/not a valid hostname/);
    expect(hostnameProblem('')).toMatch(/empty/);
  });

  it('refuses container names that could escape a directory or overflow an interface name', () => {
    expect(nameProblem('web-1')).toBeNull();
    expect(nameProblem('..')).not.toBeNull();
    expect(nameProblem('a/b')).not.toBeNull();
    expect(nameProblem('a'.repeat(33))).toMatch(/longer than 32/);
  });
});

describe('rootTag and kernelName', () => {
  it("keep diyC's names for the default root and give every other root its own", async () => {
    const { kernelName, rootTag } = await import('../src/index.js');
    expect(rootTag('/var/lib/diyc')).toBe('');
    expect(kernelName('box', '/var/lib/diyc')).toBe('diyc-box');
    const a = rootTag('/tmp/diyc-root-a');
    const b = rootTag('/tmp/diyc-root-b');
    expect(a).toMatch(/^[0-9a-f]{8}$/);
    expect(b).not.toBe(a);
    expect(kernelName('box', '/tmp/diyc-root-a')).toBe(`diyc-${a}-box`);
    expect(rootTag('/tmp/../tmp/diyc-root-a')).toBe(a);
  });
});

describe('withLock', () => {
  // A pid no process has: above the kernel's largest (pid_max is at most 2^22).
  const DEAD = 4_194_305;

  it('holds a symlink to its pid while fn runs, and leaves nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-lock-'));
    try {
      const path = join(dir, 'box.lock');
      const seen = withLock(path, () => readlinkSync(path));
      expect(seen).toBe(String(process.pid));
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes over a dead holder's lock, of either form; waits for a live one until its time is up", () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-lock-'));
    try {
      const path = join(dir, 'box.lock');
      symlinkSync(String(DEAD), path);
      expect(withLock(path, () => 'taken')).toBe('taken');
      // The older form: a directory holding the pid.
      mkdirSync(path);
      writeFileSync(join(path, 'pid'), String(DEAD));
      expect(withLock(path, () => 'taken')).toBe('taken');
      expect(readdirSync(dir)).toEqual([]);
      symlinkSync(String(process.pid), path);
      expect(() => withLock(path, () => 'never', 50)).toThrow(`held by pid ${process.pid}`);
      expect(readlinkSync(path)).toBe(String(process.pid));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes over a dead holder's lock only under the take-over lock PATH~, so two that saw it dead do not both hold it", () => {
    const dir = mkdtempSync(join(tmpdir(), 'diyc-lock-'));
    try {
      const path = join(dir, 'box.lock');
      symlinkSync(String(DEAD), path);
      // Another process (alive: this one) is taking it over: wait for it, never remove the lock.
      symlinkSync(String(process.pid), `${path}~`);
      expect(() => withLock(path, () => 'never', 50)).toThrow(`held by pid ${DEAD}`);
      expect(readlinkSync(path)).toBe(String(DEAD));
      // A taker that was killed while taking it over: its PATH~ goes too.
      rmSync(`${path}~`);
      symlinkSync(String(DEAD), `${path}~`);
      expect(withLock(path, () => 'taken')).toBe('taken');
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('stageCopy', () => {
  it('gives a stage a record whose fields, process, linux, root and annotations it may set without changing the one it was given', () => {
    const record = { ...emptyRecord(), root: { path: '/before' } };
    const before = structuredClone(record);
    const next = stageCopy(record);
    next.hostname = 'h';
    next.process.user = { uid: 1, gid: 1 };
    next.process.env = ['A=1'];
    next.linux.cgroupsPath = '/x';
    next.linux.namespaces = [{ type: 'mount' }];
    next.annotations['org.example'] = 'y';
    if (next.root) next.root.path = '/after';
    expect(record).toEqual(before);
    expect(next.root?.path).toBe('/after');
  });
});
