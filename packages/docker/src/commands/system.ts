// diyc version, info: what diyc is and what it holds, in docker's sections or --format.
import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { cgroupDriver, detectLayout } from '@diyc/cgroup';
import { commandVersion, defineCli, one, writeOut } from '@diyc/cli';
import { ImageStore } from '@diyc/image';
import { stateRoot } from '@diyc/record';
import { formatted, goArch, infoText, versionText, type SystemInfo, type VersionInfo } from '../system.js';
import { allViews } from './common.js';

const format = { type: 'string', alias: 'f', valueHint: 'FORMAT', description: "json, or a Go template: '{{.Server.Version}}'" } as const;

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

export const versionCommand = defineCli({
  meta: { name: 'version', description: "diyc's version, as docker version shows the client's and the server's" },
  args: { format },
  main({ flags }) {
    const version = commandVersion();
    const side = { Version: version, NodeVersion: process.version, Os: 'linux', Arch: goArch(process.arch) };
    const info: VersionInfo = {
      Client: { ...side, Context: 'default' },
      Server: { ...side, KernelVersion: release(), Runtime: 'diyc' },
    };
    const asked = one(flags.format);
    writeOut(asked === undefined ? versionText(info) : formatted(info, asked));
    return 0;
  },
});

export const infoCommand = defineCli({
  meta: { name: 'info', description: 'What diyc runs on and holds: containers, images, cgroups, kernel, state root' },
  args: { format },
  main({ flags }) {
    const root = stateRoot();
    const views = allViews(root);
    const count = (...s: string[]) => views.filter((v) => s.includes(v.status)).length;
    const layout = detectLayout();
    const info: SystemInfo = {
      Containers: views.length,
      ContainersRunning: count('running', 'restarting'),
      ContainersPaused: count('paused'),
      ContainersStopped: count('exited', 'created'),
      Images: new ImageStore(root).listImages().length,
      ServerVersion: commandVersion(),
      Driver: 'overlay',
      CgroupDriver: cgroupDriver(),
      CgroupVersion: layout.mode === 'unified' ? '2' : '1',
      DefaultRuntime: 'diyc',
      KernelVersion: release(),
      OperatingSystem: osName(),
      OSType: 'linux',
      Architecture: process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch,
      NCPU: cpus().length,
      MemTotal: totalmem(),
      Name: hostname(),
      DockerRootDir: root,
    };
    const asked = one(flags.format);
    writeOut(asked === undefined ? infoText(info, info.ServerVersion) : formatted(info, asked));
    return 0;
  },
});
