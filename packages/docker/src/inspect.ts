// `diyc inspect`: a container or an image in docker's JSON shape, the fields scripts read
// (https://docs.docker.com/reference/api/engine/): .State.Status, .State.ExitCode,
// .State.Pid, .State.Health, .NetworkSettings.IPAddress, .NetworkSettings.Ports, .Mounts,
// .Config.Env, .Config.Labels, .HostConfig.Memory, .HostConfig.RestartPolicy, ... Values
// docker has and diyc does not are given as docker gives them when unset (empty, 0, null).
import { join } from 'node:path';
import { imageId, type Image, type ImageStore } from '@diyc/image';
import { macOf, parsePublish, parseSubnet, type Publish } from '@diyc/net';
import { ANNOTATION, type ContainerRecord } from '@diyc/record';
import { rootfsPaths } from '@diyc/overlay';
import { asMap } from './template.js';
import { familiar, repoTag } from './images.js';
import type { ContainerView } from './view.js';
import { volumesDir } from './volumes.js';

/** nanoseconds the way docker writes a time: RFC 3339 with nanoseconds; the zero time when unknown. */
const ZERO_TIME = '0001-01-01T00:00:00Z';
const rfc3339 = (iso: string | undefined): string => iso || ZERO_TIME;

/** A mount as docker's .Mounts shows it: a bind, a named volume (under $DIYC_ROOT/volumes) or a tmpfs. */
function mountsOf(record: ContainerRecord | undefined, root: string): object[] {
  const volumes = volumesDir(root);
  const defaults = new Set(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup', '/dev/init']);
  return (record?.mounts ?? [])
    .filter((m) => !defaults.has(m.destination))
    .flatMap((m) => {
      const rw = !(m.options ?? []).includes('ro');
      if (m.type === 'bind' || (m.options ?? []).includes('rbind') || (m.options ?? []).includes('bind')) {
        const source = m.source ?? '';
        const volume =
          source.startsWith(`${volumes}/`) && source.endsWith('/_data') ? source.slice(volumes.length + 1, -'/_data'.length) : undefined;
        if (volume !== undefined) {
          return [
            {
              Type: 'volume',
              Name: volume,
              Source: source,
              Destination: m.destination,
              Driver: 'local',
              Mode: rw ? '' : 'ro',
              RW: rw,
              Propagation: '',
            },
          ];
        }
        return [{ Type: 'bind', Source: source, Destination: m.destination, Mode: rw ? '' : 'ro', RW: rw, Propagation: 'rprivate' }];
      }
      if (m.type === 'tmpfs') return [{ Type: 'tmpfs', Source: '', Destination: m.destination, Mode: '', RW: rw, Propagation: '' }];
      return [];
    });
}

/** {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}, each port of a range on its own. */
function portMap(published: Publish[]): Record<string, { HostIp: string; HostPort: string }[]> {
  const ports: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of published) {
    for (let i = 0; i < (p.count ?? 1); i++) {
      const key = `${p.containerPort + i}/${p.protocol}`;
      (ports[key] ??= []).push({ HostIp: p.hostIp ?? '0.0.0.0', HostPort: String(p.hostPort + i) });
    }
  }
  return asMap(ports);
}

/** A container in docker's shape. */
export function inspectContainer(view: ContainerView, root: string, images: ImageStore): object {
  const { state, meta } = view;
  const record = view.record ?? meta?.record;
  const base = meta?.record ?? record;
  const running = view.status === 'running' || view.status === 'paused';
  const image = record?.annotations[ANNOTATION.image];
  const storeImage = image !== undefined ? safe(() => images.getImage(image)) : undefined;
  const paths = rootfsPaths(view.name, root);
  const ip = state.ip ?? '';
  const gateway = record?.annotations[ANNOTATION.gateway] ?? '';
  const net = record?.annotations[ANNOTATION.netMode] ?? state.net ?? 'bridge';
  const prefix = ip ? (safe(() => parseSubnet(process.env.DIYC_SUBNET ?? '172.16.0.0/24').prefix) ?? 24) : 0;
  const memory = record?.linux.resources?.memory;
  const cpu = record?.linux.resources?.cpu;
  const caps = base?.process.capabilities?.bounding ?? [];
  const [path, ...args] = base?.process.args ?? state.command;
  const health = meta?.health;
  const hostname = record?.hostname ?? '';
  const imageConfig = storeImage?.config ?? {};
  const exitCode = state.exitCode ?? 0;
  const network = {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    MacAddress: ip ? macOf(ip) : '',
    NetworkID: net,
    EndpointID: '',
    Gateway: gateway,
    IPAddress: ip,
    IPPrefixLen: prefix,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DriverOpts: null,
    DNSNames: null,
  };
  return {
    Id: view.id,
    Created: rfc3339(state.createdAt),
    Path: path ?? '',
    Args: args,
    State: {
      Status: view.status,
      Running: running,
      Paused: view.status === 'paused',
      Restarting: view.status === 'restarting',
      OOMKilled: /out of memory/i.test(state.reason ?? ''),
      Dead: false,
      Pid: running ? (state.pid ?? 0) : 0,
      ExitCode: running ? 0 : exitCode,
      Error: state.reason && !/out of memory/i.test(state.reason) && exitCode >= 125 ? state.reason : '',
      StartedAt: rfc3339(state.startedAt),
      FinishedAt: running ? ZERO_TIME : rfc3339(state.finishedAt),
      ...(meta?.healthcheck ? { Health: health ?? { Status: 'starting', FailingStreak: 0, Log: [] } } : {}),
    },
    Image: meta?.imageId ?? (storeImage ? imageId(storeImage) : ''),
    ResolvConfPath: join(paths.upper, 'etc/resolv.conf'),
    HostnamePath: join(paths.upper, 'etc/hostname'),
    HostsPath: join(paths.upper, 'etc/hosts'),
    LogPath: join(view.container.dir, 'log'),
    Name: `/${view.name}`,
    RestartCount: meta?.restartCount ?? 0,
    Driver: 'overlay',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      Binds: (base?.mounts ?? [])
        .filter((m) => m.type === 'bind' && m.source && !m.source.startsWith(`${volumesDir(root)}/`) && m.destination !== '/dev/init')
        .map((m) => `${m.source}:${m.destination}${(m.options ?? []).includes('ro') ? ':ro' : ''}`),
      ContainerIDFile: '',
      LogConfig: {
        Type: 'json-file',
        Config: asMap({ 'max-size': String(meta?.logSize ?? 0), 'max-file': String((meta?.logFiles ?? 0) + 1) }),
      },
      NetworkMode: net,
      // What -p asked for (the host ports chosen when it was made), running or not.
      PortBindings: portMap((meta?.publish ?? []).map(parsePublish)),
      RestartPolicy: meta?.restart ?? { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: meta?.autoRemove ?? false,
      CapAdd: null,
      CapDrop: null,
      Dns: base?.annotations[ANNOTATION.dns]?.split(',') ?? [],
      DnsSearch: base?.annotations[ANNOTATION.dnsSearch]?.split(',') ?? [],
      ExtraHosts: base?.annotations[ANNOTATION.addHosts]?.split(',').map((h) => h.replace('=', ':')) ?? null,
      Privileged: caps.length > 30 && !base?.linux.seccomp,
      ReadonlyRootfs: base?.root?.readonly === true,
      SecurityOpt: null,
      Tmpfs: asMap(
        Object.fromEntries(
          (base?.mounts ?? [])
            .filter((m) => m.type === 'tmpfs' && !['/dev', '/dev/shm'].includes(m.destination))
            .map((m) => [m.destination, (m.options ?? []).join(',')]),
        ),
      ),
      Init: (base?.process.args[0] ?? '') === '/dev/init',
      Memory: memory?.limit ?? 0,
      MemorySwap: memory?.swap ?? 0,
      NanoCpus: cpu?.quota !== undefined ? Math.round((cpu.quota / (cpu.period ?? 100_000)) * 1e9) : 0,
      CpuShares: cpu?.shares ?? 0,
      CpusetCpus: cpu?.cpus ?? '',
      PidsLimit: record?.linux.resources?.pids?.limit ?? null,
      Ulimits: (base?.process.rlimits ?? []).map((r) => ({
        Name: r.type.replace(/^RLIMIT_/, '').toLowerCase(),
        Soft: r.soft,
        Hard: r.hard,
      })),
      Sysctls: asMap({ ...base?.linux.sysctl }),
    },
    GraphDriver: {
      Name: 'overlay',
      Data: {
        LowerDir: (storeImage?.layers ?? []).map((l) => images.layerPath(l)).join(':'),
        UpperDir: paths.upper,
        WorkDir: paths.work,
        MergedDir: paths.merged,
      },
    },
    Mounts: mountsOf(base, root),
    Config: {
      Hostname: hostname,
      Domainname: '',
      User: base?.annotations[ANNOTATION.user] ?? imageConfig.User ?? '',
      AttachStdin: meta?.openStdin ?? false,
      AttachStdout: true,
      AttachStderr: true,
      ExposedPorts: asMap(Object.fromEntries(Object.keys(portMap((meta?.publish ?? []).map(parsePublish))).map((k) => [k, asMap({})]))),
      Tty: meta?.tty ?? false,
      OpenStdin: meta?.openStdin ?? false,
      StdinOnce: false,
      Env: base?.process.env ?? [],
      Cmd: args.length > 0 || path !== undefined ? cmdOf(base, imageConfig) : null,
      Image: view.image,
      Volumes: null,
      WorkingDir: base?.process.cwd === '/' ? '' : (base?.process.cwd ?? ''),
      Entrypoint: entrypointOf(base, imageConfig),
      OnBuild: null,
      Labels: asMap({ ...view.labels }),
      StopSignal: base?.annotations[ANNOTATION.stopSignal] ?? 'SIGTERM',
      ...(meta?.stopTimeout !== undefined ? { StopTimeout: meta.stopTimeout } : {}),
      ...(meta?.healthcheck
        ? {
            Healthcheck: {
              Test: meta.healthcheck.Test,
              Interval: meta.healthcheck.Interval * 1e6,
              Timeout: meta.healthcheck.Timeout * 1e6,
              StartPeriod: meta.healthcheck.StartPeriod * 1e6,
              Retries: meta.healthcheck.Retries,
            },
          }
        : {}),
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: '',
      SandboxKey: record?.linux.namespaces.find((n) => n.type === 'network')?.path ?? '',
      Ports: portMap(view.ports),
      Gateway: gateway,
      IPAddress: ip,
      IPPrefixLen: prefix,
      MacAddress: network.MacAddress,
      Networks: asMap(net === 'bridge' || net === 'host' || net === 'none' ? { [net]: network } : {}),
    },
  };
}

/** The image's Cmd and Entrypoint, as the container's command was made from them (--entrypoint aside). */
function cmdOf(record: ContainerRecord | undefined, config: { Cmd?: string[]; Entrypoint?: string[] }): string[] | null {
  const args = record?.process.args ?? [];
  const entry = entrypointOf(record, config) ?? [];
  const after = args.slice(args[0] === '/dev/init' ? 2 : 0);
  const cmd = after.slice(entry.length);
  return cmd.length > 0 ? cmd : null;
}

function entrypointOf(record: ContainerRecord | undefined, config: { Entrypoint?: string[] }): string[] | null {
  const args = (record?.process.args ?? []).slice(record?.process.args[0] === '/dev/init' ? 2 : 0);
  const entry = config.Entrypoint ?? [];
  return entry.length > 0 && entry.every((e, i) => args[i] === e) ? entry : null;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** An image in docker's shape. */
export function inspectImage(image: Image, images: ImageStore): object {
  const references = images.referencesOf(image.name);
  const tags = references.filter((r) => !r.includes('@')).map(familiar);
  const digests = image.source.includes('@')
    ? [`${repoTag(image.source.replace(/:[^:/@]+@/, '@')).repository}@${image.source.split('@')[1]}`]
    : [];
  return {
    Id: imageId(image),
    RepoTags: tags.length > 0 ? tags : references.length === 0 && !images.isUntagged(image.name) ? [`${image.name}:latest`] : [],
    RepoDigests: digests,
    Parent: '',
    Comment: '',
    Created: image.created,
    DockerVersion: '',
    Author: '',
    Config: {
      Env: image.config.Env ?? null,
      Cmd: image.config.Cmd ?? null,
      Entrypoint: image.config.Entrypoint ?? null,
      WorkingDir: image.config.WorkingDir ?? '',
      User: image.config.User ?? '',
      Labels: image.config.Labels ? asMap({ ...image.config.Labels }) : null,
      StopSignal: image.config.StopSignal ?? '',
      ...(image.config.Healthcheck ? { Healthcheck: image.config.Healthcheck } : {}),
    },
    Architecture: ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch,
    Os: 'linux',
    Size: image.size,
    GraphDriver: { Name: 'overlay', Data: { LowerDir: image.layers.map((l) => images.layerPath(l)).join(':') } },
    RootFS: { Type: 'layers', Layers: image.layers },
    Metadata: { LastTagTime: image.created },
  };
}
