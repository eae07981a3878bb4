// `events ID`: a container's statistics and OOM events, one JSON object a line, as runc
// prints them (events.go):
//
//   {"type":"stats","id":"ID","data":{...}}   every --interval (default 5s), or once with --stats
//   {"type":"oom","id":"ID"}                  each time its memory cgroup runs out of memory
//
// and exits 0 once the container's cgroup is gone (`delete`). runc learns of an OOM from an
// eventfd registered on memory.oom_control (v1) or an inotify watch on memory.events (v2);
// Node has no eventfd(2), so diyc-oci reads the same counter (v1's oom_kill, v2's oom) every
// 100 ms, which is also how it sees the cgroup go.
import { managerForPath } from '@diyc/cgroup';
import { writeOut } from '@diyc/cli';
import { ANNOTATION, DiycError } from '@diyc/record';
import type { OciContext } from './cli.js';
import { existingContainer } from './containers.js';
import { cgroupDirs, containerStats, goJson, oomCount, type CgroupDirs } from './stats.js';

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration ("5s", "100ms", "1m30s", "1.5h"), in milliseconds. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  // \u00b5 and \u03bc are the two mu signs Go takes: a bin's bundle is ASCII (tools/bundle-bin.mjs).
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$/.exec(text);
  if (!m) throw new DiycError('usage', `invalid value "${text}" for flag -interval: parse error`);
  let ns = 0;
  for (const part of text.replace(/^[-+]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g))
    ns += Number(part[1]) * (UNIT_NS[part[2] as string] as number);
  return (m[1] === '-' ? -ns : ns) / 1e6;
}

const POLL_MS = 100;

function statsLine(id: string, dirs: CgroupDirs): string {
  return `${goJson({ type: 'stats', id, data: containerStats(dirs) })}\n`;
}

export async function eventsCommand(ctx: OciContext, id: string, options: { interval: string; stats: boolean }): Promise<void> {
  const container = existingContainer(ctx.root, id);
  const interval = parseDuration(options.interval);
  if (interval <= 0) throw new DiycError('usage', 'duration interval must be greater than 0');
  if (container.status() === 'stopped') throw new DiycError('state', `container with id ${id} is not running`);
  const record = container.record();
  const path = record?.linux.cgroupsPath;
  const procs =
    record?.annotations[ANNOTATION.cgroupProcs]?.split(':').filter(Boolean) ?? (path ? managerForPath(path).procsFiles(path) : []);
  const dirs = cgroupDirs(procs);
  if (options.stats) {
    writeOut(statsLine(id, dirs));
    return;
  }
  let seen = oomCount(dirs);
  await new Promise<void>((resolve) => {
    const stats = setInterval(() => writeOut(statsLine(id, dirs)), interval);
    const poll = setInterval(() => {
      const now = oomCount(dirs);
      if (now === undefined) {
        // The cgroup is gone (the container was deleted): the stream ends.
        clearInterval(stats);
        clearInterval(poll);
        resolve();
        return;
      }
      for (let n = seen ?? now; n < now; n++) writeOut(`${goJson({ type: 'oom', id })}\n`);
      seen = now;
    }, POLL_MS);
  });
}
