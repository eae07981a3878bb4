// --filter KEY=VALUE, as docker reads it: a key given more than once matches any of its
// values, and different keys must all match. Each command says which keys it knows; an
// unknown one is an error that lists them.
import { DiycError } from '@diyc/record';

export type Filters = Map<string, string[]>;

export function parseFilters(values: string[], known: readonly string[]): Filters {
  const filters: Filters = new Map();
  for (const text of values) {
    const eq = text.indexOf('=');
    if (eq <= 0) throw new DiycError('usage', `--filter ${text}: use KEY=VALUE (${known.join(', ')})`);
    const key = text.slice(0, eq).toLowerCase();
    if (!known.includes(key)) throw new DiycError('usage', `--filter ${text}: invalid filter '${key}' (use ${known.join(', ')})`);
    filters.set(key, [...(filters.get(key) ?? []), text.slice(eq + 1)]);
  }
  return filters;
}

/** Whether `test` holds for one of the values given for `key` (true when the key is not given). */
export function anyOf(filters: Filters, key: string, test: (value: string) => boolean): boolean {
  const values = filters.get(key);
  return values === undefined || values.some(test);
}

/** label=KEY or label=KEY=VALUE against a container's or an image's labels. */
export function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** docker's name filter: a regular expression, matched anywhere (an invalid one, as plain text). */
export function nameMatches(name: string, filter: string): boolean {
  try {
    return new RegExp(filter).test(name);
  } catch {
    return name.includes(filter);
  }
}

/** A glob as docker's reference filter reads one: * within a path component, ? one character. */
export function globMatches(text: string, glob: string): boolean {
  const pattern = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${pattern}$`).test(text);
}
