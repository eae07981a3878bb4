// systemd's D-Bus API, called synchronously: the cgroup managers are synchronous (the
// stages are), D-Bus is a socket. The calls run in a worker thread with a D-Bus client
// (@homebridge/dbus-native: pure JavaScript, no native part, explicit signatures), and the
// caller waits on Atomics.wait until the worker answers on a MessageChannel
// (receiveMessageOnPort reads the answer without the event loop). The worker and the
// library are loaded only when the systemd driver is used: about 40 ms and 320 KiB of
// JavaScript that no cgroupfs container pays for.
// https://www.freedesktop.org/wiki/Software/systemd/dbus/
import { createRequire } from 'node:module';
import type { MessageChannel, Worker } from 'node:worker_threads';
import { DiycError } from '@diyc/record';
import type { Property } from './unit.js';

// node:worker_threads is loaded with the bus, not with the module: importing it costs every
// start (diyc-run, diyc-oci create) about 5 ms, and a cgroupfs container never opens the bus.
const require = createRequire(import.meta.url);
const workerThreads = (): typeof import('node:worker_threads') => require('node:worker_threads') as typeof import('node:worker_threads');

/** The state of a unit: its ActiveState, or absent when systemd has none of that name. */
export type UnitState = 'active' | 'activating' | 'deactivating' | 'inactive' | 'failed' | 'absent' | string;

export interface SystemdBus {
  /** StartTransientUnit(name, "replace", props), waiting for its job; a unit that exists already is not an error. */
  startUnit(name: string, props: Property[]): void;
  /** StopUnit(name, "replace"), waiting for its job; a unit that is gone is not an error. */
  stopUnit(name: string): void;
  /** SetUnitProperties(name, runtime, props): new limits on a running unit. */
  setUnitProperties(name: string, props: Property[]): void;
  /** AttachProcessesToUnit(name, "", pids): more processes into a running unit. */
  attachProcesses(name: string, pids: number[]): void;
  unitState(name: string): UnitState;
  close(): void;
}

// The worker, CommonJS, as the library is. Every answer goes to `port`, then the flag is raised.
const WORKER = String.raw`
const { workerData, parentPort } = require('worker_threads');
const { port, shared, lib } = workerData;
const flag = new Int32Array(shared);
const answer = (msg) => { port.postMessage(msg); Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); };
let bus, broken;
const finished = new Map(), waiting = new Map();
// Calls still waiting for an answer: a connection that breaks (no bus socket) fails them all.
const pending = new Set();
const fail = (e) => { broken = e; for (const reject of pending) reject(e); pending.clear(); };
try {
  bus = require(lib).systemBus();
  bus.connection.on('error', fail);
  bus.connection.on('end', () => fail(new Error('the D-Bus connection closed')));
  bus.connection.on('message', (msg) => {
    if (msg.type !== 4 || msg.member !== 'JobRemoved') return;
    const [, job, , result] = msg.body;
    const w = waiting.get(job);
    if (w) { waiting.delete(job); w(result); } else finished.set(job, result);
  });
} catch (e) { broken = e; }
const M = { destination: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager' };
const call = (member, signature, body, over = {}) => new Promise((resolve, reject) => {
  if (broken) return reject(broken);
  pending.add(reject);
  bus.invoke({ ...M, ...over, member, signature, body }, (err, res) => {
    pending.delete(reject);
    if (err) { const e = new Error(err.name + ': ' + (Array.isArray(err.message) ? err.message.join(' ') : err.message)); e.dbusName = err.name; reject(e); }
    else resolve(res);
  });
});
let subscribed;
const subscribe = () => subscribed ??= Promise.all([
  call('AddMatch', 's', ["type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'"],
    { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' }),
  call('Subscribe', '', []).catch((e) => { if (broken) throw e; }),
]);
const job = (path) => new Promise((resolve, reject) => {
  if (finished.has(path)) { const r = finished.get(path); finished.delete(path); return resolve(r); }
  const t = setTimeout(() => { waiting.delete(path); reject(new Error('systemd did not finish job ' + path + ' in 30 s')); }, 30000);
  waiting.set(path, (r) => { clearTimeout(t); resolve(r); });
});
const value = (v) => (Array.isArray(v) && v.length === 2 && Array.isArray(v[1]) ? v[1][0] : v);
const ops = {
  async startUnit(name, props) {
    await subscribe();
    let path;
    try { path = await call('StartTransientUnit', 'ssa(sv)a(sa(sv))', [name, 'replace', props, []]); }
    catch (e) { if (String(e.dbusName).endsWith('UnitExists')) return 'exists'; throw e; }
    const result = await job(path);
    if (result !== 'done') { await call('ResetFailedUnit', 's', [name]).catch(() => {}); throw new Error('systemd could not start ' + name + ': job ' + result); }
    return result;
  },
  async stopUnit(name) {
    await subscribe();
    let path;
    try { path = await call('StopUnit', 'ss', [name, 'replace']); }
    catch (e) { if (String(e.dbusName).endsWith('NoSuchUnit')) return 'absent'; throw e; }
    return job(path);
  },
  setUnitProperties: (name, props) => call('SetUnitProperties', 'sba(sv)', [name, true, props]),
  attachProcesses: (name, pids) => call('AttachProcessesToUnit', 'ssau', [name, '', pids]),
  async unitState(name) {
    let path;
    try { path = await call('GetUnit', 's', [name]); }
    catch (e) { if (String(e.dbusName).endsWith('NoSuchUnit')) return 'absent'; throw e; }
    return value(await call('Get', 'ss', ['org.freedesktop.systemd1.Unit', 'ActiveState'], { path, interface: 'org.freedesktop.DBus.Properties' }));
  },
};
parentPort.on('message', ({ op, args }) => {
  Promise.resolve().then(() => ops[op](...args)).then((result) => answer({ result }), (e) => answer({ error: String(e && e.message || e) }));
});
`;

/** Where the D-Bus library is, found from @diyc/cgroup itself (a bin that bundles this code lives elsewhere). */
function libraryPath(): string {
  let from: string = import.meta.url;
  try {
    from = import.meta.resolve('@diyc/cgroup');
  } catch {
    /* this file, unbundled */
  }
  return createRequire(from).resolve('@homebridge/dbus-native');
}

class WorkerBus implements SystemdBus {
  readonly #worker: Worker;
  readonly #port: MessageChannel['port1'];
  readonly #flag: Int32Array;

  constructor() {
    const { MessageChannel, Worker } = workerThreads();
    const { port1, port2 } = new MessageChannel();
    const shared = new SharedArrayBuffer(4);
    this.#port = port1;
    this.#flag = new Int32Array(shared);
    this.#worker = new Worker(WORKER, { eval: true, workerData: { port: port2, shared, lib: libraryPath() }, transferList: [port2] });
    this.#worker.unref();
  }

  #call(op: string, ...args: unknown[]): unknown {
    Atomics.store(this.#flag, 0, 0);
    this.#worker.postMessage({ op, args });
    if (Atomics.wait(this.#flag, 0, 0, 60_000) === 'timed-out')
      throw new DiycError('system', `systemd did not answer ${op} over D-Bus in 60 s`);
    const reply = workerThreads().receiveMessageOnPort(this.#port)?.message as { result?: unknown; error?: string } | undefined;
    if (reply?.error !== undefined) {
      const hint = /ENOENT|ECONNREFUSED/.test(reply.error)
        ? ': is systemd PID 1, with dbus running? (without it, leave out --systemd-cgroup)'
        : '';
      throw new DiycError('system', `systemd ${op}: ${reply.error}${hint}`);
    }
    return reply?.result;
  }

  startUnit(name: string, props: Property[]): void {
    this.#call('startUnit', name, props);
  }
  stopUnit(name: string): void {
    this.#call('stopUnit', name);
  }
  setUnitProperties(name: string, props: Property[]): void {
    this.#call('setUnitProperties', name, props);
  }
  attachProcesses(name: string, pids: number[]): void {
    this.#call('attachProcesses', name, pids);
  }
  unitState(name: string): UnitState {
    return this.#call('unitState', name) as UnitState;
  }
  close(): void {
    void this.#worker.terminate();
  }
}

let shared: SystemdBus | undefined;

/** The system bus to systemd, opened on first use and shared by this process. */
export function systemdBus(): SystemdBus {
  return (shared ??= new WorkerBus());
}
