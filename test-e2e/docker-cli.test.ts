// `diyc`, docker's command line, end to end: the bin from PATH as a docker user types it,
// on the default busybox image, with a bridge, subnet, state root and cgroup parent of the
// test's own; what a docker user checks (output, exit codes, inspect's fields) and what
// only the machine can tell (the process gone, no mount left).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager, detectLayout } from '@diyc/cgroup';
import { busyboxTarball, isRoot, onTerminal, rootReason, runBin, runCommand, tempDir, testNetwork } from './helpers.js';
import { dockerArchive, push, startRegistry, type Registry } from './registry.js';

const have = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

describe.skipIf(!isRoot)(`diyc, docker's commands (${rootReason})`, () => {
  const { bridge, subnet, prefix } = testNetwork('k');
  const work = tempDir('diyc-docker-e2e-');
  const root = join(work.path, 'state');
  const parent = `diyc-e2e-docker-${process.pid}`;
  const env = { ...process.env, DIYC_ROOT: root, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet, DIYC_CGROUP_PARENT: parent };
  const diyc = (args: string[], input?: string) =>
    runBin('diyc', args, { env, timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  const cgroups = createCgroupManager({ parent });
  const mounts = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(root));
  const alive = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  };
  const names = async (all = true) =>
    (await diyc(['ps', ...(all ? ['-a'] : []), '--format', '{{.Names}}'])).stdout
      .split('\n')
      .filter((l) => l !== '')
      .sort();
  const inspect = async (name: string) => {
    const r = await diyc(['inspect', name]);
    expect(r.code, r.stderr).toBe(0);
    const [obj] = JSON.parse(r.stdout) as Record<string, any>[];
    return obj as Record<string, any>;
  };
  const port = 20000 + (process.pid % 20000);

  beforeAll(async () => {
    expect((await runBin('diyc-image', ['unpack', busyboxTarball()], { env })).code).toBe(0);
  });

  afterAll(async () => {
    const left = await names();
    if (left.length > 0) await diyc(['rm', '-f', ...left]);
    await runBin('diyc-net', ['clean'], { env });
    for (const n of cgroups.list()) cgroups.remove(cgroups.pathOf(n), { force: true });
    cgroups.pruneParent();
    work.remove();
  });

  it('diyc run --rm IMAGE echo hi: the output, exit 0, and nothing left', async () => {
    const r = await diyc(['run', '--rm', 'busybox', 'echo', 'hi']);
    expect([r.code, r.stdout]).toEqual([0, 'hi\n']);
    expect(await names()).toEqual([]);
    expect(mounts()).toEqual([]);
  });

  it('diyc run --rm IMAGE yes | head -n 1 ends, as `yes | head -n 1` does: the copy of its output stops with its reader', async () => {
    // The output is copied by diyc (for docker logs); a reader that quits ends the copy and
    // the container's pipe: yes's next write fails, and it ends. Before, it ran on or waited.
    const piped = spawnSync('sh', ['-c', 'diyc run --rm --net none busybox yes | head -n 1'], { env, encoding: 'utf8', timeout: 30_000 });
    expect([piped.error?.message, piped.status, piped.stdout]).toEqual([undefined, 0, 'y\n']);
    expect(await names()).toEqual([]);
  });

  it("exits as docker does: the container's code, 126 and 127 when the command cannot run, 125 when diyc failed", async () => {
    expect((await diyc(['run', '--rm', '--net', 'none', 'busybox', 'sh', '-c', 'exit 3'])).code).toBe(3);
    const missing = await diyc(['run', '--rm', '--net', 'none', 'busybox', 'no-such-command']);
    expect([missing.code, missing.stderr.trim()]).toEqual([127, 'diyc run: no-such-command: command not found']);
    expect((await diyc(['run', '--rm', '--net', 'none', 'busybox', '/etc/passwd'])).code).toBe(126);
    // --pull never: nothing leaves this machine for a registry.
    const image = await diyc(['run', '--rm', '--pull', 'never', 'no-such-image', 'true']);
    expect([image.code, image.stderr.trim()]).toEqual([125, 'diyc run: No such image: no-such-image']);
    expect((await diyc(['run', '--bogus', 'busybox', 'true'])).code).toBe(125);
    expect((await diyc(['run', '--gpus', 'all', 'busybox', 'true'])).code).toBe(125);
    expect((await diyc(['run', '--rm', '--restart', 'always', 'busybox', 'true'])).code).toBe(125);
    expect((await diyc(['ps', '--bogus'])).code).toBe(125);
    expect(await names()).toEqual([]);
  });

  it('gives the container no stdin without -i, yours with -i', async () => {
    expect((await diyc(['run', '--rm', '--net', 'none', 'busybox', 'cat'], 'piped\n')).stdout).toBe('');
    expect((await diyc(['run', '--rm', '-i', '--net', 'none', 'busybox', 'cat'], 'piped\n')).stdout).toBe('piped\n');
    // Detached, -i keeps its stdin open: cat waits rather than reading end of file.
    expect((await diyc(['run', '-d', '-i', '--name', 'open-stdin', '--net', 'none', 'busybox', 'cat'])).code).toBe(0);
    expect((await diyc(['run', '-d', '--name', 'no-stdin', '--net', 'none', 'busybox', 'cat'])).code).toBe(0);
    expect((await diyc(['wait', 'no-stdin'])).stdout).toBe('0\n');
    expect(await names(false)).toEqual(['open-stdin']);
    expect((await diyc(['rm', '-f', 'open-stdin', 'no-stdin'])).code).toBe(0);
  });

  it("-e and -v host:ctr: the variable inside, the host's directory read and written", async () => {
    const dir = tempDir('diyc-docker-vol-');
    try {
      writeFileSync(join(dir.path, 'in'), 'from the host\n');
      const r = await diyc([
        'run',
        '--rm',
        '--net',
        'none',
        '-e',
        'GREETING=hello there',
        '-v',
        `${dir.path}:/data`,
        'busybox',
        'sh',
        '-c',
        'echo "$GREETING"; cat /data/in; echo back > /data/out',
      ]);
      expect([r.code, r.stdout]).toEqual([0, 'hello there\nfrom the host\n']);
      expect(readFileSync(join(dir.path, 'out'), 'utf8')).toBe('back\n');
      const ro = await diyc(['run', '--rm', '--net', 'none', '-v', `${dir.path}:/data:ro`, 'busybox', 'sh', '-c', 'echo x > /data/out']);
      expect(ro.code).not.toBe(0);
      expect(readFileSync(join(dir.path, 'out'), 'utf8')).toBe('back\n');
    } finally {
      dir.remove();
    }
  });

  it('-d --name -p -e: the ID, ps, exec, logs, the published port, inspect, stop and rm', async () => {
    const started = await diyc([
      'run',
      '-d',
      '--name',
      'web',
      '-p',
      `${port}:80`,
      '-e',
      'MODE=prod',
      'busybox',
      'sh',
      '-c',
      'echo started; echo to-stderr >&2; echo served > /tmp/index.html; trap "exit 7" TERM; httpd -p 80 -h /tmp; while true; do sleep 0.1; done',
    ]);
    expect(started.code, started.stderr).toBe(0);
    const id = started.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    // ps: docker's table, the short ID, the port; --format; a prefix of the ID names it.
    const ps = (await diyc(['ps'])).stdout.split('\n');
    expect(ps[0]).toMatch(/^CONTAINER ID {3}IMAGE {2,}COMMAND {2,}CREATED {2,}STATUS {2,}PORTS {2,}NAMES$/);
    const row = ps.find((l) => l.endsWith(' web'));
    expect(row).toMatch(
      new RegExp(`^${id.slice(0, 12)} {3}busybox:latest {3}"sh -c echo started;…" .* Up .* 0\\.0\\.0\\.0:${port}->80/tcp {3}web$`),
    );
    expect(await names(false)).toEqual(['web']);
    expect((await diyc(['ps', '-q'])).stdout).toBe(`${id.slice(0, 12)}\n`);

    // exec: the container's environment, its codes.
    const exec = await diyc(['exec', id.slice(0, 8), 'sh', '-c', 'echo "$MODE $(hostname)"']);
    expect([exec.code, exec.stdout]).toEqual([0, `prod ${id.slice(0, 12)}\n`]);
    expect((await diyc(['exec', '-e', 'MODE=dev', '-w', '/tmp', 'web', 'sh', '-c', 'echo "$MODE $PWD"'])).stdout).toBe('dev /tmp\n');
    expect((await diyc(['exec', 'web', 'sh', '-c', 'exit 4'])).code).toBe(4);
    expect((await diyc(['exec', 'web', 'no-such-command'])).code).toBe(127);
    expect((await diyc(['exec', 'no-such-container', 'true'])).code).toBe(125);

    // The port, from the host.
    const page = await runCommand('busybox', ['wget', '-q', '-O', '-', `http://127.0.0.1:${port}/index.html`], { timeoutMs: 10_000 });
    expect(page.stdout).toBe('served\n');

    // logs: what it wrote, stdout and stderr.
    const logs = await diyc(['logs', 'web']);
    expect(logs.code).toBe(0);
    expect(
      `${logs.stdout}${logs.stderr}`
        .split('\n')
        .filter((l) => l !== '')
        .sort(),
    ).toEqual(['started', 'to-stderr']);

    // inspect: the fields scripts read, and the process it names.
    const info = await inspect('web');
    expect(info).toMatchObject({
      Id: id,
      Name: '/web',
      State: { Status: 'running', Running: true, ExitCode: 0 },
      Config: { Image: 'busybox:latest' },
    });
    expect(info.Config.Env).toContain('MODE=prod');
    expect(info.NetworkSettings.IPAddress.startsWith(`${prefix}.`)).toBe(true);
    expect(info.NetworkSettings.Ports).toEqual({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(port) }] });
    expect(alive(info.State.Pid)).toBe(true);
    expect((await diyc(['inspect', '-f', '{{.State.Status}} {{.Name}}', 'web'])).stdout).toBe('running /web\n');
    const none = await diyc(['inspect', 'no-such-thing']);
    expect([none.code, none.stdout.trim(), none.stderr.trim()]).toEqual([1, '[]', 'Error: No such object: no-such-thing']);

    // stop: SIGTERM first (its trap's code), then ps -a shows it exited, without its ports.
    const stop = await diyc(['stop', 'web']);
    expect([stop.code, stop.stdout]).toEqual([0, 'web\n']);
    expect(alive(info.State.Pid)).toBe(false);
    expect(await names(false)).toEqual([]);
    expect((await diyc(['ps', '-a', '--format', '{{.Names}}|{{.Status}}|{{.Ports}}'])).stdout).toMatch(/^web\|Exited \(7\) .* ago\|\n$/);
    expect((await inspect('web')).State).toMatchObject({ Status: 'exited', Running: false, ExitCode: 7 });
    expect((await diyc(['exec', 'web', 'true'])).code).toBe(125);

    // rm: gone, nothing mounted.
    expect((await diyc(['rm', 'web'])).stdout).toBe('web\n');
    expect(await names()).toEqual([]);
    expect(mounts()).toEqual([]);
    const page2 = await runCommand('busybox', ['wget', '-q', '-T', '2', '-O', '-', `http://127.0.0.1:${port}/index.html`], {
      timeoutMs: 10_000,
    });
    expect(page2.stdout).toBe('');
  });

  it('rm refuses a running container, rm -f kills and removes it; ps -a lists every container', async () => {
    expect((await diyc(['run', '-d', '--name', 'sleeper', '--net', 'none', 'busybox', 'sleep', '1000'])).code).toBe(0);
    expect((await diyc(['create', '--name', 'made', '--net', 'none', 'busybox', 'true'])).code).toBe(0);
    expect((await diyc(['run', '--name', 'ended', '--net', 'none', 'busybox', 'sh', '-c', 'exit 2'])).code).toBe(2);
    expect(await names(false)).toEqual(['sleeper']);
    expect(await names()).toEqual(['ended', 'made', 'sleeper']);
    expect((await diyc(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}} {{.State}}'])).stdout).toBe('ended exited\n');
    expect((await diyc(['ps', '-a', '--filter', 'status=created', '--format', '{{.Names}} {{.Status}}'])).stdout).toBe('made Created\n');
    const pid = (await inspect('sleeper')).State.Pid as number;
    const refused = await diyc(['rm', 'sleeper']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/container is running: stop the container before removing or force remove/);
    expect(alive(pid)).toBe(true);
    const forced = await diyc(['rm', '-f', 'sleeper', 'made', 'ended', 'no-such-container']);
    expect([forced.code, forced.stdout]).toEqual([1, 'sleeper\nmade\nended\n']);
    expect(forced.stderr).toContain('No such container: no-such-container');
    expect(alive(pid)).toBe(false);
    expect(await names()).toEqual([]);
    expect(mounts()).toEqual([]);
    expect(existsSync(join(root, 'containers', 'sleeper'))).toBe(false);
  });

  it('a container without --name gets one as docker makes them; start -a runs a created one again in the foreground', async () => {
    const made = await diyc(['create', '--net', 'none', 'busybox', 'sh', '-c', 'echo again; exit 5']);
    expect(made.code).toBe(0);
    const [name = ''] = await names();
    expect(name).toMatch(/^[a-z]+_[a-z]+\d*$/);
    const run = await diyc(['start', '-a', name]);
    expect([run.code, run.stdout]).toEqual([5, 'again\n']);
    expect((await diyc(['wait', name])).stdout).toBe('5\n');
    expect((await diyc(['rm', name])).code).toBe(0);
  });

  it('kill -s, wait, start again in the background, logs --tail, port, and -d --rm removed when it ends', async () => {
    expect(
      (
        await diyc([
          'run',
          '-d',
          '--name',
          'k',
          '-p',
          `${port + 1}:80`,
          'busybox',
          'sh',
          '-c',
          'echo one; echo two; trap "exit 9" HUP; while true; do sleep 0.1; done',
        ])
      ).code,
    ).toBe(0);
    expect((await diyc(['port', 'k'])).stdout).toBe(`80/tcp -> 0.0.0.0:${port + 1}\n`);
    expect((await diyc(['port', 'k', '80'])).stdout).toBe(`0.0.0.0:${port + 1}\n`);
    for (let i = 0; i < 50 && !(await diyc(['logs', 'k'])).stdout.includes('two'); i++) await new Promise((r) => setTimeout(r, 50));
    expect((await diyc(['logs', '--tail', '1', 'k'])).stdout).toBe('two\n');
    expect((await diyc(['kill', '-s', 'HUP', 'k'])).stdout).toBe('k\n');
    expect((await diyc(['wait', 'k'])).stdout).toBe('9\n');
    expect((await diyc(['start', 'k'])).stdout).toBe('k\n');
    expect(await names(false)).toEqual(['k']);
    expect((await diyc(['kill', 'k'])).code).toBe(0);
    expect((await diyc(['wait', 'k'])).stdout).toBe('137\n');
    const again = await diyc(['kill', 'k']);
    expect([again.code, again.stderr]).toEqual([
      1,
      expect.stringMatching(/cannot kill container: k: container [0-9a-f]{12} is not running/),
    ]);
    expect((await diyc(['rm', 'k'])).code).toBe(0);

    expect((await diyc(['run', '-d', '--rm', '--name', 'brief', '--net', 'none', 'busybox', 'sleep', '0.2'])).code).toBe(0);
    let left = await names();
    for (let i = 0; i < 100 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = await names();
    }
    expect(left).toEqual([]);
    expect(mounts()).toEqual([]);
  });

  it("run -it and exec -it: a terminal of its own, the shell's exit code", async () => {
    const vars = { DIYC_ROOT: root, DIYC_BRIDGE: bridge, DIYC_SUBNET: subnet, DIYC_CGROUP_PARENT: parent };
    await onTerminal(['diyc', 'run', '--rm', '-it', '--net', 'none', 'busybox', 'sh'], vars, async (t) => {
      await t.screen(/[#$] ?$/m);
      // The exit typed after the screen showed the answer: the session ends with the shell.
      t.keys('[ -t 0 ] && [ -t 1 ] && echo "on a $(tty)"', 'Enter');
      await t.screen(/on a \/dev\/pts\/\d+/);
      t.keys('exit 4', 'Enter');
      expect(await t.exitStatus()).toBe('4');
    });
    expect((await diyc(['run', '-d', '--name', 'tty', '--net', 'none', 'busybox', 'sleep', '1000'])).code).toBe(0);
    // Twice: the first exec's pty must leave nothing behind that a second one trips on (a
    // /dev/console bound over it stayed, deleted, and the second failed at /dev/ptmx).
    for (const code of ['6', '7']) {
      await onTerminal(['diyc', 'exec', '-it', 'tty', 'sh'], vars, async (t) => {
        await t.screen(/[#$] ?$/m);
        t.keys('[ -t 0 ] && echo "exec on a $(tty)"', 'Enter');
        await t.screen(/exec on a \/dev\/pts\/\d+/);
        t.keys(`exit ${code}`, 'Enter');
        expect(await t.exitStatus()).toBe(code);
      });
    }
    expect((await diyc(['rm', '-f', 'tty'])).code).toBe(0);
    expect(await names()).toEqual([]);
  });

  it('images lists the busybox image as docker does', async () => {
    const images = (await diyc(['images'])).stdout.split('\n');
    expect(images[0]).toMatch(/^REPOSITORY {3}TAG {6}IMAGE ID {7}CREATED {2,}SIZE$/);
    expect(images[1]).toMatch(/^busybox {6}latest {3}[0-9a-f]{12} {3}.* {3}\d+(\.\d+)?[kM]B$/);
    expect((await diyc(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout).toBe('busybox:latest\n');
    const image = JSON.parse((await diyc(['inspect', '--type', 'image', 'busybox'])).stdout) as { Id: string; RepoTags: string[] }[];
    expect(image[0]?.Id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image[0]?.RepoTags).toEqual(['busybox:latest']);
  });

  it("version and info: diyc's version, the containers and images counted, the cgroup version, the state root", async () => {
    const version = await diyc(['version', '--format', '{{.Server.Version}} {{.Client.Os}}']);
    expect([version.code, version.stdout]).toEqual([0, expect.stringMatching(/^\d+\.\d+\.\d+\S* linux\n$/)]);
    expect((await diyc(['version'])).stdout).toMatch(/^Client: diyc\n Version: +\d/);
    expect((await diyc(['create', '--name', 'counted', '--net', 'none', 'busybox', 'true'])).code).toBe(0);
    const info = await diyc(['info', '--format', '{{.Containers}} {{.ContainersStopped}} {{.Images}} {{.DockerRootDir}}']);
    expect([info.code, info.stdout]).toEqual([0, `1 1 1 ${root}\n`]);
    const text = (await diyc(['info'])).stdout.split('\n');
    const v2 = detectLayout().mode === 'unified';
    expect(text).toEqual(
      expect.arrayContaining([
        ' Containers: 1',
        '  Stopped: 1',
        ' Images: 1',
        ` Cgroup Version: ${v2 ? 2 : 1}`,
        ` Docker Root Dir: ${root}`,
      ]),
    );
    expect((await diyc(['rm', 'counted'])).code).toBe(0);
  });

  it('pause freezes every process (its output stops), unpause lets it go on; ps, inspect and exec see it', async () => {
    const run = await diyc(['run', '-d', '--name', 'pz', '--net', 'none', 'busybox', 'sh', '-c', 'while :; do echo x; sleep 0.05; done']);
    expect(run.code, run.stderr).toBe(0);
    const lines = async () => (await diyc(['logs', 'pz'])).stdout.split('\n').length;
    expect((await diyc(['pause', 'pz'])).stdout).toBe('pz\n');
    expect((await diyc(['ps', '--format', '{{.Names}} {{.Status}}'])).stdout).toMatch(/^pz Up .* \(Paused\)\n$/);
    expect((await inspect('pz')).State).toMatchObject({ Status: 'paused', Paused: true, Running: true });
    const before = await lines();
    await new Promise((r) => setTimeout(r, 500));
    expect(await lines()).toBe(before);
    const exec = await diyc(['exec', 'pz', 'true']);
    expect([exec.code, exec.stderr]).toEqual([125, expect.stringContaining('is paused, unpause the container before exec')]);
    const twice = await diyc(['pause', 'pz']);
    expect([twice.code, twice.stderr]).toEqual([1, expect.stringMatching(/container [0-9a-f]{64} is already paused/)]);
    expect((await diyc(['unpause', 'pz'])).stdout).toBe('pz\n');
    await new Promise((r) => setTimeout(r, 500));
    expect(await lines()).toBeGreaterThan(before);
    const again = await diyc(['unpause', 'pz']);
    expect([again.code, again.stderr]).toEqual([1, expect.stringMatching(/Container [0-9a-f]{64} is not paused/)]);
    expect((await diyc(['pause', 'nosuch'])).code).toBe(1);
    expect((await diyc(['rm', '-f', 'pz'])).code).toBe(0);
  });

  it("top: the container's processes as ps -ef (or the ps options given) prints them, and nothing else", async () => {
    expect((await diyc(['run', '-d', '--name', 'tp', '--net', 'none', 'busybox', 'sh', '-c', 'sleep 1000 & sleep 999'])).code).toBe(0);
    const pid = (await inspect('tp')).State.Pid as number;
    let top = await diyc(['top', 'tp']);
    for (let i = 0; i < 50 && !top.stdout.includes('sleep 1000'); i++) top = await diyc(['top', 'tp']);
    const rows = top.stdout.trimEnd().split('\n');
    expect(rows[0]?.split(/\s+/)).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    // sh runs sleep 1000 in the background, then execs sleep 999: two processes.
    expect(
      rows
        .slice(1)
        .map((r) => r.split(/\s+/).slice(7).join(' '))
        .sort(),
    ).toEqual(['sleep 1000', 'sleep 999']);
    expect(rows.some((r) => r.split(/\s+/)[1] === String(pid))).toBe(true);
    const custom = await diyc(['top', 'tp', '-o', 'pid,comm']);
    expect(custom.stdout.split('\n')[0]?.split(/\s+/)).toEqual(['PID', 'COMMAND']);
    expect(custom.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect((await diyc(['stop', '-t', '0', 'tp'])).code).toBe(0);
    const stopped = await diyc(['top', 'tp']);
    expect([stopped.code, stopped.stderr]).toEqual([1, expect.stringMatching(/container [0-9a-f]{64} is not running/)]);
    expect((await diyc(['rm', 'tp'])).code).toBe(0);
  });

  it('stats --no-stream: CPU %, memory against -m, PIDs, for the running containers', async () => {
    expect(
      (await diyc(['run', '-d', '--name', 'busy', '--net', 'none', '-m', '64m', 'busybox', 'sh', '-c', 'while :; do :; done'])).code,
    ).toBe(0);
    expect((await diyc(['create', '--name', 'idle', '--net', 'none', 'busybox', 'true'])).code).toBe(0);
    const table = await diyc(['stats', '--no-stream']);
    expect(table.code, table.stderr).toBe(0);
    const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^CONTAINER ID {3}NAME {3}CPU % {3,}MEM USAGE \/ LIMIT {3}MEM % {3,}NET I\/O {3}BLOCK I\/O {3}PIDS$/);
    expect(rest).toEqual([]);
    const cells = row?.split(/ {3,}/) ?? [];
    expect(cells[0]).toBe((await inspect('busy')).Id.slice(0, 12));
    expect(cells[1]).toBe('busy');
    // A loop that never sleeps: most of a CPU (the machine is shared with other work).
    expect(Number.parseFloat(cells[2] ?? '')).toBeGreaterThan(20);
    expect(cells[3]).toMatch(/^\d+(\.\d+)?[KM]iB \/ 64MiB$/);
    expect(cells[7]).toBe('1');
    const all = await diyc(['stats', '--no-stream', '-a', '--format', '{{.Name}} {{.PIDs}} {{.MemPerc}}']);
    expect(all.stdout).toMatch(/^idle -- --\nbusy 1 \d+\.\d\d%\n$/);
    expect((await diyc(['stats', '--no-stream', 'nosuch'])).code).toBe(1);
    // Streaming: the table again each second, the screen cleared before each, until interrupted.
    const stream = spawnSync('timeout', ['-s', 'INT', '3.5', 'diyc', 'stats', '--format', '{{.Name}} {{.PIDs}}', 'busy'], {
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    const frames = stream.stdout.split('\x1b[2J\x1b[H').filter(Boolean);
    expect(frames.length).toBeGreaterThanOrEqual(2);
    expect(new Set(frames)).toEqual(new Set(['busy 1\n']));
    expect((await diyc(['rm', '-f', 'busy', 'idle'])).code).toBe(0);
  });

  it('restart: a new process (stopped with the signal first), running again; a stopped container is started', async () => {
    expect((await diyc(['run', '-d', '--name', 'rs', '--net', 'none', 'busybox', 'sleep', '1000'])).code).toBe(0);
    const first = (await inspect('rs')).State;
    expect((await diyc(['restart', '-t', '0', 'rs'])).stdout).toBe('rs\n');
    const second = (await inspect('rs')).State;
    expect(second.Status).toBe('running');
    expect(second.Pid).not.toBe(first.Pid);
    expect(alive(first.Pid)).toBe(false);
    expect(second.StartedAt > first.StartedAt).toBe(true);
    expect((await diyc(['stop', '-t', '0', 'rs'])).code).toBe(0);
    expect((await diyc(['restart', 'rs'])).stdout).toBe('rs\n');
    expect((await inspect('rs')).State.Status).toBe('running');
    expect((await diyc(['restart', 'nosuch'])).code).toBe(1);
    expect((await diyc(['rm', '-f', 'rs'])).code).toBe(0);
  });

  it("keeps a foreground run's output for logs, as docker does; its stdin is an empty pipe, not the host's /dev/null", async () => {
    const r = await diyc([
      'run',
      '--name',
      'fg',
      '--net',
      'none',
      'busybox',
      'sh',
      '-c',
      'echo out; echo err >&2; readlink /proc/self/fd/0; exit 3',
    ]);
    expect([r.code, r.stdout, r.stderr]).toEqual([3, expect.stringMatching(/^out\npipe:\[\d+\]\n$/), 'err\n']);
    const logs = await diyc(['logs', 'fg']);
    expect(`${logs.stdout}${logs.stderr}`.split('\n').filter(Boolean).sort()).toEqual(['err', 'out', expect.stringMatching(/^pipe:/)]);
    expect((await diyc(['rm', 'fg'])).code).toBe(0);
  });

  it('logs -f follows what a detached container writes until it ends', async () => {
    const r = await diyc([
      'run',
      '-d',
      '--name',
      'ticker',
      '--net',
      'none',
      'busybox',
      'sh',
      '-c',
      'for i in 1 2 3 4 5; do echo tick $i; sleep 0.3; done',
    ]);
    expect(r.code, r.stderr).toBe(0);
    // Started while the container has written one line or two: the rest arrive as it writes them.
    const followed = await diyc(['logs', '-f', 'ticker']);
    expect([followed.code, followed.stdout]).toEqual([0, 'tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n']);
    expect((await inspect('ticker')).State.Status).toBe('exited');
    expect((await diyc(['rm', 'ticker'])).code).toBe(0);
  });

  it("run's flags, checked from inside: --read-only, --tmpfs, --mount, -w, -u, --entrypoint, --init, --hostname, --add-host, --dns, caps, no-new-privileges, --ulimit, --sysctl", async () => {
    const inside = async (...args: string[]) => {
      const r = await diyc(['run', '--rm', '--net', 'none', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(
      await inside(
        '--read-only',
        '--tmpfs',
        '/scratch',
        'busybox',
        'sh',
        '-c',
        'touch /x 2>/dev/null || echo ro; touch /scratch/y && echo rw',
      ),
    ).toBe('ro\nrw\n');
    expect(await inside('--mount', 'type=tmpfs,target=/t,tmpfs-size=1m', 'busybox', 'sh', '-c', "df -k /t | awk 'NR==2{print $2}'")).toBe(
      '1024\n',
    );
    expect(
      await inside(
        '--mount',
        `type=bind,source=${work.path},target=/w,readonly`,
        'busybox',
        'sh',
        '-c',
        'touch /w/x 2>/dev/null || echo ro',
      ),
    ).toBe('ro\n');
    expect(await inside('-w', '/tmp', '-u', '1000:1000', 'busybox', 'sh', '-c', 'echo $PWD $(id -u):$(id -g)')).toBe('/tmp 1000:1000\n');
    expect(await inside('--entrypoint', 'echo', 'busybox', 'hi', 'there')).toBe('hi there\n');
    expect(await inside('--init', 'busybox', 'sh', '-c', 'head -c 9 /proc/1/cmdline')).toBe('/dev/init');
    expect(
      await inside(
        '--hostname',
        'h1',
        '--add-host',
        'db:10.1.2.3',
        '--dns',
        '10.9.9.9',
        'busybox',
        'sh',
        '-c',
        'hostname; grep -w db /etc/hosts; grep nameserver /etc/resolv.conf',
      ),
    ).toBe('h1\n10.1.2.3\tdb\nnameserver 10.9.9.9\n');
    expect(await inside('--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN', 'busybox', 'grep', 'CapEff', '/proc/self/status')).toBe(
      'CapEff:\t0000000000001000\n',
    );
    expect(await inside('--security-opt', 'no-new-privileges', 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status')).toBe(
      'NoNewPrivs:\t1\n',
    );
    expect(await inside('--ulimit', 'nofile=100:200', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn')).toBe('100\n200\n');
    expect(await inside('--sysctl', 'net.ipv4.ip_forward=1', 'busybox', 'cat', '/proc/sys/net/ipv4/ip_forward')).toBe('1\n');
    // What create recorded, as inspect's HostConfig and Config show it.
    const made = await diyc([
      'create',
      '--name',
      'flags',
      '-m',
      '64m',
      '--cpus',
      '0.5',
      '--pids-limit',
      '50',
      '-l',
      'team=a',
      '--stop-signal',
      'SIGINT',
      '--stop-timeout',
      '3',
      '-p',
      `127.0.0.1:${port + 1}-${port + 2}:80-81`,
      'busybox',
      'true',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const info = await inspect('flags');
    expect([info.HostConfig.Memory, info.HostConfig.NanoCpus, info.HostConfig.PidsLimit, info.Config.Labels.team]).toEqual([
      64 * 1024 * 1024,
      500_000_000,
      50,
      'a',
    ]);
    expect([info.Config.StopSignal, info.Config.StopTimeout]).toEqual(['SIGINT', 3]);
    expect(info.HostConfig.PortBindings).toEqual({
      '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port + 1) }],
      '81/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port + 2) }],
    });
    expect((await diyc(['rm', 'flags'])).code).toBe(0);
  });

  it('ps -q piped to rm -f removes every running container; flags may follow the names (rm a b -f)', async () => {
    for (const n of ['q1', 'q2'])
      expect((await diyc(['run', '-d', '--name', n, '--net', 'none', 'busybox', 'sleep', '1000'])).code).toBe(0);
    expect((await diyc(['create', '--name', 'q3', '--net', 'none', 'busybox', 'true'])).code).toBe(0);
    const piped = spawnSync('sh', ['-c', 'diyc ps -q | xargs -r diyc rm -f'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(piped.status, piped.stderr).toBe(0);
    expect(piped.stdout.split('\n').filter(Boolean)).toHaveLength(2);
    expect(await names()).toEqual(['q3']);
    // docker's CLI reads flags anywhere for commands whose operands are names.
    expect((await diyc(['run', '-d', '--name', 'q4', '--net', 'none', 'busybox', 'sleep', '1000'])).code).toBe(0);
    const after = await diyc(['rm', 'q3', 'q4', '-f']);
    expect([after.code, after.stdout]).toEqual([0, 'q3\nq4\n']);
    expect(await names()).toEqual([]);
  });

  it('--restart on-failure:3 runs it again three times, then leaves it exited; stop ends an always one for good', async () => {
    const r = await diyc([
      'run',
      '-d',
      '--name',
      'flaky',
      '--net',
      'none',
      '--restart',
      'on-failure:3',
      'busybox',
      'sh',
      '-c',
      'echo try; exit 3',
    ]);
    expect(r.code, r.stderr).toBe(0);
    // The delays are docker's: 100, 200, 400 ms between runs.
    let state: Record<string, any> = {};
    for (let i = 0; i < 100; i++) {
      const info = await inspect('flaky');
      state = { status: info.State.Status, count: info.RestartCount, code: info.State.ExitCode };
      if (state.status === 'exited' && state.count === 3) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    await new Promise((done) => setTimeout(done, 1000));
    const info = await inspect('flaky');
    expect([info.State.Status, info.RestartCount, info.State.ExitCode, info.HostConfig.RestartPolicy]).toEqual([
      'exited',
      3,
      3,
      { Name: 'on-failure', MaximumRetryCount: 3 },
    ]);
    expect((await diyc(['logs', 'flaky'])).stdout).toBe('try\n'.repeat(4));
    // A success is not a failure: on-failure leaves it.
    expect((await diyc(['run', '-d', '--name', 'fine', '--net', 'none', '--restart', 'on-failure', 'busybox', 'true'])).code).toBe(0);
    await diyc(['wait', 'fine']);
    await new Promise((done) => setTimeout(done, 500));
    expect((await inspect('fine')).RestartCount).toBe(0);
    // always: running again after each end; `stop` ends it, and no restart comes after.
    expect((await diyc(['run', '-d', '--name', 'again', '--net', 'none', '--restart', 'always', 'busybox', 'sleep', '0.2'])).code).toBe(0);
    for (let i = 0; i < 50 && (await inspect('again')).RestartCount < 2; i++) await new Promise((done) => setTimeout(done, 100));
    expect((await inspect('again')).RestartCount).toBeGreaterThanOrEqual(2);
    expect((await diyc(['stop', '-t', '1', 'again'])).code).toBe(0);
    const stopped = await inspect('again');
    await new Promise((done) => setTimeout(done, 1500));
    const later = await inspect('again');
    expect([later.State.Status, later.RestartCount]).toEqual(['exited', stopped.RestartCount]);
    expect((await diyc(['rm', 'flaky', 'fine', 'again'])).code).toBe(0);
  });

  it('named volumes outlive their container: volume create, -v NAME:/path, ls, inspect, rm refused while in use, prune', async () => {
    expect((await diyc(['volume', 'create', 'notes'])).stdout).toBe('notes\n');
    const wrote = await diyc(['run', '--rm', '--net', 'none', '-v', 'notes:/data', 'busybox', 'sh', '-c', 'echo kept > /data/note']);
    expect(wrote.code, wrote.stderr).toBe(0);
    expect(await names()).toEqual([]);
    const read = await diyc([
      'run',
      '--rm',
      '--net',
      'none',
      '-v',
      'notes:/data:ro',
      'busybox',
      'sh',
      '-c',
      'cat /data/note; touch /data/x',
    ]);
    expect([read.stdout, read.code]).toEqual(['kept\n', 1]);
    // -v with a new name makes the volume; an anonymous one (-v /path) goes with --rm.
    expect(
      (await diyc(['run', '-d', '--name', 'holder', '--net', 'none', '-v', 'made:/m', '-v', '/anon', 'busybox', 'sleep', '1000'])).code,
    ).toBe(0);
    const listed = (await diyc(['volume', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').filter(Boolean);
    expect(listed.filter((n) => !/^[0-9a-f]{64}$/.test(n))).toEqual(['made', 'notes']);
    expect(listed.filter((n) => /^[0-9a-f]{64}$/.test(n))).toHaveLength(1);
    expect((await diyc(['volume', 'ls', '-q', '--filter', 'dangling=true'])).stdout).toBe('notes\n');
    const mountpoint = (await diyc(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'notes'])).stdout.trim();
    expect(readFileSync(join(mountpoint, 'note'), 'utf8')).toBe('kept\n');
    const inUse = await diyc(['volume', 'rm', 'made']);
    expect([inUse.code, inUse.stderr]).toEqual([1, expect.stringContaining('volume is in use - [holder]')]);
    expect((await diyc(['rm', '-f', '-v', 'holder'])).code).toBe(0);
    expect((await diyc(['volume', 'ls', '-q'])).stdout).toBe('made\nnotes\n');
    expect((await diyc(['volume', 'rm', 'made', 'notes'])).stdout).toBe('made\nnotes\n');
    expect(existsSync(mountpoint)).toBe(false);
    expect((await diyc(['volume', 'rm', 'notes'])).code).toBe(1);
    expect((await diyc(['volume', 'rm', '-f', 'notes'])).code).toBe(0);
    expect((await diyc(['volume', 'create', '../evil'])).code).toBe(1);
  });

  it('--health-cmd: starting, then unhealthy after the retries, healthy once the check passes; ps and inspect show it', async () => {
    const r = await diyc([
      'run',
      '-d',
      '--name',
      'checked',
      '--net',
      'none',
      '--health-cmd',
      'cat /tmp/ready',
      '--health-interval',
      '300ms',
      '--health-retries',
      '2',
      'busybox',
      'sleep',
      '1000',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const health = async () => (await inspect('checked')).State.Health as { Status: string; FailingStreak: number; Log: any[] };
    const until = async (status: string) => {
      for (let i = 0; i < 100 && (await health()).Status !== status; i++) await new Promise((done) => setTimeout(done, 100));
      return health();
    };
    const bad = await until('unhealthy');
    expect(bad.Status).toBe('unhealthy');
    expect(bad.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(bad.Log.at(-1)).toMatchObject({ ExitCode: 1, Output: expect.stringContaining('No such file') });
    expect((await diyc(['ps', '--format', '{{.Status}}'])).stdout).toMatch(/^Up .* \(unhealthy\)\n$/);
    expect((await diyc(['exec', 'checked', 'sh', '-c', 'echo ok > /tmp/ready'])).code).toBe(0);
    const good = await until('healthy');
    expect([good.Status, good.FailingStreak, good.Log.at(-1).Output]).toEqual(['healthy', 0, 'ok\n']);
    expect((await diyc(['inspect', '-f', '{{.Config.Healthcheck.Test}}', 'checked'])).stdout).toBe('[CMD-SHELL cat /tmp/ready]\n');
    expect((await diyc(['rm', '-f', 'checked'])).code).toBe(0);
  });

  it('rename: a stopped container under its new name, its ID and files kept; a running one refused', async () => {
    expect((await diyc(['run', '--name', 'before', '--net', 'none', 'busybox', 'sh', '-c', 'echo kept > /k'])).code).toBe(0);
    const id = (await inspect('before')).Id;
    expect((await diyc(['rename', 'before', 'after'])).code).toBe(0);
    expect(await names()).toEqual(['after']);
    expect((await inspect('after')).Id).toBe(id);
    expect((await diyc(['start', '-a', 'after'])).code).toBe(0);
    expect((await diyc(['run', '-d', '--name', 'busy', '--net', 'none', 'busybox', 'sleep', '1000'])).code).toBe(0);
    const refused = await diyc(['rename', 'busy', 'other']);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('stop it first')]);
    expect((await diyc(['rename', 'after', 'busy'])).code).toBe(1);
    expect((await diyc(['rm', '-f', 'after', 'busy'])).code).toBe(0);
    expect(mounts()).toEqual([]);
  });

  it('network ls lists bridge (our bridge), host and none; system prune -f removes stopped containers and keeps running ones', async () => {
    const nets = await diyc(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
    expect(nets.stdout).toBe('bridge bridge\nhost host\nnone null\n');
    expect((await diyc(['network', 'inspect', '-f', '{{index .Options "com.docker.network.bridge.name"}}', 'bridge'])).stdout).toBe(
      `${bridge}\n`,
    );
    expect((await diyc(['run', '-d', '--name', 'stays', '--net', 'none', 'busybox', 'sleep', '1000'])).code).toBe(0);
    expect((await diyc(['run', '--name', 'goes', '--net', 'none', 'busybox', 'true'])).code).toBe(0);
    const goes = (await inspect('goes')).Id;
    const pruned = await diyc(['system', 'prune', '-f']);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(new RegExp(`^Deleted Containers:\n${goes}\n\nTotal reclaimed space: `));
    expect(await names()).toEqual(['stays']);
    // Without -f it asks; no answer is no.
    expect((await diyc(['container', 'prune'], '')).stdout).toContain('Are you sure you want to continue? [y/N]');
    expect((await diyc(['rm', '-f', 'stays'])).code).toBe(0);
  });

  it('tag gives an image another name; rmi takes a name away, or the image with its last one, not while a container uses it', async () => {
    expect((await diyc(['tag', 'busybox', 'mine/box:1'])).code).toBe(0);
    expect((await diyc(['tag', 'busybox', 'busybox:latest'])).code).toBe(0);
    expect((await diyc(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout).toBe('busybox:latest\nmine/box:1\n');
    expect((await diyc(['run', '--rm', '--net', 'none', 'mine/box:1', 'echo', 'tagged'])).stdout).toBe('tagged\n');
    expect((await diyc(['tag', 'nosuch', 'x:1'])).code).toBe(1);
    expect((await diyc(['rmi', 'mine/box:1'])).stdout).toBe('Untagged: mine/box:1\n');
    expect((await diyc(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout).toBe('busybox:latest\n');

    // A second image (the same tarball under another name): removed with its last name.
    expect((await runBin('diyc-image', ['unpack', '--name', 'bb2', busyboxTarball()], { env })).code).toBe(0);
    expect((await diyc(['tag', 'bb2', 'bb2:v1'])).code).toBe(0);
    expect((await diyc(['run', '-d', '--name', 'user', '--net', 'none', 'bb2:v1', 'sleep', '1000'])).code).toBe(0);
    const used = await diyc(['rmi', 'bb2:v1']);
    expect([used.code, used.stderr]).toEqual([
      1,
      expect.stringMatching(/unable to remove repository reference "bb2:v1" \(must force\) - container [0-9a-f]{12} is using/),
    ]);
    expect((await diyc(['rm', '-f', 'user'])).code).toBe(0);
    const gone = await diyc(['rmi', 'bb2:v1']);
    expect([gone.code, gone.stdout]).toEqual([0, expect.stringMatching(/^Untagged: bb2:v1\nDeleted: sha256:[0-9a-f]{64}\n/)]);
    expect((await diyc(['images', '--format', '{{.Repository}}'])).stdout).toBe('busybox\n');
    const missing = await diyc(['rmi', 'bb2:v1', 'nosuch']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('No such image: nosuch')]);
    // busybox's layers were shared, and stay.
    expect((await diyc(['run', '--rm', '--net', 'none', 'busybox', 'echo', 'still'])).stdout).toBe('still\n');
  });
});

// Docker Hub, as a mirror on this machine's loopback (docker-registry, pushed with skopeo):
// `diyc pull busybox` and a `diyc run` of a missing image go there, and nowhere else.
describe.skipIf(!isRoot || !have('docker-registry') || !have('skopeo'))(
  `diyc pull and run through a registry mirror (${rootReason})`,
  () => {
    // Made when the tests run, not when the file is collected: a run that filters these
    // tests out runs no afterAll, and left an empty directory in /tmp each time.
    let work: ReturnType<typeof tempDir>;
    const parent = `diyc-e2e-dockerpull-${process.pid}`;
    let registry: Registry;
    let env: NodeJS.ProcessEnv;
    const diyc = (...args: string[]) => runBin('diyc', args, { env, timeoutMs: 120_000 });

    beforeAll(async () => {
      work = tempDir('diyc-docker-pull-e2e-');
      registry = await startRegistry(join(work.path, 'registry'));
      await push(
        `docker-archive:${await dockerArchive(work.path, [readFileSync(busyboxTarball())], 'busybox:latest')}`,
        `${registry.host}/library/busybox:latest`,
      );
      await push(
        `docker-archive:${await dockerArchive(work.path, [readFileSync(busyboxTarball())], 'busybox:1.36')}`,
        `${registry.host}/library/busybox:1.36`,
      );
      env = {
        ...process.env,
        DIYC_ROOT: join(work.path, 'state'),
        DIYC_REGISTRY_MIRROR: registry.host,
        DOCKER_CONFIG: join(work.path, 'docker'),
        DIYC_CGROUP_PARENT: parent,
      };
    }, 180_000);

    afterAll(async () => {
      await registry?.stop();
      createCgroupManager({ parent }).pruneParent();
      work?.remove();
    });

    it('pulls as docker says it does, then says the image is up to date; images and inspect show it', async () => {
      const first = await diyc('pull', 'busybox');
      expect(first.code, first.stderr).toBe(0);
      const lines = first.stdout.split('\n');
      expect(lines.slice(0, 2)).toEqual(['Using default tag: latest', 'latest: Pulling from library/busybox']);
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^[0-9a-f]{12}: Pull complete$/),
          expect.stringMatching(/^Digest: sha256:[0-9a-f]{64}$/),
          'Status: Downloaded newer image for busybox:latest',
          'docker.io/library/busybox:latest',
        ]),
      );
      const second = await diyc('pull', 'busybox:latest');
      expect(second.stdout).toContain('Status: Image is up to date for busybox:latest');
      expect((await diyc('pull', '-q', 'busybox')).stdout).toBe('docker.io/library/busybox:latest\n');
      expect((await diyc('images', '--format', '{{.Repository}} {{.Tag}}')).stdout).toBe('busybox latest\n');
      expect((await diyc('inspect', '-f', '{{.RepoTags}}', 'busybox')).stdout).toBe('[busybox:latest]\n');
    });

    it('pulls a tagged image (busybox:1.36), lists it by its tag, and runs it by that name', async () => {
      const r = await diyc('pull', 'busybox:1.36');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe('1.36: Pulling from library/busybox');
      expect(r.stdout).toContain('docker.io/library/busybox:1.36');
      expect((await diyc('images', '--format', '{{.Repository}}:{{.Tag}}')).stdout.split('\n')).toContain('busybox:1.36');
      const ran = await diyc('run', '--rm', '--net', 'none', '--pull', 'never', 'busybox:1.36', 'echo', 'tagged');
      expect([ran.code, ran.stdout]).toEqual([0, 'tagged\n']);
    });

    it('run pulls an image it does not have, saying so on stderr, and runs it', async () => {
      const other = { ...env, DIYC_ROOT: join(work.path, 'state2') };
      const r = await runBin('diyc', ['run', '--rm', '--net', 'none', 'busybox', 'echo', 'ran'], { env: other, timeoutMs: 120_000 });
      expect([r.code, r.stdout]).toEqual([0, 'ran\n']);
      expect(r.stderr.split('\n')[0]).toBe("Unable to find image 'busybox:latest' locally");
    });
  },
);
