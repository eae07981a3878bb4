// The same stages as separate processes joined by pipes (--pipeline), and the shell
// line that does it by hand (--dry-run), both from the one stage table:
//
//   mkdir -p ROOT/containers/NAME && diyc-run --spec ... NAME IMAGE CMD \
//     | diyc-overlay mount NAME --image IMAGE | diyc-cgroup create NAME --memory ... \
//     | diyc-net attach NAME --ip ... > ROOT/containers/NAME/config.json \
//     && diyc-run --start NAME
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAGES } from '@diyc/container';
import { containerDir, DiycError, type ContainerRecord } from '@diyc/record';
import type { RunOptions } from './options.js';

export interface StageCommand {
  /** The bin, as a user types it. */
  bin: string;
  args: string[];
  /** The npm package whose bin it is. */
  package: string;
}

/** The commands that prepare a container from its base record, ending with its record on stdout. */
export function pipelineStages(options: RunOptions, base: ContainerRecord): StageCommand[] {
  const spec: StageCommand = {
    bin: 'diyc-run',
    package: '@diyc/run',
    args: ['--spec', ...specFlags(options), '--', options.name, options.image, ...options.command],
  };
  return [spec, ...STAGES.filter((s) => s.applies(base)).map((s) => ({ ...s.command(base, { name: options.name }), package: s.package }))];
}

/**
 * The flags of diyc-run that shape the base record (the --spec stage). Limits, an address
 * and published ports are left to the flags of the stages that own them.
 */
export function specFlags(options: RunOptions): string[] {
  const flags = ['--net', options.net];
  if (options.entrypoint !== undefined) flags.push('--entrypoint', options.entrypoint.join(''));
  for (const f of options.envFiles) flags.push('--env-file', f);
  for (const e of options.env) flags.push('--env', e);
  if (options.readOnly) flags.push('--read-only');
  for (const r of options.ulimits) flags.push('--ulimit', `${r.type.slice(7).toLowerCase()}=${r.soft}:${r.hard}`);
  for (const [key, value] of Object.entries(options.sysctls)) flags.push('--sysctl', `${key}=${value}`);
  if (options.workdir !== undefined) flags.push('--workdir', options.workdir);
  if (options.user !== undefined) flags.push('--user', options.user);
  for (const v of options.volumes) flags.push('--volume', `${v.host}:${v.container}${v.readonly ? ':ro' : ''}`);
  for (const t of options.tmpfs) flags.push('--tmpfs', t.options.length > 0 ? `${t.path}:${t.options.join(',')}` : t.path);
  if (options.init) flags.push('--init');
  for (const ip of options.dns.servers) flags.push('--dns', ip);
  for (const d of options.dns.search) flags.push('--dns-search', d);
  for (const h of options.dns.hosts) flags.push('--add-host', `${h.name}:${h.ip}`);
  const { security } = options;
  if (security.privileged) flags.push('--privileged');
  for (const cap of security.capDrop) flags.push('--cap-drop', cap);
  for (const cap of security.capAdd) flags.push('--cap-add', cap);
  if (security.noNewPrivileges) flags.push('--no-new-privileges');
  if (security.seccomp === 'unconfined') flags.push('--security-opt', 'seccomp=unconfined');
  else if (typeof security.seccomp === 'object') flags.push('--security-opt', `seccomp=${security.seccomp.file}`);
  return flags;
}

export function startFlags(options: RunOptions): string[] {
  return [...(options.remove ? ['--rm'] : []), ...(options.verbose ? ['-v'] : []), '--start', options.name];
}

const quote = (word: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

export function shellLine(options: RunOptions, base: ContainerRecord, root: string): string {
  const stages = pipelineStages(options, base).map((s) => [s.bin, ...s.args].map(quote).join(' '));
  const config = join(containerDir(options.name, root), 'config.json');
  return `mkdir -p ${quote(containerDir(options.name, root))} && ${stages.join(' | ')} > ${quote(config)} && ${['diyc-run', ...startFlags(options)].map(quote).join(' ')}`;
}

function writeAll(fd: number, data: Buffer): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
}

/**
 * Where a stage's bin script is: beside its package's entry point, which each stage row
 * names (resolved by name, which works from a bundled bin too).
 */
function binScript(stage: StageCommand): string {
  const entry = dirname(fileURLToPath(import.meta.resolve(stage.package)));
  return join(entry, '..', 'bin', `${stage.bin}.js`);
}

/** Runs the preparing stages as processes joined by pipes; the record lands in config.json. */
export async function runPipeline(options: RunOptions, base: ContainerRecord, root: string): Promise<void> {
  const stages = pipelineStages(options, base);
  mkdirSync(containerDir(options.name, root), { recursive: true });
  // The record lands beside config.json and replaces it only when every stage has
  // succeeded: after a failure, the base record is still there to undo the stages by.
  const final = join(containerDir(options.name, root), 'config.json');
  const partial = `${final}.pipeline`;
  const out = openSync(partial, 'w');
  try {
    const { spawn } = await import('node:child_process');
    const children = stages.map((s) => spawn(process.execPath, [binScript(s), ...s.args], { stdio: ['pipe', 'pipe', 'inherit'] }));
    children.forEach((child, i) => {
      // A stage that fails closes its stdin early: the one before it sees EPIPE, which
      // is reported by the failing stage's exit code, not as a crash here.
      child.stdin.on('error', () => {});
      child.stdout.on('error', () => {});
      const next = children[i + 1];
      if (next) child.stdout.pipe(next.stdin);
      else
        child.stdout.on('data', (d: Buffer) => {
          writeAll(out, d);
        });
    });
    children[0]?.stdin.end();
    const codes = await Promise.all(children.map((c) => new Promise<number>((resolve) => c.on('close', (code) => resolve(code ?? 1)))));
    const failed = codes.findIndex((c) => c !== 0);
    if (failed >= 0) throw new DiycError('system', `pipeline stage ${stages[failed]?.bin} ${stages[failed]?.args[0]} failed`);
    renameSync(partial, final);
  } finally {
    closeSync(out);
    rmSync(partial, { force: true });
  }
}
