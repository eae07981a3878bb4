// The stages of a container, run in this process (the default): overlay, cgroup, net.
// Each adds its part to the record; a failure half-way undoes what was done. teardown
// is the inverse of them all, idempotent, and safe on a half-prepared container.
import { createCgroupManager, cgroupStage, deathReason, type CgroupManager } from '@diyc/cgroup';
import type { Trace } from '@diyc/cli';
import { detach, netConfig, netStage } from '@diyc/net';
import { overlayStage, removeRootfs, umountRootfs } from '@diyc/overlay';
import { ANNOTATION, stateRoot, type ContainerRecord } from '@diyc/record';
import type { RunOptions } from './options.js';

export interface StageContext {
  root: string;
  trace: Trace;
  cgroups: CgroupManager;
  /** Where a warning goes (a limit not applied). */
  warn: (message: string) => void;
}

export function stageContext(trace: Trace, root: string = stateRoot()): StageContext {
  return { root, trace, cgroups: createCgroupManager(), warn: (m) => process.stderr.write(`diyc-run: ${m}\n`) };
}

/** overlay -> cgroup -> net, in this process. */
export function prepareContainer(options: RunOptions, base: ContainerRecord, ctx: StageContext): ContainerRecord {
  const undo: (() => void)[] = [];
  const { name } = options;
  try {
    let record = overlayStage(base, name, { image: options.image, root: ctx.root });
    undo.push(() => umountRootfs(name, { root: ctx.root }));
    ctx.trace(`overlay: ${record.root?.path} (image ${options.image})`);

    const cg = cgroupStage(record, name, options.limits, ctx.cgroups);
    undo.push(() => ctx.cgroups.remove(name, { force: true }));
    record = cg.record;
    for (const skipped of cg.applied.skipped) ctx.warn(`not applied: ${skipped}`);
    ctx.trace(`cgroup: ${record.linux.cgroupsPath}${cg.applied.applied.length ? ` (${cg.applied.applied.join(', ')})` : ''}`);

    if (options.net === 'bridge') {
      const net = netStage(record, options.netConfig, name, { ...(options.ip !== undefined ? { ip: options.ip } : {}), publish: options.publish, root: ctx.root });
      undo.push(() => detach(options.netConfig, name, { root: ctx.root }));
      record = net.record;
      ctx.trace(`net: ${net.attachment.ip}/${net.attachment.prefix} on ${options.netConfig.bridge}, netns ${net.attachment.netns}, host end ${net.attachment.hostInterface}`);
    }
    return record;
  } catch (err) {
    for (const fn of undo.reverse()) {
      try { fn(); } catch { /* keep unwinding: the first error is the one to report */ }
    }
    throw err;
  }
}

export interface TeardownResult {
  /** Why it died, read from the cgroup before it was removed. */
  reason?: string;
}

/**
 * Runs every stage's inverse: kill what is left in the cgroup and remove it, detach
 * the network, unmount the root filesystem (and remove the container's layer with
 * `remove`). Each step is idempotent; a failing one does not stop the others.
 */
export function teardown(name: string, record: ContainerRecord | undefined, ctx: StageContext, options: { remove?: boolean; signal?: number | null } = {}): TeardownResult {
  const result: TeardownResult = {};
  const errors: Error[] = [];
  const step = (what: string, fn: () => void): void => {
    try {
      fn();
      ctx.trace(`teardown: ${what}`);
    } catch (err) {
      errors.push(new Error(`${what}: ${(err as Error).message}`));
    }
  };
  step('read why it ended', () => {
    if (ctx.cgroups.exists(name)) {
      const reason = deathReason(ctx.cgroups.stats(name), options.signal ?? null);
      if (reason) result.reason = reason;
    }
  });
  step('remove cgroup', () => ctx.cgroups.remove(name, { force: true }));
  const bridge = record?.annotations[ANNOTATION.bridge];
  if (bridge !== undefined) step('detach network', () => detach(netConfig({ bridge }), name, { root: ctx.root }));
  step(options.remove ? 'remove rootfs' : 'unmount rootfs', () => (options.remove ? removeRootfs(name, { root: ctx.root }) : umountRootfs(name, { root: ctx.root })));
  if (errors.length > 0) throw new Error(`cleaning up ${name} failed: ${errors.map((e) => e.message).join('; ')}`);
  return result;
}
