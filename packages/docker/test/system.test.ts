import { describe, expect, it } from 'vitest';
import { formatted, goArch, infoText, versionText, type SystemInfo, type VersionInfo } from '../src/system.js';

const side = { Version: '1.2.3', NodeVersion: 'v20.1.0', Os: 'linux', Arch: 'amd64' };
const version: VersionInfo = { Client: { ...side, Context: 'default' }, Server: { ...side, KernelVersion: '6.1.0', Runtime: 'diyc' } };
const info: SystemInfo = {
  Containers: 3,
  ContainersRunning: 1,
  ContainersPaused: 1,
  ContainersStopped: 1,
  Images: 2,
  ServerVersion: '1.2.3',
  Driver: 'overlay',
  CgroupDriver: 'cgroupfs',
  CgroupVersion: '2',
  DefaultRuntime: 'diyc',
  KernelVersion: '6.1.0',
  OperatingSystem: 'Debian GNU/Linux 12 (bookworm)',
  OSType: 'linux',
  Architecture: 'x86_64',
  NCPU: 2,
  MemTotal: 4 * 2 ** 30,
  Name: 'host',
  DockerRootDir: '/var/lib/diyc',
};

describe('diyc version and info', () => {
  it("version: docker's Client and Server sections, --format over the same fields", () => {
    const text = versionText(version);
    expect(text).toMatch(/^Client: diyc\n Version: {11}1\.2\.3\n/);
    expect(text).toContain('\nServer: diyc');
    expect(text).toContain('  OS/Arch:          linux/amd64\n');
    expect(formatted(version, '{{.Server.Version}} {{.Client.Arch}}')).toBe('1.2.3 amd64\n');
    expect(JSON.parse(formatted(version, 'json')).Server.KernelVersion).toBe('6.1.0');
  });

  it("info: the counts, the cgroup driver and version, the state root, in docker's keys", () => {
    const text = infoText(info, '1.2.3');
    for (const line of [
      ' Containers: 3',
      '  Running: 1',
      '  Paused: 1',
      '  Stopped: 1',
      ' Images: 2',
      ' Cgroup Driver: cgroupfs',
      ' Cgroup Version: 2',
      ' Total Memory: 4.00GiB',
      ' Docker Root Dir: /var/lib/diyc',
    ])
      expect(text.split('\n')).toContain(line);
    expect(formatted(info, '{{.Containers}} {{.CgroupVersion}} {{.DockerRootDir}}')).toBe('3 2 /var/lib/diyc\n');
  });

  it("Go's names for Node's architectures", () => {
    expect([goArch('x64'), goArch('arm64'), goArch('riscv64')]).toEqual(['amd64', 'arm64', 'riscv64']);
  });
});
