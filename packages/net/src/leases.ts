// Address leases: which container has which address on a bridge. A bridge belongs to the
// whole machine, and so do its addresses: one JSON file per bridge in /run/diyc/net, for
// every state root, read and written under a lock, so two attaches at the same time
// never get the same address, whichever roots they come from. Each lease names its
// container and the root it belongs to (its rootTag), and a root only ever gives back
// its own. /run is a tmpfs: the leases go with the bridge when the machine restarts.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ROOT, DiycError, rootTag, stateRoot, withLock } from '@diyc/record';
import { broadcastOf, contains, formatIp, formatSubnet, parseIp } from './ipv4.js';
import type { NetConfig } from './config.js';

/** Where the machine-wide network state lives: leases, setup state, locks. */
export const NET_RUN_DIR = '/run/diyc/net';

/** Who holds an address: a container of a state root. */
export interface LeaseOwner {
  name: string;
  /** The state root ($DIYC_ROOT). */
  root: string;
}

export interface LeaseEntry {
  name: string;
  /** rootTag(root): '' for the default root. What tells two roots' NAME apart. */
  tag: string;
  /** The root itself, for people reading the file and for error messages. */
  root: string;
  /** Whether ports were ever published for it: detach looks for DNAT rules only then. */
  published?: boolean;
}

/** address -> its holder */
export type Leases = Record<string, LeaseEntry>;

export const leaseOwner = (name: string, root: string = stateRoot()): LeaseOwner => ({ name, root });

const isOwner = (entry: LeaseEntry, name: string, tag: string): boolean => entry.name === name && entry.tag === tag;

export class LeaseStore {
  readonly #dir: string;
  readonly #config: NetConfig;

  constructor(config: NetConfig, dir: string = NET_RUN_DIR) {
    this.#config = config;
    this.#dir = dir;
  }

  get file(): string {
    return join(this.#dir, `${this.#config.bridge}.leases.json`);
  }

  read(): Leases {
    if (!existsSync(this.file)) return {};
    return JSON.parse(readFileSync(this.file, 'utf8')) as Leases;
  }

  #write(leases: Leases): void {
    // The last lease gone, the file goes too: /run/diyc/net holds only bridges in use.
    if (Object.keys(leases).length === 0) {
      rmSync(this.file, { force: true });
      return;
    }
    const temp = `${this.file}.${process.pid}`;
    writeFileSync(temp, `${JSON.stringify(leases, null, 2)}\n`);
    renameSync(temp, this.file);
  }

  #locked<T>(fn: (leases: Leases) => T): T {
    mkdirSync(this.#dir, { recursive: true });
    return withLock(join(this.#dir, `${this.#config.bridge}.leases.lock`), () => fn(this.read()));
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

  /** The address `owner` holds, and its lease. */
  holder(owner: LeaseOwner): (LeaseEntry & { address: string }) | undefined {
    return find(this.read(), owner.name, rootTag(owner.root));
  }

  /**
   * Leases an address to `owner`: `wanted` if given and free, else the lowest free one.
   * A container that holds a lease already gets the same address back.
   */
  lease(owner: LeaseOwner, wanted?: string, options: { published?: boolean } = {}): string {
    const want = wanted === undefined ? undefined : parseIp(wanted);
    if (want !== undefined) {
      const problem = this.problem(want);
      if (problem) throw new DiycError('invalid', problem);
    }
    const tag = rootTag(owner.root);
    return this.#locked((leases) => {
      const held = find(leases, owner.name, tag);
      const entry: LeaseEntry = {
        name: owner.name,
        tag,
        root: owner.root,
        ...(held?.published || options.published ? { published: true } : {}),
      };
      let ip: number | undefined = want ?? (held ? parseIp(held.address) : undefined);
      if (held !== undefined) delete leases[held.address];
      if (ip !== undefined) {
        const other = leases[formatIp(ip)];
        if (other !== undefined) throw new DiycError('exists', `${formatIp(ip)} is in use by container ${describeHolder(other, tag)}`);
      } else {
        for (let candidate = this.#config.subnet.network + 1; candidate < broadcastOf(this.#config.subnet); candidate++) {
          if (this.problem(candidate) === null && leases[formatIp(candidate)] === undefined) {
            ip = candidate;
            break;
          }
        }
        if (ip === undefined) throw new DiycError('exists', `no free address left in ${formatSubnet(this.#config.subnet)}`);
      }
      leases[formatIp(ip)] = entry;
      this.#write(leases);
      return formatIp(ip);
    });
  }

  /**
   * Gives back `owner`'s address, never another root's. Idempotent. `then` runs under the
   * same lock with the number of leases left on the bridge: no attach can lease in between.
   */
  release(owner: LeaseOwner, then?: (left: number) => void): (LeaseEntry & { address: string }) | undefined {
    const tag = rootTag(owner.root);
    return this.#locked((leases) => {
      const held = find(leases, owner.name, tag);
      if (held !== undefined) {
        delete leases[held.address];
        this.#write(leases);
      }
      then?.(Object.keys(leases).length);
      return held;
    });
  }

  /** Forgets every lease of the bridge (clean: the bridge is gone). */
  drop(): void {
    this.#locked(() => rmSync(this.file, { force: true }));
  }
}

function find(leases: Leases, name: string, tag: string): (LeaseEntry & { address: string }) | undefined {
  const found = Object.entries(leases).find(([, entry]) => isOwner(entry, name, tag));
  return found ? { ...found[1], address: found[0] } : undefined;
}

/** "web", or "web of state root /tmp/x" when the holder is another root's. */
function describeHolder(entry: LeaseEntry, tag: string): string {
  if (entry.tag === tag) return entry.name;
  return `${entry.name} of state root ${entry.tag === '' ? DEFAULT_ROOT : entry.root}`;
}
