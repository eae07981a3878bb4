// The diff_id of a layer: the sha256 of its uncompressed tar stream, computed on another
// core while this thread extracts. Hashing 124 MB takes as long as GNU tar takes to write
// it out, and a container host has a second core.
//
// A plain layer file is read and hashed on libuv's thread pool by the addon, with Node's own
// OpenSSL (fileDigest): reading it twice from the page cache costs less on this thread than
// the page faults of memory shared with a hasher. Bytes that exist only here (a gunzipped
// layer) are copied into a ring of slots in shared memory, which a worker hashes as they are
// published; a slot is filled again only once the worker has hashed it. The ring is deep
// enough for this thread to run ahead while the worker starts (a Node worker takes some 30 ms).
import { closeSync, openSync, readSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { DiycError } from '@diyc/record';
import { sha256File } from '@diyc/syscalls';
import { workerThreads } from './lazy-builtins.js';

const SLOT = 1 << 20;
const SLOTS = 32;
/** Indices into the control words: slots published by this thread, slots hashed by the worker. */
const PUBLISHED = 0;
const HASHED = 1;

// Self-contained, so that it runs from a bundled bin as from the library: a worker given
// as source text needs no file of its own. It loads little (crypto), to start sooner.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hash = createHash('sha256');
const { control, lengths, data } = workerData;
for (let hashed = 0; ; hashed++) {
  while (Atomics.load(control, ${PUBLISHED}) === hashed) Atomics.wait(control, ${PUBLISHED}, hashed);
  const length = lengths[hashed % ${SLOTS}];
  if (length < 0) break; // the end of the stream
  hash.update(new Uint8Array(data, (hashed % ${SLOTS}) * ${SLOT}, length));
  Atomics.store(control, ${HASHED}, hashed + 1);
  Atomics.notify(control, ${HASHED});
}
parentPort.postMessage(hash.digest('hex'));
`;

/** Atomics.waitAsync (ES2024; Node 16 and later): waits without blocking the event loop. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(array: Int32Array, index: number, value: number): { value: Promise<string> | string };
  }
).waitAsync;

/** The sha256 of bytes copied to it (a gunzipped layer), computed on a worker thread. */
export class WorkerDigest {
  readonly #control = new Int32Array(new SharedArrayBuffer(8));
  readonly #lengths = new Int32Array(new SharedArrayBuffer(4 * SLOTS));
  readonly #data = new SharedArrayBuffer(SLOT * SLOTS);
  readonly #worker: Worker;
  readonly #result: Promise<string>;
  #published = 0;

  /** The digest of the bytes given to copy(), in order. */
  static ofCopies(): WorkerDigest {
    return new WorkerDigest();
  }

  private constructor() {
    this.#worker = new (workerThreads().Worker)(WORKER, {
      eval: true,
      workerData: { control: this.#control, lengths: this.#lengths, data: this.#data },
    });
    this.#result = new Promise<string>((resolve, reject) => {
      this.#worker.once('message', (hex: string) => resolve(`sha256:${hex}`));
      this.#worker.once('error', (err) => reject(new DiycError('system', `the digest worker failed: ${err.message}`, { cause: err })));
    });
    this.#result.catch(() => {}); // a cancelled digest's failure concerns no one
  }

  /** The next slot to fill, a view of shared memory; it waits while the worker is a ring behind. */
  async #slot(): Promise<Buffer> {
    for (;;) {
      const hashed = Atomics.load(this.#control, HASHED);
      if (this.#published - hashed < SLOTS) break;
      await waitAsync(this.#control, HASHED, hashed).value;
    }
    return Buffer.from(this.#data, (this.#published % SLOTS) * SLOT, SLOT);
  }

  /** Hands the slot from #slot() to the worker, with the `length` bytes filled. */
  #publish(length: number): void {
    Atomics.store(this.#lengths, this.#published % SLOTS, length);
    Atomics.store(this.#control, PUBLISHED, ++this.#published);
    Atomics.notify(this.#control, PUBLISHED);
  }

  /** Copies bytes that come from elsewhere (a gunzip stream) into slots, and publishes them. */
  async copy(chunk: Buffer): Promise<void> {
    for (let off = 0; off < chunk.length; ) {
      const slot = await this.#slot();
      const n = chunk.copy(slot, 0, off, Math.min(off + SLOT, chunk.length));
      this.#publish(n);
      off += n;
    }
  }

  /** The end of the stream: the digest, once the worker has hashed every slot. */
  async digest(): Promise<string> {
    if (this.#published >= 0) {
      await this.#slot();
      this.#publish(-1);
    }
    try {
      return await this.#result;
    } finally {
      void this.#worker.terminate();
    }
  }

  /** Stops the worker: the extraction failed, and its digest is no longer wanted. */
  cancel(): void {
    void this.#worker.terminate();
  }
}

/** A digest being computed elsewhere: on a worker, or on libuv's thread pool. */
export interface PendingDigest {
  /** sha256:HEX, once computed. */
  digest(): Promise<string>;
  /** Stops the computation: the extraction failed. */
  cancel(): void;
}

/**
 * The sha256 of a file, read and hashed on libuv's thread pool by the addon (Node's own
 * OpenSSL, with the CPU's SHA extensions): it is the longest step of unpacking a plain
 * layer (124 MB take ~120 ms, as long as GNU tar takes to extract them), and it costs this
 * thread nothing. `openssl dgst` in a child process did it before, and spawning one took 5
 * to 10 ms of this thread; a Node worker takes 60 to 130 ms to boot on a loaded two-core
 * machine.
 */
export function fileDigest(path: string): PendingDigest {
  const { digest, cancel } = sha256File(path);
  const result = digest.then(
    (hex) => `sha256:${hex}`,
    (err: Error) => {
      throw new DiycError('system', `could not hash the layer ${path}: ${err.message}`, { cause: err });
    },
  );
  result.catch(() => {}); // a cancelled digest's failure concerns no one
  return { digest: () => result, cancel };
}

/**
 * The file's bytes in synchronous 1 MB reads, into two buffers used in turn: the parser
 * is done with a chunk when it returns, but zlib holds one until it has inflated it (the
 * gunzip loop waits for 'drain' before it writes another).
 */
export async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r');
  const buffers = [Buffer.allocUnsafe(SLOT), Buffer.allocUnsafe(SLOT)];
  try {
    for (let i = 0; ; i ^= 1) {
      const buf = buffers[i] as Buffer;
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}
