// The container's /etc/resolv.conf: what a container on its own network can reach.
import { describe, expect, it } from 'vitest';
import { containerResolvConf } from '../src/index.js';

const base = { hostNetwork: false, servers: [], search: [] };

describe('containerResolvConf', () => {
  it("keeps the host's servers, search and options when the container can reach them", () => {
    const host = 'nameserver 10.0.0.2\nnameserver 127.0.0.1\nsearch corp.example\noptions ndots:2\n';
    expect(containerResolvConf({ ...base, host })).toEqual({ content: 'nameserver 10.0.0.2\nsearch corp.example\noptions ndots:2\n' });
  });

  it("replaces systemd-resolved's stub with its upstream servers, and says so", () => {
    const r = containerResolvConf({
      ...base,
      host: 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n',
      systemd: 'nameserver 192.168.1.1\nnameserver 127.0.0.1\n',
    });
    expect(r.content).toBe('nameserver 192.168.1.1\noptions edns0 trust-ad\nsearch lan\n');
    expect(r.note).toContain("only loopback servers (127.0.0.53): using systemd-resolved's upstream servers");
  });

  it('falls back as docker does when no server the container can reach is known', () => {
    const r = containerResolvConf({ ...base, host: 'nameserver 127.0.0.1\nnameserver ::1\n' });
    expect(r.content).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
    expect(r.note).toContain('(give your own with --dns)');
    expect(containerResolvConf(base).note).toContain('the host has no name server');
  });

  it('puts --dns and --dns-search first and only', () => {
    const r = containerResolvConf({
      ...base,
      host: 'nameserver 127.0.0.53\nsearch lan\ndomain lan\noptions rotate\n',
      servers: ['10.9.9.9'],
      search: ['a.example', 'b.example'],
    });
    expect(r).toEqual({ content: 'nameserver 10.9.9.9\nsearch a.example b.example\noptions rotate\n' });
  });

  it("with the host's network, is the host's file as it is", () => {
    const host = 'nameserver 127.0.0.53\n# comment\n';
    expect(containerResolvConf({ ...base, hostNetwork: true, host })).toEqual({ content: host });
  });
});
