// --format: the part of Go's text/template that people put in `docker ps --format` and
// `docker inspect --format` (https://pkg.go.dev/text/template, and docker's own functions,
// https://docs.docker.com/engine/cli/formatting/):
//
//   {{.Names}}  {{.State.Status}}  {{.Label "com.example"}}  {{json .}}  {{json .Config.Env}}
//   {{index .Config.Labels "k"}}  {{join .Args ","}}  {{upper .Name}}  {{.Name | lower}}
//   {{range .Mounts}}{{.Source}} {{end}}  {{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{end}}
//   {{if .State.Running}}up{{else}}down{{end}}  {{with .State.Health}}{{.Status}}{{end}}
//   {{printf "%.12s" .Id}}  {{len .Mounts}}  {{eq .State.Status "running"}}  {{- trimmed -}}
//
// Values print as Go's %v does: a list as [a b], a map as map[k:v], nothing as <no value>.
// A field that is not there is an error that names it, as docker's is.
import { DiycError } from '@diyc/record';

type Value = unknown;

interface Scope {
  dot: Value;
  vars: Map<string, Value>;
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipeline }
  | { kind: 'range' | 'with' | 'if'; pipe: Pipeline; decl: string[]; body: Node[]; otherwise: Node[] };

interface Pipeline {
  commands: Term[][];
  source: string;
}

type Term =
  | { kind: 'field'; base: 'dot' | string; path: string[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'nil' }
  | { kind: 'ident'; name: string }
  | { kind: 'paren'; pipe: Pipeline };

const formatError = (message: string): DiycError => new DiycError('usage', `--format: ${message}`);

/** Splits a template into text and actions, {{- and -}} trimming the space beside them. */
function lex(template: string): ({ text: string } | { action: string })[] {
  const out: ({ text: string } | { action: string })[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{{', i);
    if (open < 0) {
      out.push({ text: template.slice(i) });
      break;
    }
    let text = template.slice(i, open);
    const close = template.indexOf('}}', open + 2);
    if (close < 0) throw formatError(`unclosed action at ${open + 1}: ${template.slice(open, open + 20)}`);
    let inner = template.slice(open + 2, close);
    if (inner.startsWith('- ') || inner === '-') {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    let next = close + 2;
    if (inner.endsWith(' -')) {
      inner = inner.slice(0, -1);
      const m = /^\s*/.exec(template.slice(next));
      next += m?.[0].length ?? 0;
    }
    if (text !== '') out.push({ text });
    out.push({ action: inner.trim() });
    i = next;
  }
  return out;
}

/** The words of an action: strings, parentheses and | kept whole. */
function words(source: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === '`') {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === '\\' && c === '"' ? 2 : 1;
      if (j >= source.length) throw formatError(`unterminated string in {{${source}}}`);
      out.push(source.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === '(' || c === ')' || c === '|' || c === ',') {
      out.push(c);
      i++;
      continue;
    }
    let j = i;
    while (j < source.length && !/[\s()|,"`]/.test(source[j] as string)) j++;
    if (source.slice(j, j + 2) === ':=') {
      out.push(source.slice(i, j));
      out.push(':=');
      i = j + 2;
      continue;
    }
    out.push(source.slice(i, j));
    i = j;
  }
  return out;
}

function parsePipeline(tokens: string[], source: string): Pipeline {
  const commands: Term[][] = [[]];
  let i = 0;
  const term = (): Term => {
    const t = tokens[i++] as string;
    if (t === '(') {
      let depth = 1;
      const start = i;
      while (i < tokens.length && depth > 0) {
        if (tokens[i] === '(') depth++;
        if (tokens[i] === ')') depth--;
        i++;
      }
      if (depth !== 0) throw formatError(`unclosed ( in {{${source}}}`);
      return { kind: 'paren', pipe: parsePipeline(tokens.slice(start, i - 1), source) };
    }
    if (t.startsWith('"')) return { kind: 'string', value: JSON.parse(t) as string };
    if (t.startsWith('`')) return { kind: 'string', value: t.slice(1, -1) };
    if (/^-?\d+(\.\d+)?$/.test(t)) return { kind: 'number', value: Number(t) };
    if (t === 'true' || t === 'false') return { kind: 'bool', value: t === 'true' };
    if (t === 'nil') return { kind: 'nil' };
    if (t === '.') return { kind: 'field', base: 'dot', path: [] };
    if (t.startsWith('.')) return { kind: 'field', base: 'dot', path: t.slice(1).split('.') };
    if (t.startsWith('$')) {
      const [name, ...path] = t.split('.');
      return { kind: 'field', base: name as string, path };
    }
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(t)) return { kind: 'ident', name: t };
    throw formatError(`unexpected "${t}" in {{${source}}}`);
  };
  while (i < tokens.length) {
    if (tokens[i] === '|') {
      i++;
      commands.push([]);
      continue;
    }
    (commands[commands.length - 1] as Term[]).push(term());
  }
  if (commands.some((c) => c.length === 0)) throw formatError(`missing value in {{${source}}}`);
  return { commands, source };
}

/** The tree of a template: text, actions, and range / with / if blocks with their else. */
function parse(template: string): Node[] {
  const items = lex(template);
  let i = 0;
  type Ended = { nodes: Node[]; ended: 'end' | 'else' | undefined; elseIf?: string[] };
  const block = (inside: string | undefined): Ended => {
    const nodes: Node[] = [];
    while (i < items.length) {
      const item = items[i++] as { text: string } | { action: string };
      if ('text' in item) {
        nodes.push({ kind: 'text', text: item.text });
        continue;
      }
      const tokens = words(item.action);
      const head = tokens[0];
      if (head === undefined || item.action.startsWith('/*')) continue;
      if (head === 'end' || head === 'else') {
        if (inside === undefined) throw formatError(`unexpected {{${head}}}`);
        // {{else if X}}: an if of its own in the else, ended by the same {{end}}.
        if (head === 'else' && tokens[1] === 'if') return { nodes, ended: 'else', elseIf: tokens.slice(2) };
        return { nodes, ended: head };
      }
      if (head === 'range' || head === 'with' || head === 'if') {
        let rest = tokens.slice(1);
        const decl: string[] = [];
        const assign = rest.indexOf(':=');
        if (assign >= 0) {
          decl.push(...rest.slice(0, assign).filter((w) => w !== ','));
          rest = rest.slice(assign + 1);
        }
        nodes.push(blockNode(head, parsePipeline(rest, item.action), decl));
        continue;
      }
      nodes.push({ kind: 'action', pipe: parsePipeline(tokens, item.action) });
    }
    return { nodes, ended: undefined };
  };
  /** The body of a range, with or if just opened, to its {{end}}, with its {{else}} or {{else if}}. */
  const blockNode = (head: 'range' | 'with' | 'if', pipe: Pipeline, decl: string[]): Node => {
    const body = block(head);
    let otherwise: Node[] = [];
    if (body.elseIf) {
      otherwise = [blockNode('if', parsePipeline(body.elseIf, `else if ${body.elseIf.join(' ')}`), [])];
    } else if (body.ended === 'else') {
      const after = block(head);
      if (after.ended !== 'end') throw formatError(`{{${head}}} has no {{end}}`);
      otherwise = after.nodes;
    } else if (body.ended !== 'end') {
      throw formatError(`{{${head}}} has no {{end}}`);
    }
    return { kind: head, pipe, decl, body: body.nodes, otherwise };
  };
  const top = block(undefined);
  return top.nodes;
}

/** Go's %v. */
export function goString(v: Value): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'function') return '<func>';
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, Value>).filter(([, x]) => typeof x !== 'function');
    return `map[${entries
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, x]) => `${k}:${goString(x)}`)
      .join(' ')}]`;
  }
  return String(v);
}

/** Go's truth: false, 0, nil, and empty strings, lists and maps are false. */
function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

/** Go's printf, for the verbs people use: %s %d %v %q %x with width and precision. */
function printf(format: string, args: Value[]): string {
  let n = 0;
  return format.replace(
    /%([-+ 0#]*)(\d+)?(?:\.(\d+))?([sdvqxXf%])/g,
    (_m, flags: string, width: string | undefined, precision: string | undefined, verb: string) => {
      if (verb === '%') return '%';
      const arg = args[n++];
      let text: string;
      switch (verb) {
        case 'd':
          text = String(Math.trunc(Number(arg)));
          break;
        case 'f':
          text = Number(arg).toFixed(precision === undefined ? 6 : Number(precision));
          break;
        case 'q':
          text = JSON.stringify(goString(arg));
          break;
        case 'x':
        case 'X': {
          const hex = typeof arg === 'number' ? arg.toString(16) : Buffer.from(goString(arg)).toString('hex');
          text = verb === 'X' ? hex.toUpperCase() : hex;
          break;
        }
        default:
          text = goString(arg);
      }
      if (precision !== undefined && (verb === 's' || verb === 'v')) text = text.slice(0, Number(precision));
      if (width !== undefined)
        text = flags.includes('-')
          ? text.padEnd(Number(width))
          : text.padStart(Number(width), flags.includes('0') && verb !== 's' ? '0' : ' ');
      return text;
    },
  );
}

const FUNCTIONS: Record<string, (...args: Value[]) => Value> = {
  json: (v) => JSON.stringify(v === undefined ? null : v),
  join: (list, sep) => (Array.isArray(list) ? list.map(goString).join(goString(sep)) : goString(list)),
  split: (text, sep) => goString(text).split(goString(sep)),
  lower: (v) => goString(v).toLowerCase(),
  upper: (v) => goString(v).toUpperCase(),
  title: (v) => goString(v).replace(/\b\w/g, (c) => c.toUpperCase()),
  truncate: (v, n) => goString(v).slice(0, Number(n)),
  pad: (v, left, right) => `${' '.repeat(Number(left))}${goString(v)}${' '.repeat(Number(right))}`,
  println: (...args) => `${args.map(goString).join(' ')}\n`,
  print: (...args) => args.map(goString).join(''),
  printf: (format, ...args) => printf(goString(format), args),
  len: (v) => (Array.isArray(v) || typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
  index: (v, ...keys) =>
    keys.reduce<Value>((acc, k) => (acc === null || acc === undefined ? undefined : (acc as Record<string, Value>)[goString(k)]), v),
  eq: (a, ...bs) => bs.some((b) => goString(a) === goString(b)),
  ne: (a, b) => goString(a) !== goString(b),
  not: (v) => !truthy(v),
  and: (...vs) => vs.find((v) => !truthy(v)) ?? vs[vs.length - 1],
  or: (...vs) => vs.find((v) => truthy(v)) ?? vs[vs.length - 1],
};

function field(base: Value, path: string[], source: string, args: Value[] = []): Value {
  let v = base;
  for (const [i, key] of path.entries()) {
    if (v === null || v === undefined) {
      if (v === null) throw formatError(`nil pointer evaluating .${path.slice(0, i + 1).join('.')} in {{${source}}}`);
      return undefined;
    }
    if (typeof v !== 'object') throw formatError(`can't evaluate field ${key} in type ${typeof v} in {{${source}}}`);
    const record = v as Record<string, Value>;
    if (!(key in record)) {
      // A map's missing key is <no value>; a struct's missing field is an error.
      if ((record as { [MAP]?: boolean })[MAP]) return undefined;
      throw formatError(`can't evaluate field ${key} in {{${source}}}`);
    }
    const next = record[key];
    v = typeof next === 'function' ? (next as (...a: Value[]) => Value).apply(record, i === path.length - 1 ? args : []) : next;
  }
  return v;
}

/** Marks an object whose keys are data (labels, a map in Go) rather than fields: a missing key is no error. */
export const MAP = Symbol('map');
export function asMap<T extends object>(value: T): T {
  Object.defineProperty(value, MAP, { value: true, enumerable: false });
  return value;
}

function evalPipeline(pipe: Pipeline, scope: Scope): Value {
  let result: Value;
  pipe.commands.forEach((command, i) => {
    const args = command.slice(1).map((t) => evalTerm(t, scope));
    if (i > 0) args.push(result);
    const [head] = command as [Term, ...Term[]];
    if (head.kind === 'ident') {
      const fn = FUNCTIONS[head.name];
      if (!fn) throw formatError(`function "${head.name}" not defined in {{${pipe.source}}}`);
      result = fn(...args);
    } else if (head.kind === 'field') {
      const base = head.base === 'dot' ? scope.dot : lookUpVar(head.base, scope, pipe.source);
      result = field(base, head.path, pipe.source, args);
    } else {
      if (args.length > 0) throw formatError(`can't give arguments to a value in {{${pipe.source}}}`);
      result = evalTerm(head, scope);
    }
  });
  return result;
}

function lookUpVar(name: string, scope: Scope, source: string): Value {
  if (!scope.vars.has(name)) throw formatError(`undefined variable "${name}" in {{${source}}}`);
  return scope.vars.get(name);
}

function evalTerm(t: Term, scope: Scope): Value {
  switch (t.kind) {
    case 'string':
    case 'number':
    case 'bool':
      return t.value;
    case 'nil':
      return null;
    case 'paren':
      return evalPipeline(t.pipe, scope);
    case 'ident': {
      const fn = FUNCTIONS[t.name];
      if (!fn) throw formatError(`function "${t.name}" not defined`);
      return fn();
    }
    case 'field':
      return field(t.base === 'dot' ? scope.dot : lookUpVar(t.base, scope, t.base), t.path, t.base);
  }
}

function render(nodes: Node[], scope: Scope, out: string[]): void {
  for (const node of nodes) {
    if (node.kind === 'text') {
      out.push(node.text);
    } else if (node.kind === 'action') {
      const v = evalPipeline(node.pipe, scope);
      out.push(goString(v));
    } else if (node.kind === 'if') {
      render(truthy(evalPipeline(node.pipe, scope)) ? node.body : node.otherwise, scope, out);
    } else if (node.kind === 'with') {
      const v = evalPipeline(node.pipe, scope);
      if (truthy(v)) render(node.body, { dot: v, vars: new Map([...scope.vars, ...node.decl.map((d) => [d, v] as const)]) }, out);
      else render(node.otherwise, scope, out);
    } else {
      const v = evalPipeline(node.pipe, scope);
      const items: [Value, Value][] = Array.isArray(v)
        ? v.map((x, i) => [i, x])
        : v && typeof v === 'object'
          ? Object.entries(v).sort(([a], [b]) => a.localeCompare(b))
          : [];
      if (items.length === 0) {
        render(node.otherwise, scope, out);
        continue;
      }
      for (const [key, item] of items) {
        const vars = new Map(scope.vars);
        if (node.decl.length === 1) vars.set(node.decl[0] as string, item);
        if (node.decl.length === 2) {
          vars.set(node.decl[0] as string, key);
          vars.set(node.decl[1] as string, item);
        }
        render(node.body, { dot: item, vars }, out);
      }
    }
  }
}

/** A template compiled once, run on each value (a row of ps, an object of inspect). */
export type Template = (data: Value) => string;

/** Compiles `source`; `\t` and `\n` written literally stand for a tab and a newline, as docker reads them. */
export function compileTemplate(source: string): Template {
  const nodes = parse(source.replace(/\\t/g, '\t').replace(/\\n/g, '\n'));
  return (data: Value) => {
    const out: string[] = [];
    render(nodes, { dot: data, vars: new Map([['$', data]]) }, out);
    return out.join('');
  };
}
