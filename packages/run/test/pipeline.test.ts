// The pipeline diyc-run prints and runs: made from the core's one stage table.
import { describe, expect, it } from 'vitest';
import { parseArgv } from '@diyc/cli';
import { STAGES } from '@diyc/container';
import { emptyRecord } from '@diyc/record';
import { pipelineStages, runArgs, runOptions } from '../src/index.js';

describe('the pipeline', () => {
  it('is the one table: the pipeline diyc-run prints has a command for each stage that applies', () => {
    const { flags, operands } = parseArgv(['-i', '172.16.0.9', 'box', 'busybox'], runArgs, true);
    const options = runOptions(flags, operands, {});
    const base = emptyRecord(['sh']);
    base.annotations['org.diyc.image'] = 'busybox';
    base.annotations['org.diyc.net.bridge'] = 'diyc0';
    expect(STAGES.map((s) => s.name)).toEqual(['overlay', 'cgroup', 'net']);
    expect(pipelineStages(options, base).map((s) => s.bin)).toEqual(['diyc-run', 'diyc-overlay', 'diyc-cgroup', 'diyc-net']);
    expect(pipelineStages(options, base).map((s) => s.package)).toEqual(['@diyc/run', '@diyc/overlay', '@diyc/cgroup', '@diyc/net']);
  });
});
