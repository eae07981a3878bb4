// rename: a stopped container's new name. Its directory is named for it, and so, once it
// runs, are its cgroup, its network namespace and its veth: a stopped container holds
// none of those (teardown undid them), so a rename moves its directory (its own files,
// its log, its record) and writes the new name into its state and record. A running one
// is refused: its supervisor and exit command know it by its directory.
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ANNOTATION, DiycError, nameProblem, parseRecord } from '@diyc/record';
import { Container } from './container.js';

/** Renames stopped container `container` to `name`; the container under its new name. */
export function renameContainer(container: Container, name: string): Container {
  const problem = nameProblem(name);
  if (problem) throw new DiycError('usage', problem);
  if (name === container.name) throw new DiycError('usage', `renaming a container with the same name as its current name: ${name}`);
  const target = new Container(name, join(dirname(container.dir), name));
  // Both locks, always in the order of the names: two renames the other way round cannot
  // each hold one and wait for the other.
  const [first, second] = container.name < target.name ? [container, target] : [target, container];
  first.locked(() =>
    second.locked(() => {
      if (target.exists() || existsSync(target.dir))
        throw new DiycError('exists', `the name "${name}" is already in use: remove that container first, or choose another name`);
      const status = container.refresh().status();
      if (status !== 'stopped') throw new DiycError('state', `cannot rename container ${container.name}: it is ${status}: stop it first`);
      renameSync(container.dir, target.dir);
      target.refresh().update({ name });
      if (existsSync(target.configPath)) {
        const record = parseRecord(readFileSync(target.configPath, 'utf8'));
        record.annotations[ANNOTATION.name] = name;
        // The last run's root (its overlay's mount point) was in the old directory.
        const root = record.root;
        if (root?.path.startsWith(`${container.dir}/`)) root.path = join(target.dir, root.path.slice(container.dir.length + 1));
        target.saveRecord(record);
      }
    }),
  );
  rmSync(container.lockPath, { force: true });
  return target.refresh();
}
