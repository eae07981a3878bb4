// diyc-run's containers in the core's terms: where they live under the state root, and the
// runtime they run in (diyC's policy: they keep their files and can run again).
import { writeErr } from '@diyc/cli';
import { Container, RUN_POLICY, type Runtime } from '@diyc/container';
import { containerDir, runDir, stateRoot, type Trace } from '@diyc/record';
import { join } from 'node:path';

/** Container NAME under the state root (the name is checked: never `../x`). */
export function containerAt(name: string, root: string = stateRoot()): Container {
  return new Container(name, containerDir(name, root));
}

/** The runtime of container NAME, with warnings to stderr as `tool: ...`. */
export function runtimeFor(name: string, trace: Trace, root: string = stateRoot(), tool = 'diyc-run'): Runtime {
  return {
    name,
    root,
    trace,
    policy: RUN_POLICY,
    strict: RUN_POLICY.strict,
    seccompCache: join(runDir(root), 'seccomp'),
    warn: (m) => writeErr(`${tool}: ${m}\n`),
  };
}
