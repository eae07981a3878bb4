// What a container's health check may cost the host, bounded as docker bounds it: a check
// that outlives --health-timeout is killed (not left running in the container, one more at
// every interval), and a duration under 1ms is refused (a 1ns interval would exec checks
// back to back for as long as the container runs).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { busyboxTarball, isRoot, rootReason, runBin, tempDir } from './helpers.js';

describe.skipIf(!isRoot)(`diyc health checks within bounds (${rootReason})`, () => {
  const work = tempDir('diyc-health-e2e-');
  const parent = `diyc-e2e-health-${process.pid}`;
  const env = { ...process.env, DIYC_ROOT: join(work.path, 'state'), DIYC_CGROUP_PARENT: parent };
  const diyc = (args: string[]) => runBin('diyc', args, { env, timeoutMs: 60_000 });
  const cgroups = createCgroupManager({ parent });
  const name = `hl-${process.pid}`;

  beforeAll(async () => {
    expect((await runBin('diyc-image', ['unpack', busyboxTarball()], { env })).code).toBe(0);
  });

  afterAll(async () => {
    await diyc(['rm', '-f', name, `${name}-1ns`]);
    for (const n of cgroups.list()) cgroups.remove(cgroups.pathOf(n), { force: true });
    cgroups.pruneParent();
    work.remove();
  });

  it('kills a check past its timeout: no check command is left running in the container', async () => {
    const r = await diyc([
      'run',
      '-d',
      '--name',
      name,
      '--net',
      'none',
      '--pull',
      'never',
      '--health-cmd',
      'sleep 300',
      '--health-timeout',
      '300ms',
      '--health-interval',
      '300ms',
      'busybox',
      'sleep',
      '300',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const timedOut = async (): Promise<number> => {
      const out = await diyc(['inspect', '-f', '{{json .State.Health}}', name]);
      const health = JSON.parse(out.stdout) as { Log: { Output: string }[] } | null;
      return (health?.Log ?? []).filter((l) => /exceeded timeout/.test(l.Output)).length;
    };
    for (let i = 0; i < 100 && (await timedOut()) < 4; i++) await new Promise((done) => setTimeout(done, 200));
    expect(await timedOut()).toBeGreaterThanOrEqual(4);
    // The container's own `sleep 300`, and at most the check running now: none of the ones before it.
    const sleeps = (await diyc(['exec', name, 'ps', '-o', 'pid,args'])).stdout.split('\n').filter((l) => /^\s*\d+ sleep 300$/.test(l));
    expect(sleeps.length, sleeps.join('\n')).toBeLessThanOrEqual(2);
  });

  it('refuses --health-interval 1ns as docker does: under 1ms', async () => {
    const r = await diyc([
      'create',
      '--name',
      `${name}-1ns`,
      '--pull',
      'never',
      '--health-cmd',
      'true',
      '--health-interval',
      '1ns',
      'busybox',
    ]);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^diyc create: Interval in Healthcheck cannot be less than 1ms\n/);
  });
});
