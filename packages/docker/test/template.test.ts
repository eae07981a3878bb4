import { describe, expect, it } from 'vitest';
import { asMap, compileTemplate } from '../src/template.js';

const container = {
  Id: '0123456789abcdef0123',
  Name: '/web',
  State: { Status: 'running', Running: true, ExitCode: 0, Health: null },
  Config: { Env: ['A=1', 'B=2'], Labels: asMap({ tier: 'front', app: 'shop' }) },
  Mounts: [
    { Source: '/srv', Destination: '/www' },
    { Source: '/etc', Destination: '/e' },
  ],
  Label: (k: string) => (({ tier: 'front' }) as Record<string, string>)[k] ?? '',
};
const run = (source: string, data: unknown = container): string => compileTemplate(source)(data);

describe('--format templates, as docker runs them', () => {
  it('reads fields and nested fields', () => {
    expect(run('{{.Name}} {{.State.Status}} {{.State.ExitCode}}')).toBe('/web running 0');
  });

  it("prints values as Go's %v: lists, maps sorted by key, nil and a missing map key", () => {
    expect(run('{{.Config.Env}}')).toBe('[A=1 B=2]');
    expect(run('{{.Config.Labels}}')).toBe('map[app:shop tier:front]');
    expect(run('{{.State.Health}}')).toBe('<nil>');
    expect(run('{{.Config.Labels.nope}}')).toBe('<no value>');
  });

  it("has docker's functions: json, index, join, upper, lower, len, printf, eq, and pipes", () => {
    expect(run('{{json .Config.Env}}')).toBe('["A=1","B=2"]');
    expect(run('{{index .Config.Labels "tier"}}')).toBe('front');
    expect(run('{{join .Config.Env ","}}')).toBe('A=1,B=2');
    expect(run('{{upper .State.Status}} {{.Name | lower}}')).toBe('RUNNING /web');
    expect(run('{{len .Mounts}}')).toBe('2');
    expect(run('{{printf "%.12s" .Id}}')).toBe('0123456789ab');
    expect(run('{{eq .State.Status "running"}} {{eq .State.Status "exited"}}')).toBe('true false');
  });

  it('calls a method with its argument ({{.Label "k"}} of ps)', () => {
    expect(run('{{.Label "tier"}}|{{.Label "none"}}')).toBe('front|');
  });

  it('has if/else, range (with variables) and with', () => {
    expect(run('{{if .State.Running}}up{{else}}down{{end}}')).toBe('up');
    expect(run('{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}')).toBe('/srv:/www /etc:/e ');
    expect(run('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}')).toBe('app=shop;tier=front;');
    expect(run('{{with .State}}{{.Status}}{{end}}')).toBe('running');
    expect(run('{{with .State.Health}}{{.Status}}{{else}}none{{end}}')).toBe('none');
  });

  it('trims space with {{- and -}}, and reads \\t and \\n as docker does', () => {
    expect(run('a  {{- .Name -}}  b')).toBe('a/webb');
    expect(run('{{.Name}}\\t{{.State.Status}}\\n')).toBe('/web\trunning\n');
  });

  it('refuses a field that is not there, and a function it does not know, naming them', () => {
    expect(() => run('{{.Nope}}')).toThrow(/can't evaluate field Nope/);
    expect(() => run('{{frob .Name}}')).toThrow(/function "frob" not defined/);
  });

  it('refuses a template that does not parse', () => {
    expect(() => compileTemplate('{{if .Name}}open')).toThrow();
    expect(() => compileTemplate('{{.Name')).toThrow();
  });
});
