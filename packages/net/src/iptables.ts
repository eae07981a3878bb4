// iptables rules, each tagged with a comment naming diyc and the bridge, so that
// cleaning removes exactly the rules diyc made and nothing of anyone else's.
import { isDiycError } from '@diyc/record';
import { mustRun, type Runner } from './exec.js';

export interface Rule {
  table: 'filter' | 'nat' | 'mangle';
  chain: string;
  /** The match and target, without the comment. */
  spec: string[];
  /** Insert at the top of the chain (before a DROP policy's rules) instead of appending. */
  insert?: boolean;
}

/**
 * The comment that marks a bridge's rules: "diyc:BRIDGE"; a container's: "diyc:BRIDGE:NAME",
 * or "diyc:BRIDGE:TAG:NAME" for a state root other than the default (its rootTag), so
 * that removing one root's NAME never removes another root's rules.
 */
export function ruleComment(bridge: string, container?: string, tag = ''): string {
  if (container === undefined) return `diyc:${bridge}`;
  return tag === '' ? `diyc:${bridge}:${container}` : `diyc:${bridge}:${tag}:${container}`;
}

const withComment = (rule: Rule, comment: string): string[] => [...rule.spec, '-m', 'comment', '--comment', comment];

export function ruleExists(runner: Runner, rule: Rule, comment: string): boolean {
  return runner.run('iptables', ['-w', '-t', rule.table, '-C', rule.chain, ...withComment(rule, comment)]).status === 0;
}

/** Adds the rules that are not there yet. Returns how many were added. */
export function ensureRules(runner: Runner, rules: Rule[], comment: string): number {
  let added = 0;
  for (const rule of rules) {
    if (ruleExists(runner, rule, comment)) continue;
    mustRun(runner, 'iptables', [
      '-w',
      '-t',
      rule.table,
      rule.insert ? '-I' : '-A',
      rule.chain,
      ...(rule.insert ? ['1'] : []),
      ...withComment(rule, comment),
    ]);
    added++;
  }
  return added;
}

/** Splits an iptables-save rule line into words, honouring its double quotes. */
export function splitRuleLine(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] as string));
  return words;
}

/** The rules of iptables-save whose comment is exactly `comment`, and with `prefix` also those of `comment:*`. */
export function findRules(saved: string, comment: string, prefix = false): { table: string; words: string[] }[] {
  const found: { table: string; words: string[] }[] = [];
  let table = '';
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    if (!line.startsWith('-A ')) continue;
    const words = splitRuleLine(line);
    const at = words.indexOf('--comment');
    const tag = at >= 0 ? words[at + 1] : undefined;
    if (tag === comment || (prefix && tag?.startsWith(`${comment}:`))) found.push({ table, words });
  }
  return found;
}

/** A word of a rule as iptables-restore reads it: quoted when it holds a space or a quote. */
const restoreWord = (word: string): string => (/^[\w.:/,!+=@%-]+$/.test(word) ? word : `"${word.replace(/(["\\])/g, '\\$1')}"`);

/** An iptables-restore --noflush batch: `lines` ("-A CHAIN ...", "-D CHAIN ...") by table. */
export function restoreBatch(lines: { table: string; line: string[] }[]): string {
  const tables = [...new Set(lines.map((l) => l.table))];
  return `${tables
    .map((table) =>
      [`*${table}`, ...lines.filter((l) => l.table === table).map((l) => l.line.map(restoreWord).join(' ')), 'COMMIT'].join('\n'),
    )
    .join('\n')}\n`;
}

/**
 * Appends (or inserts) `rules`, known not to be there yet, in one iptables-restore
 * process: one transaction, where `iptables -A` would be a process a rule.
 */
export function addRules(runner: Runner, rules: Rule[], comment: string): void {
  if (rules.length === 0) return;
  mustRun(
    runner,
    'iptables-restore',
    ['-w', '--noflush'],
    restoreBatch(
      rules.map((rule) => ({
        table: rule.table,
        line: [rule.insert ? '-I' : '-A', rule.chain, ...(rule.insert ? ['1'] : []), ...withComment(rule, comment)],
      })),
    ),
  );
}

/**
 * Deletes every rule tagged `comment` (and `comment:*` when `prefix`). Returns how many.
 * `saved` is an iptables-save the caller read already, if any.
 */
export function removeRules(runner: Runner, comment: string, prefix = false, saved?: string): number {
  const found = findRules(saved ?? mustRun(runner, 'iptables-save', []), comment, prefix);
  if (found.length === 0) return 0;
  // All at once; if one was gone already (another clean at the same time), one by one.
  const batch = restoreBatch(found.map(({ table, words }) => ({ table, line: ['-D', ...words.slice(1)] })));
  if (runner.run('iptables-restore', ['-w', '--noflush'], batch).status === 0) return found.length;
  let removed = 0;
  for (const { table, words } of found) {
    const args = ['-w', '-t', table, '-D', ...words.slice(1)];
    try {
      mustRun(runner, 'iptables', args);
      removed++;
    } catch (err) {
      // Gone already (another clean ran at the same time): that is what we wanted.
      if (!isDiycError(err, 'system')) throw err;
    }
  }
  return removed;
}

/** Names of the tables in an iptables-save output. */
export function tablesIn(saved: string): string[] {
  return saved
    .split('\n')
    .filter((l) => l.startsWith('*'))
    .map((l) => l.slice(1).trim());
}

/** True when a table has no rules at all (its chains may exist, empty). */
export function tableIsEmpty(saved: string, table: string): boolean {
  let current = '';
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) current = line.slice(1).trim();
    else if (current === table && line.startsWith('-A ')) return false;
    else if (current === table && line.startsWith(':') && !/^:(INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) ACCEPT/.test(line))
      return false;
  }
  return true;
}
