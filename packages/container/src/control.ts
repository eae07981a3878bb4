// pause, resume and update: a running container's cgroup frozen, thawed, or given new limits.
import { managerForPath } from '@diyc/cgroup';
import { DiycError, type Resources } from '@diyc/record';
import type { Container } from './container.js';
import { canPause, canResume } from './status.js';

function cgroupOf(container: Container): string {
  const path = container.record()?.linux.cgroupsPath;
  if (!path) throw new DiycError('state', `container ${container.name} has no cgroup`);
  return path;
}

/** `pause`: the freezer stops every process of the container; `resume` lets them go on. */
export function pause(container: Container, paused: boolean): void {
  const status = container.status();
  if (paused && !canPause(status))
    throw new DiycError('state', `container ${container.name} is ${status}: only a running container can be paused`);
  if (!paused && !canResume(status)) throw new DiycError('state', `container ${container.name} is ${status}, not paused`);
  container.locked(() => {
    const path = cgroupOf(container);
    managerForPath(path).freeze(path, paused);
    // The freezer may have been set by hand: the status written follows it.
    const to = paused ? 'paused' : 'running';
    if (container.refresh().state()?.status !== to) container.transition(to);
  });
}

/** `update`: new limits on a container's cgroup; what the machine cannot apply is an error, named. */
export function update(container: Container, resources: Resources): void {
  if (container.status() === 'stopped') throw new DiycError('state', `container ${container.name} is stopped: container not running`);
  container.locked(() => {
    const record = container.refresh().record();
    if (!record) throw new DiycError('state', `container ${container.name} has no record`);
    const path = cgroupOf(container);
    const { skipped } = managerForPath(path).apply(path, resources);
    if (skipped.length > 0) throw new DiycError('unsupported', `cannot apply: ${skipped.join('; ')}`);
    record.linux.resources = { ...record.linux.resources, ...resources };
    container.saveRecord(record);
  });
}
