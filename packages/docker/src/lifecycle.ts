// A container's life as docker gives it, over the core (@diyc/container):
//
//   make      (create, run)  the name (given or made up) and ID, the image pulled if it is
//             missing, volumes made, free host ports chosen, the base record from the
//             spec, docker.json written; `create` stops there (docker's Created)
//   start     detached: runDetached under diyc-shim, whose exit command is `diyc --reap
//             NAME`; in the foreground: runForeground, stdio proxied, a pty with -t
//   reap      the exit command: the exit recorded and the stages undone (the core's
//             reap), then the restart policy asked; a restart waits its delay and starts
//             the container again, with the same exit command: no daemon
//   stop      marks it stopped by the user (no restart), then the core's stop
//   remove    the core's remove, and the anonymous volumes with -v or --rm
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { parseSignal, writeErr } from '@diyc/cli';
import {
  baseRecord,
  newContainerId,
  processStart,
  reap,
  remove,
  runDetached,
  runForeground,
  sameProcess,
  stop,
  type Container,
  type ContainerSpec,
  type Volume,
} from '@diyc/container';
import { imageId, ImageStore } from '@diyc/image';
import { describeConfig, ensureNetwork, expandPublish, formatPublish, netConfig, type Publish } from '@diyc/net';
import { ANNOTATION, DiycError, stateRoot, type Trace } from '@diyc/record';
import { allContainers, containerAt, idOf, readMeta, runtimeFor, updateMeta, writeMeta, type DockerMeta } from './containers.js';
import { ensureImage, familiar, fullReference, findImage } from './images.js';
import { generateName } from './names.js';
import { resolveHealthcheck } from './health.js';
import { ForegroundLog } from './foreground-log.js';
import { hostStdio } from './host-stdio.js';
import { endHealthMonitor, spawnHealthMonitor } from './health-monitor.js';
import { restartDelay, shouldRestart } from './restart.js';
import type { PortFlag, RunRequest } from './run-options.js';
import { createVolume, removeVolume, volumeData } from './volumes.js';
import { net } from './lazy-builtins.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The bridge a container joins, made on first use as docker makes docker0, said once. */
export function ensureBridge(root: string): void {
  const config = netConfig({}, process.env);
  if (ensureNetwork(config, { root }).changed)
    writeErr(`diyc: set up the bridge ${describeConfig(config)}, with NAT to the outside (\`diyc-net clean\` removes it)\n`);
}

/** A host port nothing listens on and no container of this root publishes: the kernel's choice, checked. */
async function freePort(hostIp: string | undefined, taken: Set<number>): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net().createServer();
      server.once('error', reject);
      server.listen(0, hostIp ?? '0.0.0.0', () => {
        const { port: p } = server.address() as { port: number };
        server.close(() => resolve(p));
      });
    });
    if (!taken.has(port)) return port;
  }
  throw new DiycError('system', 'no free host port found for a -p without one: give one (-p HOST:PORT)');
}

/** The -p flags as publications, a free host port chosen for those that name none. */
export async function resolvePorts(flags: PortFlag[], root: string): Promise<Publish[]> {
  const taken = new Set(
    allContainers(root)
      .flatMap(({ state }) => state.ports ?? [])
      .flatMap((p) => {
        const m = /(?:^|:)(\d+)(?:-(\d+))?:\d/.exec(p);
        if (!m) return [];
        const first = Number(m[1]);
        return Array.from({ length: m[2] ? Number(m[2]) - first + 1 : 1 }, (_, i) => first + i);
      }),
  );
  const out: Publish[] = [];
  for (const flag of flags) {
    if ('publish' in flag) {
      out.push(flag.publish);
      for (const p of expandPublish(flag.publish)) taken.add(p.hostPort);
      continue;
    }
    const { hostIp, containerPort, protocol } = flag.random;
    const hostPort = await freePort(hostIp, taken);
    taken.add(hostPort);
    out.push({ ...(hostIp !== undefined ? { hostIp } : {}), hostPort, containerPort, protocol });
  }
  return out;
}

/** The mounts as the spec takes them: named volumes made when missing, anonymous ones made; host paths made for -v. */
function volumesOf(request: RunRequest, root: string): { volumes: Volume[]; tmpfs: ContainerSpec['tmpfs']; anonymous: string[] } {
  const volumes: Volume[] = [];
  const tmpfs: ContainerSpec['tmpfs'] = [];
  const anonymous: string[] = [];
  for (const m of request.mounts) {
    if (m.type === 'tmpfs') {
      tmpfs.push({ path: m.target, options: m.options });
    } else if (m.type === 'bind') {
      if (!existsOrMade(m.source, m.create))
        throw new DiycError('invalid', `invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
      volumes.push({ host: m.source, container: m.target, readonly: m.readonly });
    } else {
      const name = m.name ?? newContainerId();
      createVolume(name, { root, ...(m.name === undefined ? { anonymous: true } : {}) });
      if (m.name === undefined) anonymous.push(name);
      volumes.push({ host: volumeData(name, root), container: m.target, readonly: m.readonly });
    }
  }
  return { volumes, tmpfs, anonymous };
}

function existsOrMade(path: string, create: boolean): boolean {
  // docker makes a missing host path of -v as a directory (--mount refuses it).
  if (existsSync(path)) return true;
  if (!create) return false;
  mkdirSync(path, { recursive: true });
  return true;
}

/** What `run` and `create` make: the container's directory, its base record and docker.json. */
export interface Made {
  container: Container;
  meta: DockerMeta;
  id: string;
}

/**
 * Makes the container `request` asks for, without starting it: the image found or pulled,
 * a name, volumes, host ports, the base record; its state is stopped and never started
 * (docker's Created) until start.
 */
export async function makeContainer(request: RunRequest, root: string = stateRoot()): Promise<Made> {
  const taken = new Set(allContainers(root).map(({ state }) => state.name));
  const name = request.name ?? generateName(taken);
  const container = containerAt(name, root);
  if (container.exists()) {
    const state = container.state();
    throw new DiycError(
      'exists',
      `Conflict. The container name "/${name}" is already in use by container "${state ? idOf(state) : name}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
  }
  const store = new ImageStore(root);
  const found = await ensureImage(store, request.image, request.pull, {
    quiet: request.quiet,
    ...(request.platform !== undefined ? { platform: request.platform } : {}),
  });
  const healthcheck = resolveHealthcheck(found.image.config.Healthcheck, request.health);
  const id = newContainerId();
  const { volumes, tmpfs, anonymous } = volumesOf(request, root);
  const publish = await resolvePorts(request.ports, root);
  const spec: ContainerSpec = {
    name,
    hostname: request.hostname ?? id.slice(0, 12),
    image: found.name,
    command: request.command,
    ...(request.entrypoint !== undefined ? { entrypoint: request.entrypoint } : {}),
    net: request.net,
    netConfig: netConfig({}, process.env),
    ...(request.ip !== undefined ? { ip: request.ip } : {}),
    publish,
    resources: request.resources,
    env: request.env,
    fileEnv: request.fileEnv,
    ...(request.workdir !== undefined ? { workdir: request.workdir } : {}),
    readOnly: request.readOnly,
    ulimits: request.ulimits,
    sysctls: request.sysctls,
    security: request.security,
    ...(request.user !== undefined ? { user: request.user } : {}),
    volumes,
    tmpfs,
    init: request.init,
    dns: request.dns,
  };
  const record = baseRecord(spec, found.image, request.tty);
  if (request.stopSignal !== undefined) record.annotations[ANNOTATION.stopSignal] = request.stopSignal;
  const reference = found.reference !== undefined ? familiar(found.reference) : safeFamiliar(request.image);
  const meta: DockerMeta = {
    record,
    image: reference,
    imageId: imageId(found.image),
    restart: request.restart,
    restartCount: 0,
    autoRemove: request.remove,
    labels: { ...found.image.config.Labels, ...request.labels },
    ...(healthcheck ? { healthcheck } : {}),
    tty: request.tty,
    openStdin: request.interactive,
    ...(request.stopTimeout !== undefined ? { stopTimeout: request.stopTimeout } : {}),
    logSize: request.logSize,
    logFiles: request.logFiles,
    anonymousVolumes: anonymous,
    started: false,
    publish: publish.map(formatPublish),
  };
  container.locked(() => {
    container.saveRecord(record);
    container.begin({ name, id, image: found.name, net: request.net, command: record.process.args, createdAt: new Date().toISOString() });
    container.transition('stopped', { supervisorPid: undefined, supervisorStart: undefined });
    writeMeta(container, meta);
  });
  if (request.cidfile !== undefined) writeFileSync(request.cidfile, id, { flag: 'wx' });
  return { container, meta, id };
}

function safeFamiliar(text: string): string {
  try {
    return familiar(fullReference(text));
  } catch {
    return text;
  }
}

/** What the core's state shows beside the status: the ID, the store's image, the network, the command. */
function describe(meta: DockerMeta, id: string): { id: string; image: string; net: string; command: string[] } {
  return {
    id,
    image: meta.record.annotations[ANNOTATION.image] ?? '',
    net: meta.record.annotations[ANNOTATION.netMode] ?? 'bridge',
    command: meta.record.process.args,
  };
}

/** The base record, ready for a start: the image still there, the bridge up, the volumes made again if removed. */
function prepareStart(container: Container, meta: DockerMeta, root: string, terminal: boolean): DockerMeta['record'] {
  const record = structuredClone(meta.record);
  record.process.terminal = terminal;
  const image = record.annotations[ANNOTATION.image];
  if (image !== undefined && !new ImageStore(root).getImage(image)) {
    throw new DiycError('not-found', `container ${container.name}: its image ${meta.image} (${image}) has been removed`);
  }
  if (record.annotations[ANNOTATION.netMode] === 'bridge') ensureBridge(root);
  return record;
}

/** Marks a start in docker.json: it has started, not by the user stopped, its health starting. */
function markStarted(container: Container): void {
  updateMeta(container, (m) => {
    m.started = true;
    delete m.stoppedByUser;
    delete m.restarting;
    delete m.restarter;
    if (m.healthcheck) m.health = { Status: 'starting', FailingStreak: 0, Log: [] };
  });
}

/** Starts the container in the background, under diyc-shim, whose exit command is `diyc --reap NAME`. */
export async function startDetached(container: Container, script: string, trace: Trace, root: string = stateRoot()): Promise<void> {
  const meta = readMeta(container);
  if (!meta) throw new DiycError('invalid', `container ${container.name} was not made by diyc: start it with diyc-run`);
  const record = prepareStart(container, meta, root, false);
  const state = container.state();
  const rt = runtimeFor(container.name, trace, root);
  markStarted(container);
  await runDetached(rt, container, record, {
    logSize: meta.logSize,
    logFiles: meta.logFiles,
    openStdin: meta.openStdin,
    exitCommand: [process.execPath, script, '--reap', container.name],
    describe: describe(meta, idOf(state ?? { name: container.name })),
  });
  spawnHealthMonitor(container, script, root);
}

/** Runs the container in this process (run without -d, start -a); its exit code. A restart policy then starts it in the background. */
export async function startForeground(
  container: Container,
  script: string,
  trace: Trace,
  options: { interactive: boolean },
  root: string = stateRoot(),
): Promise<number> {
  const meta = readMeta(container);
  if (!meta) throw new DiycError('invalid', `container ${container.name} was not made by diyc: start it with diyc-run`);
  const terminal = meta.tty;
  if (terminal && options.interactive && process.stdin.isTTY !== true)
    throw new DiycError('usage', 'the input device is not a TTY', { exitCode: 1 });
  const record = prepareStart(container, meta, root, terminal);
  const rt = runtimeFor(container.name, trace, root);
  markStarted(container);
  // Stdin is never a host file the container could reopen through /proc/1/fd/0 (your
  // /dev/null, whose inode root inside could chmod for the whole host; a file given with
  // -i < FILE): an empty pipe without -i, yours copied through a pipe with it
  // (host-stdio.ts). Without -t, stdout and stderr are copied to yours and kept in its
  // log (docker logs), as a detached one's are.
  const input = terminal ? undefined : hostStdio({ interactive: options.interactive, outputs: false });
  const log = terminal ? undefined : new ForegroundLog(container.dir, meta.logSize, meta.logFiles);
  const stdio: [number | null, number | null, number | null] | undefined = log
    ? [input?.stdio[0] ?? null, log.pipeTo(1), log.pipeTo(2)]
    : undefined;
  // The monitor waits for the container to run, then checks it while this process waits.
  spawnHealthMonitor(container, script, root);
  let result: Awaited<ReturnType<typeof runForeground>>;
  try {
    result = await runForeground(rt, container, record, {
      remove: meta.autoRemove,
      describe: describe(meta, idOf(container.state() ?? { name: container.name })),
      ...(stdio ? { stdio } : {}),
    });
  } finally {
    await input?.close();
    await log?.close();
  }
  if (meta.autoRemove) {
    for (const v of meta.anonymousVolumes) removeQuietly(v, root);
  } else if (shouldRestart(meta.restart, result.exitCode, meta.restartCount, readMeta(container)?.stoppedByUser === true)) {
    updateMeta(container, (m) => {
      m.restartCount++;
    });
    await startDetached(container, script, trace, root);
  }
  if (result.reason) writeErr(`diyc: ${container.name}: ${result.reason}\n`);
  return result.exitCode;
}

function removeQuietly(volume: string, root: string): void {
  try {
    removeVolume(volume, { root, force: true });
  } catch {
    /* gone already */
  }
}

/**
 * The exit command of a detached container's shim (`diyc --reap NAME`): records how it
 * ended and undoes its stages, then starts it again if its restart policy says so (after
 * docker's delay, unless `stop` or `rm` came meanwhile), or removes it (--rm).
 */
export async function reapAndRestart(name: string, script: string, trace: Trace, root: string = stateRoot()): Promise<void> {
  const container = containerAt(name, root);
  if (!container.exists()) return;
  const rt = runtimeFor(name, trace, root);
  const result = reap(rt, container, false);
  const meta = readMeta(container);
  if (!meta) return;
  const state = container.refresh().state();
  const ranFor = state?.startedAt && state.finishedAt ? Date.parse(state.finishedAt) - Date.parse(state.startedAt) : 0;
  if (!shouldRestart(meta.restart, result.exitCode, meta.restartCount, meta.stoppedByUser === true)) {
    if (meta.autoRemove) {
      await remove(rt, container, { force: true });
      for (const v of meta.anonymousVolumes) removeQuietly(v, root);
    }
    return;
  }
  const delay = restartDelay(meta.restartCount, ranFor, meta.restartDelay);
  const pending = updateMeta(container, (m) => {
    m.restarting = new Date().toISOString();
    m.restartDelay = delay;
    m.restarter = { pid: process.pid, start: processStart(process.pid) ?? '' };
  });
  if (!pending) return;
  for (const end = Date.now() + delay; Date.now() < end; ) await sleep(Math.min(50, end - Date.now()));
  // `stop`, `kill` or `rm` meanwhile: no restart.
  let go = false;
  updateMeta(container, (m) => {
    go = m.stoppedByUser !== true;
    if (go) m.restartCount++;
    delete m.restarting;
    delete m.restarter;
  });
  if (!go) return;
  await startDetached(container, script, trace, root);
}

/** The signal `stop` sends first: --stop-signal, else the image's STOPSIGNAL, else SIGTERM. */
export function stopSignalOf(container: Container): number {
  const asked = container.record()?.annotations[ANNOTATION.stopSignal] ?? readMeta(container)?.record.annotations[ANNOTATION.stopSignal];
  try {
    return parseSignal(asked);
  } catch {
    return parseSignal(undefined);
  }
}

/** Marks a container stopped by the user (no restart), and waits for a pending restart to give up. */
export async function markStoppedByUser(container: Container): Promise<void> {
  const meta = updateMeta(container, (m) => {
    m.stoppedByUser = true;
  });
  endHealthMonitor(meta);
  if (!meta?.restarter) return;
  for (let i = 0; i < 200 && sameProcess(meta.restarter.pid, meta.restarter.start); i++) await sleep(25);
}

/** docker stop: the stop signal, then SIGKILL after the timeout (--time, else --stop-timeout, else 10 s). */
export async function stopContainer(container: Container, seconds: number | undefined, signal?: number): Promise<void> {
  await markStoppedByUser(container);
  const timeout = seconds ?? readMeta(container)?.stopTimeout ?? 10;
  await stop(container, signal ?? stopSignalOf(container), timeout < 0 ? 1e9 : timeout);
}

/** docker rm: a stopped container (a running one with force), and its anonymous volumes with `volumes`. */
export async function removeContainer(
  container: Container,
  options: { force: boolean; volumes: boolean; trace: Trace; root?: string },
): Promise<void> {
  const root = options.root ?? stateRoot();
  const status = container.status();
  if ((status === 'running' || status === 'paused') && !options.force) {
    throw new DiycError(
      'state',
      `cannot remove container "/${container.name}": container is ${status}: stop the container before removing or force remove`,
    );
  }
  const meta = readMeta(container);
  if (meta) await markStoppedByUser(container);
  await remove(runtimeFor(container.name, options.trace, root), container, { force: true });
  if (options.volumes && meta) for (const v of meta.anonymousVolumes) removeQuietly(v, root);
}

/** The image of a container, looked up again (for rmi's and inspect's checks). */
export function imageOfContainer(container: Container, root: string = stateRoot()): ReturnType<typeof findImage> {
  const name = container.record()?.annotations[ANNOTATION.image];
  return name === undefined ? undefined : findImage(new ImageStore(root), name);
}
