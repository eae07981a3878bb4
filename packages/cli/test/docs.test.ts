// The man page and completion scripts made from a definition: what they say, and that
// man, bash, zsh and fish read them (each shell where it is installed).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bashCompletion, defineCli, describeCommand, fishCompletion, manPage, roffText, synopsis, zshCompletion } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'diyc-cli-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

const run = defineCli({
  meta: { name: 'toy-run', description: "Run a command in a toy: its own root. Exit status is the command's." },
  stopAtOperand: true,
  failureCode: 125,
  args: {
    mem: { type: 'string', alias: 'm', valueHint: 'SIZE', description: 'memory limit: 10M, 1G' },
    net: { type: 'enum', options: ['bridge', 'none', 'host'], description: 'the network' },
    'env-file': { type: 'string', valueHint: 'FILE', description: 'read variables from FILE' },
    detach: { type: 'boolean', alias: 'd', description: 'run in the background' },
    name: { type: 'positional', description: 'the toy' },
    command: { type: 'positional', description: 'what runs', required: false },
  },
});
const net = defineCli({
  meta: { name: 'toy-net', description: "The toys' network" },
  globalArgs: { root: { type: 'string', valueHint: 'DIR', description: 'the state root' } },
  subCommands: {
    setup: defineCli({
      meta: { name: 'setup', description: 'Make the bridge' },
      args: { bridge: { type: 'string', valueHint: 'NAME', description: 'the bridge' } },
    }),
    status: defineCli({
      meta: { name: 'status', description: 'What exists' },
      args: { json: { type: 'boolean', description: 'print JSON' } },
    }),
    attach: defineCli({
      meta: { name: 'attach', description: '.leading dot, and a \\backslash' },
      args: { name: { type: 'positional', description: 'the toy' } },
    }),
  },
});

describe('describeCommand', () => {
  it('reads flags, values, operands and commands from the definition', () => {
    const doc = describeCommand(run);
    expect(doc.flags.map((f) => [f.long, f.short, f.value?.kind])).toEqual([
      ['mem', ['m'], 'text'],
      ['net', [], { words: ['bridge', 'none', 'host'] }],
      ['env-file', [], 'file'],
      ['detach', ['d'], undefined],
    ]);
    expect(synopsis(doc)).toBe('[OPTIONS] NAME [COMMAND...]');
    const top = describeCommand(net);
    expect(top.commands.map((c) => c.path)).toEqual(['toy-net setup', 'toy-net status', 'toy-net attach']);
    expect(top.globals[0]?.value?.kind).toBe('dir');
    expect(synopsis(top)).toBe('[GLOBAL OPTIONS] COMMAND [OPTIONS]');
  });
});

describe('manPage', () => {
  const page = manPage(run, { version: '1.2.3', seeAlso: ['toy-run', 'toy-net'] });

  it('has the sections of a man page, with flags as minus signs and the failure code', () => {
    expect(page).toMatch(/^\.TH TOY-RUN 1 "" "diyc 1\.2\.3" "diyc manual"$/m);
    expect(page).toContain('.SH NAME\ntoy\\-run \\- run a command in a toy\n');
    expect(page).toContain('\\fB\\-m\\fR, \\fB\\-\\-mem\\fR \\fISIZE\\fR\nmemory limit: 10M, 1G\n');
    expect(page).toContain('\\fB\\-\\-net\\fR \\fIbridge|none|host\\fR');
    expect(page).toMatch(/\.SH EXIT STATUS\n\.TP\n\\fB0\\fR\n.*\n\.TP\n\\fB2\\fR\n.*\n\.TP\n\\fB125\\fR\n/);
    // SEE ALSO names the others, not the page's own command.
    expect(page).toMatch(/\.SH SEE ALSO\n\.BR toy\\-net \(1\)\n$/);
  });

  it('keeps text that looks like roff as text', () => {
    expect(roffText('.leading dot, and a \\backslash')).toBe('\\&.leading dot, and a \\ebackslash');
    expect(manPage(net, { version: '1' })).toContain('\\&.leading dot, and a \\ebackslash');
  });

  it.skipIf(!has('man'))('renders with man, without a warning, subcommands and global options included', () => {
    for (const [name, cmd] of [
      ['toy-run', run],
      ['toy-net', net],
    ] as const) {
      const r = spawnSync('man', ['--warnings', '-l', file(`${name}.1`, manPage(cmd, { version: '1' }))], {
        encoding: 'utf8',
        env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '' },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('NAME');
    }
    const text = spawnSync('man', ['-l', join(dir, 'toy-net.1')], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80' } }).stdout;
    expect(text).toMatch(/GLOBAL OPTIONS[\s\S]*--root DIR[\s\S]*COMMANDS[\s\S]*toy-net setup \[OPTIONS\][\s\S]*--bridge NAME/);
  });
});

/** What bash completes for `line` (the cursor at its end), with the script of `cmd` loaded. */
function bashComplete(script: string, fn: string, line: string): string[] {
  const words = line.split(' ');
  const r = spawnSync(
    'bash',
    [
      '-c',
      `source "$1"; COMP_WORDS=("\${@:2}"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); ${fn}; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'bash',
      script,
      ...words,
    ],
    { encoding: 'utf8' },
  );
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean);
}

describe('bashCompletion', () => {
  const netScript = file('toy-net.bash', bashCompletion(net));
  const runScript = file('toy-run.bash', bashCompletion(run));

  it("completes commands, each command's flags, and the global flags before the command", () => {
    expect(bashComplete(netScript, '_toy_net', 'toy-net s')).toEqual(['setup', 'status']);
    expect(bashComplete(netScript, '_toy_net', 'toy-net --root /x s')).toEqual(['setup', 'status']);
    expect(bashComplete(netScript, '_toy_net', 'toy-net status --')).toEqual(['--json', '--help']);
    expect(bashComplete(netScript, '_toy_net', 'toy-net -')).toEqual(['--root', '-h', '--help', '--version']);
  });

  it("completes an enum's words and a file, offers nothing for a free value, stops at the command's operand", () => {
    expect(bashComplete(runScript, '_toy_run', 'toy-run --net ')).toEqual(['bridge', 'none', 'host']);
    file('vars-a.env', '');
    file('vars-b.env', '');
    expect(bashComplete(runScript, '_toy_run', `toy-run --env-file ${join(dir, 'vars-')}`).sort()).toEqual([
      join(dir, 'vars-a.env'),
      join(dir, 'vars-b.env'),
    ]);
    expect(bashComplete(runScript, '_toy_run', 'toy-run -m ')).toEqual([]);
    expect(bashComplete(runScript, '_toy_run', 'toy-run -m 10M --d')).toEqual(['--detach']);
    expect(bashComplete(runScript, '_toy_run', 'toy-run box sh --d')).toEqual([]);
  });
});

describe('zsh and fish completion', () => {
  it.skipIf(!has('zsh'))('zsh reads the scripts', () => {
    for (const cmd of [run, net]) {
      const r = spawnSync('zsh', ['-n', file('_toy', zshCompletion(cmd))], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    expect(zshCompletion(net)).toContain("'(- *)'{-h,--help}'[show the options and exit]'");
    expect(zshCompletion(run)).toContain("_arguments -C -S -A '-*'");
    expect(zshCompletion(run)).toContain("'*'{-m+,--mem=}'[memory limit]:SIZE:( )'");
  });

  it.skipIf(!has('fish'))("fish completes commands, flags and an enum's words", () => {
    const complete = (cmd: typeof run, line: string): string[] => {
      const r = spawnSync('fish', ['-c', `source "${file('toy.fish', fishCompletion(cmd))}"; complete -C "${line}"`], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      return r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0] as string);
    };
    expect(complete(net, 'toy-net s')).toEqual(['setup', 'status']);
    expect(complete(net, 'toy-net status --')).toEqual(['--help', '--json']);
    expect(complete(run, 'toy-run --net ')).toEqual(['bridge', 'host', 'none']);
  });
});
