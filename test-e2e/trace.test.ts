// `diyc-run --trace FILE` and `-v`: the run as Chrome trace-event JSON (what Perfetto opens)
// holds every step, the host's and the container process's own, and -v prints each timed
// step with its duration.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { busyboxTarball, isRoot, rootReason, runBin, tempDir } from './helpers.js';

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  ts?: number;
  dur?: number;
  args?: { name: string };
}

describe.skipIf(!isRoot)(`diyc-run --trace (${rootReason})`, () => {
  const work = tempDir('diyc-trace-');
  const parent = `diyc-e2e-trace-${process.pid}`;
  const env = { ...process.env, DIYC_ROOT: join(work.path, 'state'), DIYC_CGROUP_PARENT: parent };

  beforeAll(async () => {
    expect((await runBin('diyc-image', ['unpack', busyboxTarball(), '--name', 'busybox'], { env })).code).toBe(0);
  });
  afterAll(() => {
    createCgroupManager({ parent }).pruneParent();
    work.remove();
  });

  it("writes a valid trace with the host's stages, create, start, teardown and the child's steps to execve, each on its process's track", async () => {
    const file = join(work.path, 'run.json');
    const r = await runBin('diyc-run', ['--rm', '--net', 'none', '--trace', file, 'traced', 'busybox', 'true'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(''); // --trace alone prints nothing
    const { traceEvents } = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: TraceEvent[] };
    const tracks = new Map(traceEvents.filter((e) => e.ph === 'M').map((e) => [e.pid, e.args?.name ?? '']));
    expect([...tracks.values()]).toEqual([expect.stringMatching(/^diyc-run \(pid \d+\)$/), 'container process']);
    const [host, child] = [...tracks.keys()];
    const slices = (pid: number | undefined) => traceEvents.filter((e) => e.ph === 'X' && e.pid === pid);
    for (const e of slices(host).concat(slices(child))) {
      expect(e.ts, e.name).toBeGreaterThan(0);
      expect(e.dur, e.name).toBeGreaterThanOrEqual(0);
    }
    expect(slices(host).map((e) => e.name)).toEqual(
      expect.arrayContaining([
        'stage overlay',
        'stage cgroup',
        'the child: clone to ready',
        'create',
        'start',
        'run and finish',
        'teardown: undo cgroup',
        'teardown: undo overlay',
        'teardown: remove overlay',
      ]),
    );
    const steps = slices(child).map((e) => e.name.replace(/ \d+$/, ''));
    for (const step of ['dumpable', 'cgroup', 'sethostname', 'mount', 'pivot_root', 'seccomp', 'capabilities', 'umask'])
      expect(steps, step).toContain(step);
    // The child's steps lie inside the host's wait for them, on the same clock.
    const ready = slices(host).find((e) => e.name === 'the child: clone to ready') as Required<TraceEvent>;
    const pivot = slices(child).find((e) => e.name.startsWith('pivot_root')) as Required<TraceEvent>;
    expect(pivot.ts).toBeGreaterThanOrEqual(ready.ts);
    expect(pivot.ts).toBeLessThanOrEqual(ready.ts + ready.dur);
  });

  it("diyc-oci --trace FILE: the same tracks for an engine's run of a bundle", async () => {
    const dir = join(work.path, 'bundle');
    mkdirSync(join(dir, 'rootfs'), { recursive: true });
    execFileSync('tar', ['-xpf', busyboxTarball(), '-C', join(dir, 'rootfs')]);
    expect((await runBin('diyc-oci', ['spec', '--no-terminal', '--bundle', dir])).code).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    config.process.args = ['true'];
    config.linux.cgroupsPath = `/${parent}/ocitraced`;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const file = join(work.path, 'oci.json');
    const r = await runBin('diyc-oci', ['--root', join(work.path, 'oci'), '--trace', file, 'run', '--bundle', dir, 'ocitraced'], { env });
    expect(r.code, r.stderr).toBe(0);
    const { traceEvents } = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: TraceEvent[] };
    const names = traceEvents.filter((e) => e.ph === 'X').map((e) => e.name.replace(/ \d+$/, ''));
    for (const step of ['stage cgroup', 'the child: clone to ready', 'teardown: undo cgroup', 'pivot_root', 'capabilities'])
      expect(names, step).toContain(step);
  });

  it("-v prints each timed step with its duration, the container's too", async () => {
    const r = await runBin('diyc-run', ['--rm', '--net', 'none', '-v', 'verbose', 'busybox', 'true'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^HOST\| stage overlay: \d+\.\d ms$/m);
    expect(r.stderr).toMatch(/^CONTAINER\| pivot_root \d+: \d+\.\d ms$/m);
    expect(r.stderr).toMatch(/^HOST\| teardown: undo overlay: \d+\.\d ms$/m);
  });
});
