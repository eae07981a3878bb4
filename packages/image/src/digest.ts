// The diff_id of a layer file: sha256 of its uncompressed tar stream, computed on
// another thread while this one extracts. Hashing 170 MB takes about as long as
// writing it out, and a container host has a second core.
import { closeSync, openSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const CHUNK = 1 << 20;

// Self-contained, so that it runs from a bundled bin as from the library: a worker
// given as source text needs no file of its own.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const { createGunzip } = require('node:zlib');
const hash = createHash('sha256');
const fd = openSync(workerData.path, 'r');
const head = Buffer.alloc(2);
const gzip = readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
const CHUNK = 1 << 20;
if (!gzip) {
  const buf = Buffer.allocUnsafe(CHUNK); // hash.update() is done with it when it returns
  for (;;) {
    const n = readSync(fd, buf, 0, CHUNK, null);
    if (n === 0) break;
    hash.update(buf.subarray(0, n));
  }
  closeSync(fd);
  parentPort.postMessage(hash.digest('hex'));
} else {
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  gunzip.on('data', (d) => hash.update(d));
  gunzip.on('error', (e) => parentPort.postMessage({ error: e.message }));
  gunzip.on('end', () => parentPort.postMessage(hash.digest('hex')));
  const pump = () => {
    for (;;) {
      const buf = Buffer.allocUnsafe(CHUNK);
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) { closeSync(fd); gunzip.end(); return; }
      if (!gunzip.write(buf.subarray(0, n))) { gunzip.once('drain', pump); return; }
    }
  };
  pump();
}
`;

/** A digest being computed on a worker thread. */
export interface WorkerDigest {
  /** sha256:HEX of the file's tar stream (gunzipped when it is gzip). */
  result: Promise<string>;
  /** Stops the worker, for an extraction that failed: its result is no longer wanted. */
  cancel(): void;
}

export function digestInWorker(path: string): WorkerDigest {
  const worker = new Worker(WORKER, { eval: true, workerData: { path } });
  const result = new Promise<string>((resolve, reject) => {
    worker.once('message', (m: string | { error: string }) => {
      if (typeof m === 'string') resolve(`sha256:${m}`);
      else reject(new Error(m.error));
      void worker.terminate();
    });
    worker.once('error', reject);
  });
  return {
    result,
    cancel() {
      result.catch(() => {}); // a cancelled digest's failure concerns no one
      void worker.terminate();
    },
  };
}

/**
 * The file's bytes in synchronous 1 MB reads, into two buffers used in turn. The tar
 * parser keeps a view of the end of the last chunk it was given (a header cut in two)
 * until the next one arrives, so a buffer is refilled only after that: reusing them
 * spares the page faults and garbage collection of a fresh buffer per read.
 */
export async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r');
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
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
