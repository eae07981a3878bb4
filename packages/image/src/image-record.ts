// The pipeline record an image gives: the image's name, and its config as the
// container's defaults (command, environment, working directory).
import { ANNOTATION, emptyRecord, setEnv, type ContainerRecord } from '@diyc/record';
import type { Image } from './store.js';

/**
 * Adds the image to `record`: what it does not set yet comes from the image config. The
 * record's args are the command given (replacing Cmd), `entrypoint` an --entrypoint.
 */
export function withImage(image: Image, record: ContainerRecord = emptyRecord(), entrypoint?: string[]): ContainerRecord {
  const next: ContainerRecord = structuredClone(record);
  next.annotations[ANNOTATION.image] = image.name;
  const { Entrypoint = [], Cmd = [], Env, WorkingDir } = image.config;
  // As docker and the OCI image spec: a command given replaces Cmd and runs after the
  // Entrypoint; an entrypoint given replaces the image's and drops its Cmd.
  const command = next.process.args.length > 0 ? next.process.args : entrypoint ? [] : Cmd;
  next.process.args = [...(entrypoint ?? Entrypoint), ...command];
  if (next.process.args.length === 0) next.process.args = ['/bin/sh'];
  // The image's variables replace the record's defaults (PATH among them).
  for (const entry of Env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) next.process.env = setEnv(next.process.env, entry.slice(0, eq), entry.slice(eq + 1));
  }
  if (WorkingDir && next.process.cwd === '/') next.process.cwd = WorkingDir;
  return next;
}
