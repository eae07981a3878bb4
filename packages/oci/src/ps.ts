// `ps ID [PS OPTIONS]`: the host's ps(1), run with the options given (default -ef), its
// header and only the lines of the container's processes (every process of its cgroup),
// found by the column the header names PID (runc's ps.go). --format json: the pids.
import { DiycError } from '@diyc/record';
import { existingContainer } from './containers.js';
import { print } from './shell.js';

/** The lines of `output` whose PID column is one of `pids`, under the header. */
export function filterPs(output: string, pids: readonly number[]): string {
  const lines = output.split('\n');
  const header = lines[0] ?? '';
  const index = header.trim().split(/\s+/).indexOf('PID');
  if (index < 0) throw new DiycError('system', "couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const kept = [header];
  for (const line of lines.slice(1)) {
    if (line.length === 0) continue;
    const field = line.trim().split(/\s+/)[index];
    const pid = Number(field);
    if (!/^\d+$/.test(field ?? '')) throw new DiycError('system', `unable to parse pid: ${field}`);
    if (wanted.has(pid)) kept.push(line);
  }
  return `${kept.join('\n')}\n`;
}

export async function psCommand(root: string, id: string, format: string, options: string[]): Promise<void> {
  const pids = existingContainer(root, id).pids();
  if (format === 'json') {
    print(`${JSON.stringify(pids)}\n`);
    return;
  }
  if (format !== 'table') throw new DiycError('usage', 'invalid format option');
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync('ps', options.length > 0 ? options : ['-ef'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new DiycError('missing', `ps: ${r.error.message}`);
  if (r.status !== 0) throw new DiycError('system', `exit status ${r.status ?? r.signal}: ${r.stdout}${r.stderr}`);
  print(filterPs(r.stdout, pids));
}
