// What `diyc version` and `diyc info` print: docker's sections and keys, filled with
// diyc's own facts. There is no daemon: the "server" is the runtime core that each
// command runs in itself, so both sides have diyc's version.
import { compileTemplate } from './template.js';

export interface VersionInfo {
  Client: { Version: string; NodeVersion: string; Os: string; Arch: string; Context: string };
  Server: { Version: string; NodeVersion: string; Os: string; Arch: string; KernelVersion: string; Runtime: string };
}

export interface SystemInfo {
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  ServerVersion: string;
  Driver: string;
  CgroupDriver: string;
  CgroupVersion: string;
  DefaultRuntime: string;
  KernelVersion: string;
  OperatingSystem: string;
  OSType: string;
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  Name: string;
  DockerRootDir: string;
}

/** Go's GOARCH for Node's process.arch. */
export function goArch(arch: string): string {
  return (
    ({ x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[arch] ?? arch
  );
}

/** `diyc version`'s text: docker's two sections. */
export function versionText(v: VersionInfo): string {
  return [
    'Client: diyc',
    ` Version:           ${v.Client.Version}`,
    ` Node.js version:   ${v.Client.NodeVersion}`,
    ` OS/Arch:           ${v.Client.Os}/${v.Client.Arch}`,
    ` Context:           ${v.Client.Context}`,
    '',
    'Server: diyc (no daemon: each command runs the runtime core)',
    ' Engine:',
    `  Version:          ${v.Server.Version}`,
    `  Node.js version:  ${v.Server.NodeVersion}`,
    `  OS/Arch:          ${v.Server.Os}/${v.Server.Arch}`,
    `  Kernel version:   ${v.Server.KernelVersion}`,
    ` ${v.Server.Runtime}:`,
    `  Version:          ${v.Server.Version}`,
    '',
  ].join('\n');
}

/** `diyc info`'s text: docker's Client and Server sections, the keys diyc can fill. */
export function infoText(i: SystemInfo, clientVersion: string): string {
  return [
    'Client:',
    ` Version:    ${clientVersion}`,
    ' Context:    default',
    ' Debug Mode: false',
    '',
    'Server:',
    ` Containers: ${i.Containers}`,
    `  Running: ${i.ContainersRunning}`,
    `  Paused: ${i.ContainersPaused}`,
    `  Stopped: ${i.ContainersStopped}`,
    ` Images: ${i.Images}`,
    ` Server Version: ${i.ServerVersion}`,
    ` Storage Driver: ${i.Driver}`,
    ` Cgroup Driver: ${i.CgroupDriver}`,
    ` Cgroup Version: ${i.CgroupVersion}`,
    ` Runtimes: ${i.DefaultRuntime}`,
    ` Default Runtime: ${i.DefaultRuntime}`,
    ` Kernel Version: ${i.KernelVersion}`,
    ` Operating System: ${i.OperatingSystem}`,
    ` OSType: ${i.OSType}`,
    ` Architecture: ${i.Architecture}`,
    ` CPUs: ${i.NCPU}`,
    ` Total Memory: ${gib(i.MemTotal)}`,
    ` Name: ${i.Name}`,
    ` Docker Root Dir: ${i.DockerRootDir}`,
    '',
  ].join('\n');
}

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)}GiB`;

/** --format: json, or a Go template over the object. */
export function formatted(value: object, format: string): string {
  if (format === 'json' || format === '{{json .}}') return `${JSON.stringify(value)}\n`;
  return `${compileTemplate(format)(value)}\n`;
}
