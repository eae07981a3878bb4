// The diff_id of a layer: the sha256 of its uncompressed tar stream, computed on another
// core while this thread extracts. Hashing 124 MB takes as long as GNU tar takes to write
// it out, and a container host has a second core.
//
// A plain layer file is read and hashed by `openssl dgst` in a child process (fileDigest),
// or, where openssl is missing, by a worker that reads it itself: reading it twice from the
// page cache costs less on this thread than the page faults of memory shared with the worker. Bytes
// that exist only here (a gunzipped layer) are copied into a ring of slots in shared
// memory, which the worker hashes as they are published; a slot is filled again only once
// the worker has hashed it. The ring is deep enough for this thread to run ahead while the
// worker starts (a Node worker takes some 30 ms).
import { closeSync, openSync, readSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { DiycError } from '@diyc/record';
import { childProcess, workerThreads } from './lazy-builtins.js';

const SLOT = 1 << 20;
const SLOTS = 32;
/** Indices into the control words: slots published by this thread, slots hashed by the worker. */
const PUBLISHED = 0;
const HASHED = 1;

// Self-contained, so that it runs from a bundled bin as from the library: a worker given
// as source text needs no file of its own. It loads little (crypto, and fs for a file), to start sooner.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hash = createHash('sha256');
if (workerData.file !== undefined) {
  const { closeSync, openSync, readSync } = require('node:fs');
  const fd = openSync(workerData.file, 'r');
  const buf = Buffer.allocUnsafe(${SLOT});
  for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  closeSync(fd);
} else {
  const { control, lengths, data } = workerData;
  for (let hashed = 0; ; hashed++) {
    while (Atomics.load(control, ${PUBLISHED}) === hashed) Atomics.wait(control, ${PUBLISHED}, hashed);
    const length = lengths[hashed % ${SLOTS}];
    if (length < 0) break; // the end of the stream
    hash.update(new Uint8Array(data, (hashed % ${SLOTS}) * ${SLOT}, length));
    Atomics.store(control, ${HASHED}, hashed + 1);
    Atomics.notify(control, ${HASHED});
  }
}
parentPort.postMessage(hash.digest('hex'));
`;

/** Atomics.waitAsync (ES2024; Node 16 and later): waits without blocking the event loop. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(array: Int32Array, index: number, value: number): { value: Promise<string> | string };
  }
).waitAsync;

/** The sha256 of a layer file, or of bytes copied to it, computed on a worker thread. */
export class WorkerDigest {
  readonly #control = new Int32Array(new SharedArrayBuffer(8));
  readonly #lengths = new Int32Array(new SharedArrayBuffer(4 * SLOTS));
  readonly #data: SharedArrayBuffer | undefined;
  readonly #worker: Worker;
  readonly #result: Promise<string>;
  #published = 0;

  /** The digest of a file, read by the worker. */
  static ofFile(path: string): WorkerDigest {
    return new WorkerDigest(path);
  }

  /** The digest of the bytes given to copy(), in order. */
  static ofCopies(): WorkerDigest {
    return new WorkerDigest(undefined);
  }

  private constructor(file: string | undefined) {
    if (file === undefined) this.#data = new SharedArrayBuffer(SLOT * SLOTS);
    this.#worker = new (workerThreads().Worker)(WORKER, {
      eval: true,
      workerData: file !== undefined ? { file } : { control: this.#control, lengths: this.#lengths, data: this.#data },
    });
    this.#result = new Promise<string>((resolve, reject) => {
      this.#worker.once('message', (hex: string) => resolve(`sha256:${hex}`));
      this.#worker.once('error', (err) => reject(new DiycError('system', `the digest worker failed: ${err.message}`, { cause: err })));
    });
    this.#result.catch(() => {}); // a cancelled digest's failure concerns no one
    if (file !== undefined) this.#published = -1; // nothing to publish: digest() only waits
  }

  /** The next slot to fill, a view of shared memory; it waits while the worker is a ring behind. */
  async #slot(): Promise<Buffer> {
    for (;;) {
      const hashed = Atomics.load(this.#control, HASHED);
      if (this.#published - hashed < SLOTS) break;
      await waitAsync(this.#control, HASHED, hashed).value;
    }
    return Buffer.from(this.#data as SharedArrayBuffer, (this.#published % SLOTS) * SLOT, SLOT);
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

/** A digest being computed elsewhere: a worker, or a child process. */
export interface PendingDigest {
  /** sha256:HEX, once computed. */
  digest(): Promise<string>;
  /** Stops the computation: the extraction failed. */
  cancel(): void;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The sha256 of a file, by `openssl dgst` in a child process where openssl is installed,
 * else by a worker. The child starts in 5 to 10 ms of this thread, where a Node worker
 * takes 60 to 130 ms to boot on a loaded two-core machine, and its hashing (OpenSSL's
 * SHA-NI code, as Node's own) is the longest step of unpacking a plain layer: 124 MB take
 * 124 ms, as long as GNU tar takes to extract them. containerd calls unpigz the same way.
 * https://www.openssl.org/docs/man3.0/man1/openssl-dgst.html
 */
export function fileDigest(path: string): PendingDigest {
  // Only the hex digest is read from its output; its environment is PATH alone, so that no
  // OPENSSL_CONF of the caller's loads a provider into it.
  const child = childProcess().spawn('openssl', ['dgst', '-sha256', '-r', '--', path], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  let out = '';
  child.stdout?.setEncoding('latin1').on('data', (text: string) => {
    out += text;
  });
  const result = new Promise<string | undefined>((resolve) => {
    child.once('error', () => resolve(undefined)); // not installed: the worker hashes it
    child.once('close', (code) => {
      const hex = out.slice(0, 64);
      resolve(code === 0 && HEX64.test(hex) ? `sha256:${hex}` : undefined);
    });
  });
  return {
    digest: async () => (await result) ?? WorkerDigest.ofFile(path).digest(),
    cancel: () => child.kill(),
  };
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
