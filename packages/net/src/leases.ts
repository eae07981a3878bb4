// Address leases: which container has which address on a bridge. Kept in one JSON file
// per bridge, read and written under a lock, so two attaches at the same time never
// get the same address.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { broadcastOf, contains, formatIp, formatSubnet, parseIp } from './ipv4.js';
import type { NetConfig } from './config.js';
import { DiycError, runDir, stateRoot, withLock } from '@diyc/record';

/** address -> container name */
export type Leases = Record<string, string>;

/** The address `name` holds, if any. */
const addressOf = (leases: Leases, name: string): string | undefined =>
  Object.entries(leases).find(([, owner]) => owner === name)?.[0];

export class LeaseStore {
  readonly #dir: string;
  readonly #config: NetConfig;

  constructor(config: NetConfig, root: string = stateRoot()) {
    this.#config = config;
    this.#dir = join(runDir(root), 'net');
  }

  get file(): string {
    return join(this.#dir, `${this.#config.bridge}.leases.json`);
  }

  read(): Leases {
    if (!existsSync(this.file)) return {};
    return JSON.parse(readFileSync(this.file, 'utf8')) as Leases;
  }

  #write(leases: Leases): void {
    const temp = `${this.file}.${process.pid}`;
    writeFileSync(temp, `${JSON.stringify(leases, null, 2)}\n`);
    renameSync(temp, this.file);
  }

  #locked<T>(fn: (leases: Leases) => T): T {
    mkdirSync(this.#dir, { recursive: true });
    return withLock(join(this.#dir, `${this.#config.bridge}.lock`), () => fn(this.read()));
  }

  /** Why `ip` cannot be given out on this subnet, or null. */
  problem(ip: number): string | null {
    const { subnet, gateway } = this.#config;
    const text = formatIp(ip);
    if (!contains(subnet, ip)) return `${text} is outside the subnet ${formatSubnet(subnet)}`;
    if (ip === subnet.network) return `${text} is the network address of ${formatSubnet(subnet)}`;
    if (ip === broadcastOf(subnet)) return `${text} is the broadcast address of ${formatSubnet(subnet)}`;
    if (ip === gateway) return `${text} is the gateway (the bridge's own address)`;
    return null;
  }

  /**
   * Leases an address to `name`: `wanted` if given and free, else the lowest free one.
   * A container that holds a lease already gets the same address back.
   */
  lease(name: string, wanted?: string): string {
    const want = wanted === undefined ? undefined : parseIp(wanted);
    if (want !== undefined) {
      const problem = this.problem(want);
      if (problem) throw new DiycError('invalid', problem);
    }
    return this.#locked((leases) => {
      const held = addressOf(leases, name);
      if (held !== undefined && (want === undefined || formatIp(want) === held)) return held;
      if (held !== undefined) delete leases[held];
      let ip: number | undefined = want;
      if (ip !== undefined) {
        const owner = leases[formatIp(ip)];
        if (owner !== undefined) throw new DiycError('exists', `${formatIp(ip)} is in use by container ${owner}`);
      } else {
        for (let candidate = this.#config.subnet.network + 1; candidate < broadcastOf(this.#config.subnet); candidate++) {
          if (this.problem(candidate) === null && leases[formatIp(candidate)] === undefined) {
            ip = candidate;
            break;
          }
        }
        if (ip === undefined) throw new DiycError('exists', `no free address left in ${formatSubnet(this.#config.subnet)}`);
      }
      leases[formatIp(ip)] = name;
      this.#write(leases);
      return formatIp(ip);
    });
  }

  /** Gives back `name`'s address. Idempotent. */
  release(name: string): string | undefined {
    return this.#locked((leases) => {
      const held = addressOf(leases, name);
      if (held === undefined) return undefined;
      delete leases[held];
      this.#write(leases);
      return held;
    });
  }

  holder(name: string): string | undefined {
    return addressOf(this.read(), name);
  }
}
