// nsexec [-p] [-n] [-u HOST] [-i] [-C] [--root DIR] [--netns NAME] [-v] [--] CMD [ARG...]
// nsexec --config FILE|-
import { existsSync } from 'node:fs';
import { createTrace, defineCli, one, type CliContext, type Trace } from '@diyc/cli';
import { DiycError, readRecordInput, type ContainerRecord } from '@diyc/record';
import { exitCodeOf } from '@diyc/syscalls';
import { recordFromOptions } from './options.js';
import { describeMountStep } from './plan-fs.js';
import { planFromRecord } from './plan.js';
import { releaseChild, startRecord, superviseChild } from './run.js';

/** Exit code for nsexec's own failures, before the command ran (as docker and podman use). */
export const EXIT_RUNTIME_ERROR = 125;

export const nsexecCommand = defineCli({
  meta: {
    name: 'nsexec',
    description:
      "Run a command in new Linux namespaces (always a new mount namespace with a fresh /proc). Exit status is the command's; 128+N when signal N ended it; 125 when nsexec itself failed; 126 not executable; 127 not found.",
  },
  stopAtOperand: true,
  failureCode: EXIT_RUNTIME_ERROR,
  args: {
    pid: { type: 'boolean', alias: 'p', description: 'new PID namespace: the command is PID 1' },
    net: { type: 'boolean', alias: 'n', description: 'new network namespace: only a loopback interface, down' },
    uts: { type: 'string', alias: 'u', valueHint: 'HOSTNAME', description: 'new UTS namespace with this hostname' },
    ipc: { type: 'boolean', alias: 'i', description: 'new IPC namespace' },
    cgroupns: { type: 'boolean', alias: 'C', description: 'new cgroup namespace' },
    root: { type: 'string', valueHint: 'DIR', description: 'pivot_root into DIR, with a fresh /proc, a minimal /dev and a read-only /sys' },
    netns: { type: 'string', valueHint: 'NAME|PATH', description: 'join this network namespace (/run/netns/NAME) instead of making one' },
    config: { type: 'string', valueHint: 'FILE|-', description: 'run a container record (an OCI config.json subset); - reads stdin' },
    verbose: { type: 'boolean', alias: 'v', description: 'trace each step on stderr' },
    command: { type: 'positional', description: 'the command and its arguments', required: false },
  },
  main: runNsexec,
});

async function loadRecord(ctx: CliContext): Promise<ContainerRecord> {
  const { flags, operands } = ctx;
  const config = one(flags.config);
  if (config !== undefined) {
    if (operands.length > 0) throw new DiycError('usage', '--config takes the command from the record: give no CMD');
    if (config !== '-' && !existsSync(config)) throw new DiycError('not-found', `${config}: no such file`);
    return readRecordInput(config);
  }
  if (operands.length === 0) throw new DiycError('usage', 'missing CMD');
  const root = one(flags.root);
  if (root !== undefined && !existsSync(root)) throw new DiycError('not-found', `--root ${root}: no such directory`);
  return recordFromOptions(operands, {
    pid: flags.pid === true,
    net: flags.net === true,
    uts: one(flags.uts),
    ipc: flags.ipc === true,
    cgroupns: flags.cgroupns === true,
    root,
    netns: one(flags.netns),
  });
}

export async function runNsexec(ctx: CliContext): Promise<number> {
  const trace = createTrace(ctx.flags.verbose === true);
  const record: ContainerRecord = await loadRecord(ctx);
  if (process.getuid?.() !== 0) throw new DiycError('missing', 'nsexec needs root to create namespaces: run it with sudo');
  const foreground = process.stdin.isTTY === true;
  traceRecord(record, trace);
  const child = startRecord(record, { foreground, hold: true });
  trace(`cloned child ${child.pid}`);
  const status = await superviseChild(child, {
    foreground,
    release: async () => {
      await releaseChild(child, record.process.args[0] ?? '');
      trace(`exec ${record.process.args.join(' ')}`);
    },
  });
  trace(status.signal !== null ? `child killed by signal ${status.signal}` : `child exited with ${status.code}`);
  return exitCodeOf(status);
}

/** Traces what the child will do: the namespaces, cgroup, hostname, mounts and pivot of its plan. */
export function traceRecord(record: ContainerRecord, trace: Trace): void {
  if (!trace.enabled) return;
  const plan = planFromRecord(record);
  trace(
    `namespaces: new ${plan.create?.join(', ') || 'none'}${plan.join?.length ? `; join ${plan.join.map((j) => `${j.type} ${j.path}`).join(', ')}` : ''}`,
  );
  for (const file of plan.cgroupProcs ?? []) trace(`enter cgroup ${file}`, 'CONTAINER');
  if (plan.hostname) trace(`sethostname ${plan.hostname}`, 'CONTAINER');
  if (plan.create?.includes('mount')) trace('make / private', 'CONTAINER');
  for (const step of plan.mounts ?? []) {
    const line = describeMountStep(step);
    if (line) trace(line, 'CONTAINER');
  }
  if (plan.root) trace(`pivot_root ${plan.root}`, 'CONTAINER');
  const { user, capabilities, noNewPrivileges } = record.process;
  if (user) trace(`setgroups, setgid ${user.gid}, setuid ${user.uid}`, 'CONTAINER');
  if (capabilities?.bounding) {
    const names = capabilities.bounding.map((c) => c.replace(/^CAP_/, '').toLowerCase());
    trace(`capabilities: ${names.join(' ') || 'none'}`, 'CONTAINER');
  }
  if (noNewPrivileges) trace('no_new_privs', 'CONTAINER');
  const seccomp = record.linux.seccomp;
  if (seccomp) {
    const rules = (seccomp.syscalls ?? []).reduce((n, rule) => n + rule.names.length, 0);
    trace(`seccomp: ${rules} system call rules, the rest ${seccomp.defaultAction}`, 'CONTAINER');
  }
}
