// Kubernetes' path: pods made through containerd's CRI plugin, as kubelet makes them, with
// the RuntimeClass handler `diyc` (io.containerd.runc.v2 whose BinaryName is diyc-oci).
// crictl drives a private containerd (cri-harness.ts): a host-network pod, a CNI-networked
// pod and a pod with shareProcessNamespace, each through logs, exec, exec -s, a terminal,
// stats, a crash, stop with a grace period, rm, stopp and rmp; then nothing may be left.
//
// DIYC_CRI_HANDLER=runc runs the same tests with runc, to check the tests themselves.
// DIYC_CRI_TRACE=DIR logs every runtime call the shim makes (and containerd's log) there.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cgroupDirs,
  criMissing,
  eventually,
  handlerUnderTest,
  iptablesMentioning,
  mountsUnder,
  namespaceOf,
  processesMentioning,
  startCri,
  type Cri,
} from './cri-harness.js';
import { onTerminal } from './helpers.js';

const missing = criMissing();
const handler = handlerUnderTest();
if (missing) console.warn(`cri.test.ts skipped: ${missing}`);

// CRI's NamespaceMode: POD (0) shares the sandbox's, CONTAINER (1) is the container's own,
// NODE (2) is the host's.
const POD = 0;
const CONTAINER = 1;
const NODE = 2;

interface PodKind {
  name: string;
  title: string;
  hostNetwork?: boolean;
  sharePid?: boolean;
}

const kinds: PodKind[] = [
  { name: 'hostnet', title: 'a host-network pod', hostNetwork: true },
  { name: 'cni', title: 'a CNI-networked pod (bridge, host-local, loopback)' },
  { name: 'sharedpid', title: 'a pod with shareProcessNamespace', sharePid: true },
];

interface Inspected {
  status: { state: string; exitCode: number; reason: string; logPath: string };
  info: { pid: number; runtimeSpec: { linux: { namespaces: { type: string; path?: string }[]; cgroupsPath: string } } };
}

interface InspectedPod {
  status: { state: string; network?: { ip?: string } };
  info: { pid: number; runtimeSpec: { linux: { namespaces: { type: string; path?: string }[] } } };
}

describe.skipIf(!!missing)(`CRI pods through containerd, RuntimeClass handler ${handler}${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let cri: Cri;
  const crictl = (...args: string[]) => cri.crictl(args);
  const inspect = async (id: string): Promise<Inspected> => {
    const r = await crictl('inspect', '-o', 'json', id);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Inspected;
  };
  const inspectp = async (id: string): Promise<InspectedPod> => {
    const r = await crictl('inspectp', '-o', 'json', id);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as InspectedPod;
  };
  const ok = (r: { code: number | null; stdout: string; stderr: string }) => {
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    return r.stdout.trim();
  };

  beforeAll(async () => {
    cri = await startCri({ tag: 'cri', trace: process.env.DIYC_CRI_TRACE, diycBinary: process.env.DIYC_CRI_DIYC_BINARY });
  }, 120_000);

  afterAll(async () => {
    await cri?.stop();
  }, 120_000);

  it('pulls images from the local registry through containerd', async () => {
    expect((await crictl('images', '-q')).stdout.trim()).toBe('');
    ok(await crictl('pull', cri.image));
    const image = JSON.parse(ok(await crictl('inspecti', '-o', 'json', cri.image))) as {
      status: { repoTags: string[]; repoDigests: string[] };
    };
    expect(image.status.repoTags).toEqual([cri.image]);
    // The digest containerd recorded is the manifest the registry serves.
    const served = await fetch(`http://${cri.registry.host}/v2/diyc/busybox/manifests/latest`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(image.status.repoDigests).toEqual([`${cri.registry.host}/diyc/busybox@${served.headers.get('docker-content-digest')}`]);
  });

  for (const kind of kinds) {
    describe(kind.title, () => {
      const podName = `pod-${kind.name}`;
      const podCgroup = () => `/${cri.parent}/${podName}`;
      const files = () => join(cri.work, 'specs', kind.name);
      let pod = '';
      let podPid = 0;
      let main = '';
      const namespaceOptions = { network: kind.hostNetwork ? NODE : POD, pid: kind.sharePid ? POD : CONTAINER, ipc: POD };
      const podConfig = () => ({
        metadata: { name: podName, namespace: 'diyc-e2e', uid: `${kind.name}-${process.pid}`, attempt: 0 },
        ...(kind.hostNetwork ? {} : { hostname: kind.name }),
        log_directory: join(cri.work, 'logs', kind.name),
        linux: { cgroup_parent: podCgroup(), security_context: { namespace_options: namespaceOptions } },
      });
      /** create + start of a container as kubelet asks for it; returns its id. */
      const start = async (name: string, command: string[], extra: Record<string, unknown> = {}) => {
        mkdirSync(files(), { recursive: true });
        writeFileSync(join(files(), 'pod.json'), JSON.stringify(podConfig()));
        writeFileSync(
          join(files(), `${name}.json`),
          JSON.stringify({
            metadata: { name },
            image: { image: cri.image },
            command,
            log_path: `${name}.log`,
            linux: { security_context: { namespace_options: namespaceOptions } },
            ...extra,
          }),
        );
        const id = ok(await crictl('create', pod, join(files(), `${name}.json`), join(files(), 'pod.json')));
        ok(await crictl('start', id));
        return id;
      };
      /** Runs `fn` on a new container, which is removed afterwards even when a check fails. */
      const withContainer = async (name: string, command: string[], extra: Record<string, unknown>, fn: (id: string) => Promise<void>) => {
        const id = await start(name, command, extra);
        try {
          await fn(id);
        } finally {
          await crictl('rm', '--force', id);
        }
      };
      /** A test of the pod's containers cannot run without the pod and its first container. */
      const needPod = () => {
        if (!pod) throw new Error('no sandbox: runp failed above');
      };
      const needMain = () => {
        needPod();
        if (!main) throw new Error('no container: create or start failed above');
      };
      const exited = (id: string) =>
        eventually(async () => {
          const s = await inspect(id);
          return s.status.state === 'CONTAINER_EXITED' ? s : undefined;
        });

      beforeAll(async () => {
        await crictl('pull', cri.image);
      });

      it('runs the sandbox (runp) from the sandbox image, in its pod cgroup, with its namespaces', async () => {
        mkdirSync(files(), { recursive: true });
        writeFileSync(join(files(), 'pod.json'), JSON.stringify(podConfig()));
        pod = ok(await crictl('runp', '--runtime', handler, join(files(), 'pod.json')));
        const status = await inspectp(pod);
        expect(status.status.state).toBe('SANDBOX_READY');
        podPid = status.info.pid;
        // runp returns once the runtime's start has returned: the execve may be a moment later.
        const cmdline = () => readFileSync(`/proc/${podPid}/cmdline`, 'utf8');
        expect(await eventually(() => (cmdline().includes('sleep 3600') ? true : undefined), 5000), cmdline()).toBe(true);
        expect(readFileSync(`/proc/${podPid}/cgroup`, 'utf8')).toContain(`${podCgroup()}/${pod}\n`);
        expect(ok(await crictl('images', '-q', cri.pauseImage))).not.toBe('');
        const hostNet = namespaceOf(process.pid, 'net');
        if (kind.hostNetwork) {
          expect(namespaceOf(podPid, 'net')).toBe(hostNet);
          expect(status.status.network?.ip ?? '').toBe('');
        } else {
          expect(namespaceOf(podPid, 'net')).not.toBe(hostNet);
          expect(status.status.network?.ip).toMatch(new RegExp(`^${cri.network.prefix.replace(/\./g, '\\.')}\\.\\d+$`));
          expect(spawnSync('ip', ['-o', 'link', 'show', 'master', cri.network.bridge], { encoding: 'utf8' }).stdout).toMatch(/veth/);
        }
        expect(namespaceOf(podPid, 'pid')).not.toBe(namespaceOf(process.pid, 'pid'));
      });

      it("starts a container that joins the sandbox's namespaces by path", async () => {
        needPod();
        // Writes 24 MiB to the pod's /dev/shm (charged to its memory cgroup, for stats), then
        // logs to both streams, notes a TERM and goes on: only KILL ends it.
        main = await start('main', [
          'sh',
          '-c',
          'dd if=/dev/zero of=/dev/shm/ballast bs=1M count=24 2>/dev/null; echo to stdout; echo to stderr >&2; trap "echo got TERM" TERM; while :; do sleep 0.2; done',
        ]);
        const s = await inspect(main);
        expect(s.status.state).toBe('CONTAINER_RUNNING');
        const pid = s.info.pid;
        const spec = s.info.runtimeSpec.linux.namespaces;
        const joined = (type: string) => spec.find((n) => n.type === type)?.path;
        expect(namespaceOf(pid, 'ipc')).toBe(namespaceOf(podPid, 'ipc'));
        expect(joined('ipc')).toBe(`/proc/${podPid}/ns/ipc`);
        // containerd joins every container to the sandbox's network namespace by path,
        // the host's own one too for a host-network pod.
        expect(joined('network')).toBe(`/proc/${podPid}/ns/net`);
        expect(namespaceOf(pid, 'net')).toBe(namespaceOf(podPid, 'net'));
        if (kind.hostNetwork) {
          expect(namespaceOf(pid, 'net')).toBe(namespaceOf(process.pid, 'net'));
        } else {
          expect(joined('uts')).toBe(`/proc/${podPid}/ns/uts`);
          expect(namespaceOf(pid, 'uts')).toBe(namespaceOf(podPid, 'uts'));
          expect(ok(await crictl('exec', '-s', main, 'hostname'))).toBe(kind.name);
        }
        if (kind.sharePid) {
          expect(joined('pid')).toBe(`/proc/${podPid}/ns/pid`);
          expect(namespaceOf(pid, 'pid')).toBe(namespaceOf(podPid, 'pid'));
        } else {
          expect(namespaceOf(pid, 'pid')).not.toBe(namespaceOf(podPid, 'pid'));
        }
        expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`${podCgroup()}/${main}\n`);
      });

      if (!kind.hostNetwork) {
        it("has the pod's address on eth0, and reaches the gateway on the run's bridge", async () => {
          needMain();
          const ip = (await inspectp(pod)).status.network?.ip ?? '';
          const r = await crictl('exec', '-s', main, 'ip', '-4', '-o', 'addr', 'show', 'eth0');
          expect(ok(r)).toContain(`inet ${ip}/24`);
          expect(ok(await crictl('exec', '-s', main, 'ip', 'route'))).toContain(`default via ${cri.network.prefix}.1 dev eth0`);
          expect(ok(await crictl('exec', '-s', main, 'ping', '-c', '1', '-W', '2', `${cri.network.prefix}.1`))).toContain(
            '1 packets received',
          );
        });
      }

      it('keeps the logs in the CRI log format', async () => {
        needMain();
        // The container writes its ballast first: wait for both lines.
        const r = await eventually(async () => {
          const logs = await crictl('logs', main);
          return logs.stdout && logs.stderr ? logs : undefined;
        });
        expect(r?.stdout).toBe('to stdout\n');
        expect(r?.stderr).toBe('to stderr\n');
        const path = (await inspect(main)).status.logPath;
        expect(path).toBe(join(cri.work, 'logs', kind.name, 'main.log'));
        const lines = readFileSync(path, 'utf8').trim().split('\n');
        expect(lines).toHaveLength(2);
        for (const line of lines)
          expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) (stdout|stderr) F to (stdout|stderr)$/);
        expect(lines.map((l) => l.split(' ')[1]).sort()).toEqual(['stderr', 'stdout']);
      });

      it('runs exec and exec -s in the container, with their exit codes', async () => {
        needMain();
        const exec = await crictl('exec', main, 'sh', '-c', 'echo in $(cat /proc/1/cmdline | tr "\\0" " "); exit 3');
        expect(exec.stdout).toMatch(/^in /);
        expect(exec.stdout).toContain(kind.sharePid ? 'sleep 3600' : 'dd if=/dev/zero');
        expect(exec.stderr).toContain('command terminated with exit code 3');
        expect(exec.code).toBe(1);
        expect(ok(await crictl('exec', main, 'true'))).toBe('');
        expect(ok(await crictl('exec', '-s', main, 'sh', '-c', 'echo synced'))).toBe('synced');
        const failed = await crictl('exec', '-s', main, 'sh', '-c', 'echo bad >&2; exit 4');
        expect(failed.code).toBe(1);
        expect(failed.stderr).toContain("command 'sh -c echo bad >&2; exit 4' exited with 4: bad");
      });

      it('gives exec -it a terminal', async () => {
        needMain();
        // crictl's own message goes to a file: the terminal is gone once crictl ends.
        const errors = join(files(), 'exec-it.err');
        await onTerminal([...cri.crictlArgv, 'exec', '-it', main, 'sh', `2>${errors}`], {}, async (t) => {
          t.keys('tty; echo $((6 * 7))', 'Enter');
          // busybox's shell asks the terminal where its cursor is (ESC[6n); an answer that
          // comes after the keys were typed is echoed as ^[[ROW;COLR before the output.
          await t.screen(/\/dev\/pts\/\d+\s+(\^\[\[\d+;\d+R)?42/);
          t.keys('exit 5', 'Enter');
          expect(await t.exitStatus()).toBe('1');
        });
        expect(readFileSync(errors, 'utf8')).toContain('command terminated with exit code 5');
      });

      it("attaches to a container's terminal; its exit status is the container's", async () => {
        needPod();
        await withContainer('tty', ['sh'], { tty: true, stdin: true }, async (tty) => {
          await onTerminal([...cri.crictlArgv, 'attach', '-it', tty], {}, async (t) => {
            t.keys('Enter');
            t.keys('echo attached $((1 + 1)); tty', 'Enter');
            await t.screen(/attached 2\s+\/dev\/(pts\/\d+|console)/);
            t.keys('exit 3', 'Enter');
            await t.exitStatus();
          });
          const s = await exited(tty);
          expect(s?.status.exitCode).toBe(3);
          ok(await crictl('rm', tty));
        });
      });

      it("reports the container's stats from its cgroup", async () => {
        needMain();
        const r = await crictl('stats', '-o', 'json', '--id', main);
        const stats = (
          JSON.parse(ok(r)) as {
            stats: {
              attributes: { id: string };
              cpu: { usageCoreNanoSeconds: { value: string } };
              memory: { workingSetBytes: { value: string } };
            }[];
          }
        ).stats;
        expect(stats.map((s) => s.attributes.id)).toEqual([main]);
        const [one] = stats;
        expect(Number(one?.cpu.usageCoreNanoSeconds.value)).toBeGreaterThan(0);
        // The 24 MiB in /dev/shm are charged to the container's memory cgroup.
        const workingSet = Number(one?.memory.workingSetBytes.value);
        expect(workingSet).toBeGreaterThanOrEqual(24 << 20);
        const memory = cgroupDirs(`${podCgroup()}/${main}`).find(
          (d) => existsSync(join(d, 'memory.usage_in_bytes')) || existsSync(join(d, 'memory.current')),
        );
        expect(memory).toBeDefined();
        const usage = Number(
          readFileSync(
            join(memory as string, existsSync(join(memory as string, 'memory.current')) ? 'memory.current' : 'memory.usage_in_bytes'),
            'utf8',
          ),
        );
        expect(usage).toBeGreaterThanOrEqual(24 << 20);
      });

      it('reports a container that crashes as exited, with its exit code', async () => {
        needPod();
        await withContainer('crash', ['sh', '-c', 'echo dying; exit 42'], {}, async (crash) => {
          const s = await exited(crash);
          expect(s?.status.exitCode).toBe(42);
          expect(s?.status.reason).toBe('Error');
          expect((await crictl('logs', crash)).stdout).toBe('dying\n');
          ok(await crictl('rm', crash));
        });
      });

      if (kind.sharePid) {
        it("sees the pod's processes, and stopping one container kills only its own", async () => {
          needMain();
          // buddy leaves a child behind when it exits: the runtime's kill --all must reap it.
          await withContainer('buddy', ['sh', '-c', 'sleep 1001 & trap "exit 0" TERM; while :; do sleep 0.2; done'], {}, async (buddy) => {
            const seen = ok(await crictl('exec', '-s', main, 'ps', '-o', 'args'));
            expect(seen).toContain('sleep 1001');
            expect(seen).toContain('sleep 3600');
            expect(ok(await crictl('exec', '-s', main, 'cat', '/proc/1/cmdline'))).toContain('while :; do sleep 3600');
            // Its init, and the child it leaves: when the init exits, the shim runs `kill --all
            // ID 9`, which must kill the child at once. Left running, the child holds the
            // container's stdio open: the shim waits 2 s for it, then `delete --force` kills it.
            const init = (await inspect(buddy)).info.pid;
            const procs = readFileSync(join(cgroupDirs(`${podCgroup()}/${buddy}`)[0] as string, 'cgroup.procs'), 'utf8')
              .split('\n')
              .filter(Boolean)
              .map(Number);
            const child = procs.find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\u00001001\u0000');
            expect(child).toBeDefined();
            const dead = (pid: number) => {
              try {
                return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
              } catch {
                return true; // reaped
              }
            };
            const stopping = crictl('stop', '-t', '10', buddy);
            const deaths = { init: 0, child: 0 };
            for (const began = Date.now(); (!deaths.init || !deaths.child) && Date.now() - began < 15_000; ) {
              if (!deaths.init && dead(init)) deaths.init = Date.now();
              if (!deaths.child && dead(child as number)) deaths.child = Date.now();
              await new Promise((r) => setTimeout(r, 20));
            }
            ok(await stopping);
            expect(deaths.init).toBeGreaterThan(0);
            expect(
              deaths.child - deaths.init,
              "the child outlived its container by the shim's 2 s wait (kill --all did not kill it)",
            ).toBeLessThan(1500);
            expect((await exited(buddy))?.status.exitCode).toBe(0);
            const after = await eventually(async () => {
              const ps = ok(await crictl('exec', '-s', main, 'ps', '-o', 'args'));
              return ps.includes('sleep 1001') ? undefined : ps;
            }, 2000);
            expect(after, 'the child buddy left behind is still running').toBeDefined();
            expect(after).toContain('sleep 3600');
            expect(after).toContain('while :; do sleep 0.2; done');
            expect((await inspect(main)).status.state).toBe('CONTAINER_RUNNING');
            ok(await crictl('rm', buddy));
            expect(cgroupDirs(`${podCgroup()}/${buddy}`)).toEqual([]);
          });
        });
      }

      it('stops a container with a grace period: TERM, then KILL', async () => {
        needMain();
        const began = Date.now();
        ok(await crictl('stop', '-t', '2', main));
        const took = Date.now() - began;
        expect(took).toBeGreaterThanOrEqual(2000);
        expect(took).toBeLessThan(8000);
        const s = await inspect(main);
        expect(s.status.state).toBe('CONTAINER_EXITED');
        expect(s.status.exitCode).toBe(137);
        expect((await crictl('logs', main)).stdout).toBe('to stdout\ngot TERM\n');
      });

      it('removes the container (rm), stops and removes the pod (stopp, rmp), and leaves nothing of it', async () => {
        needMain();
        ok(await crictl('rm', main));
        expect(ok(await crictl('ps', '-a', '-q', '--pod', pod))).toBe('');
        const netns = (await inspectp(pod)).info.runtimeSpec.linux.namespaces.find((n) => n.type === 'network')?.path;
        ok(await crictl('stopp', pod));
        expect((await inspectp(pod)).status.state).toBe('SANDBOX_NOTREADY');
        expect(existsSync(`/proc/${podPid}`) && !readFileSync(`/proc/${podPid}/stat`, 'utf8').includes(') Z')).toBe(false);
        ok(await crictl('rmp', pod));
        expect(ok(await crictl('pods', '-q', '--id', pod))).toBe('');
        // The shim of the pod exits once its last task is deleted.
        expect(await eventually(() => (processesMentioning(pod).length === 0 ? true : undefined), 5000)).toBe(true);
        // Only the pod's own cgroup (kubelet's to make and remove) may be left, empty.
        for (const dir of cgroupDirs(podCgroup())) {
          expect(
            readdirSync(dir, { withFileTypes: true })
              .filter((e) => e.isDirectory())
              .map((e) => e.name),
          ).toEqual([]);
          rmdirSync(dir);
        }
        if (netns) expect(mountsUnder(netns)).toEqual([]);
        expect(mountsUnder(join(cri.work, 'state')).filter((m) => m.includes(pod))).toEqual([]);
        expect(spawnSync('ip', ['-o', 'link', 'show', 'master', cri.network.bridge], { encoding: 'utf8' }).stdout).toBe('');
        expect(iptablesMentioning(pod)).toEqual([]);
      });
    });
  }

  it('leaves nothing behind: mounts, cgroups, netns, veths, iptables rules, shims, containerd', async () => {
    const { work, parent, network } = cri;
    const left = await cri.stop();
    expect(left).toEqual([]);
    expect(mountsUnder(work)).toEqual([]);
    expect(cgroupDirs(`/${parent}`)).toEqual([]);
    expect(processesMentioning(work)).toEqual([]);
    expect(spawnSync('ip', ['link', 'show', network.bridge]).status).not.toBe(0);
    expect(iptablesMentioning(network.name)).toEqual([]);
    expect(existsSync(work)).toBe(false);
  });
});
