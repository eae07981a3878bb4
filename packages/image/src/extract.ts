// extractLayer(): one tar stream (plain or gzip) into one directory, with the sha256
// of the uncompressed stream: the layer's diff_id in OCI terms.
//
// A large layer file's diff_id is hashed elsewhere (digest.ts: on libuv's thread pool for a
// plain file, a worker for a gzip one) while this thread writes it out; a small file's and
// a stream's (stdin, a registry's response) are hashed here, as they come.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { DiycError } from '@diyc/record';
import { fileChunks, fileDigest, type PendingDigest, WorkerDigest } from './digest.js';
import { crypto, zlib } from './lazy-builtins.js';
import { LayerWriter, type LayerStats } from './layer-writer.js';
import { TarParser } from './tar-parser.js';

/** A broken or unreadable archive. */
const archiveError = (message: string): DiycError => new DiycError('invalid', message);

export interface ExtractResult extends LayerStats {
  /** sha256:HEX of the uncompressed tar stream. */
  diffId: string;
}

export interface ExtractOptions {
  /** Called with the bytes read from the source so far (compressed bytes for gzip). */
  onProgress?: (bytesRead: number) => void;
}

type Compression = 'none' | 'gzip';

const XZ = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** Names the compression from the first bytes, or throws for one we cannot read. */
export function detectCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 6).equals(XZ))
    throw archiveError('the archive is xz-compressed: decompress it first (xz -dc FILE | diyc-image unpack -)');
  if (head.subarray(0, 3).toString('latin1') === 'BZh')
    throw archiveError('the archive is bzip2-compressed: decompress it first (bzip2 -dc FILE | diyc-image unpack -)');
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528)
    throw archiveError('the archive is zstd-compressed: decompress it first (zstd -dc FILE | diyc-image unpack -)');
  return 'none';
}

/** Yields the source's chunks, counting them. */
async function* counted(source: AsyncIterable<Buffer>, onRead: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onRead(chunk.length);
    yield chunk;
  }
}

/**
 * Gunzips a stream. zlib inflates on libuv's thread pool, so the next chunk is inflated
 * while this thread writes out the last one.
 */
async function* gunzipped(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const gunzip = zlib().createGunzip({ chunkSize: 256 * 1024 });
  const feeding = (async () => {
    try {
      for await (const chunk of source) {
        if (!gunzip.write(chunk)) await new Promise((r) => gunzip.once('drain', r));
      }
      gunzip.end();
    } catch (err) {
      gunzip.destroy(err as Error);
    }
  })();
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof DiycError) throw err;
    throw archiveError(`the archive is not valid gzip: ${(err as Error).message}`);
  }
  await feeding;
}

/** Reads the stream's first chunk, and yields every chunk, decompressed when needed. */
async function* tarBytes(source: AsyncIterable<Buffer>, onRead: (n: number) => void): AsyncGenerator<Buffer> {
  const iterator = counted(source, onRead)[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw archiveError('the archive is empty');
  const compression = detectCompression(first.value);
  const all = async function* (): AsyncGenerator<Buffer> {
    yield first.value;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value;
  };
  yield* compression === 'none' ? all() : gunzipped(all());
}

/** The first bytes of a file, to name its compression. */
function fileHead(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(6);
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * A layer file smaller than this is hashed here: starting a worker or a child process costs
 * more than hashing 16 MB takes (busybox's layer is 2 MB).
 */
const HASH_ELSEWHERE_FROM = 16 * 1024 * 1024;

/**
 * Feeds a layer file to the parser. A plain file's diff_id is hashed on the thread pool as
 * this thread extracts it (digest.ts); a gzip file's, on a worker; a small file's, here.
 */
async function pumpFile(path: string, parser: TarParser, onRead: (n: number) => void): Promise<PendingDigest | LocalDigest> {
  if (statSync(path).size < HASH_ELSEWHERE_FROM) return pumpStream(fileChunks(path), parser, onRead);
  const head = fileHead(path);
  if (head.length === 0) throw archiveError('the archive is empty');
  const gzip = detectCompression(head) === 'gzip';
  const digest = gzip ? WorkerDigest.ofCopies() : fileDigest(path);
  try {
    if (!(digest instanceof WorkerDigest)) {
      await readPlainFile(path, parser, onRead);
    } else {
      for await (const chunk of gunzipped(counted(fileChunks(path), onRead))) {
        await digest.copy(chunk);
        parser.write(chunk);
      }
    }
  } catch (err) {
    digest.cancel();
    throw err;
  }
  return digest;
}

/**
 * A plain layer file's reads. A body is written from the buffer it was read into: read
 * 256 KB at a time, its bytes are still in the CPU's cache when they are written out (GNU
 * tar reads 10 KB); read a megabyte at a time, they are not. In one process, extracting
 * the benchmark's layer into tmpfs took 130-160 ms with 128 or 256 KB reads, 155-210 with
 * 1 MB, 180-250 with 16 KB (the fastest and the first quarter of ten alternated runs).
 */
const PLAIN_READ = 256 * 1024;
/** The event loop gets a turn this often, so that a signal's handler runs (it removes the layer's directory). */
const YIELD_EVERY = 4 * 1024 * 1024;

/**
 * The rest of a body at least this long is copied by the kernel (TarParser.copyBody,
 * sendfile(2)) from the archive's page cache to the new file, instead of being read into
 * this process and written out again: one copy of the bytes instead of two. The benchmark's
 * layer (124 MB) unpacked into tmpfs in 342 ms against 372 without it (medians of nine
 * alternated runs); a shorter rest is not worth its system call.
 */
const COPY_FROM = 64 * 1024;

/** Feeds a plain layer file to the parser, read synchronously into one buffer. */
async function readPlainFile(path: string, parser: TarParser, onRead: (n: number) => void): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(PLAIN_READ + 4);
    let position = 0;
    let unyielded = 0;
    for (;;) {
      // The next slice of a long body, copied by the kernel (none when the sink keeps no
      // body, or the file ends), or else a read. A slice, not the whole rest: the event loop
      // gets its turns while a body of gigabytes is copied (with one sendfile(2), a signal's
      // handler waited for all of it: 7.5 s for 3 GB here).
      let n = parser.bodyLeft >= COPY_FROM ? parser.copyBody(fd, position, YIELD_EVERY) : 0;
      if (n === 0) {
        // Read to the same place modulo 4 as in the archive, so that its headers (at multiples
        // of 512) start on word boundaries, where their checksums are summed a word at a time;
        // a body copied by the kernel leaves the archive's position anywhere.
        const at = position % 4;
        n = readSync(fd, buf, at, PLAIN_READ, position);
        if (n === 0) return;
        parser.write(buf.subarray(at, at + n));
      }
      position += n;
      onRead(n);
      unyielded += n;
      if (unyielded >= YIELD_EVERY) {
        unyielded = 0;
        await new Promise(setImmediate);
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** A digest computed on this thread. */
interface LocalDigest {
  digest(): Promise<string>;
  cancel?: undefined;
}

/** Feeds a stream to the parser, hashing it on this thread. */
async function pumpStream(source: AsyncIterable<Buffer>, parser: TarParser, onRead: (n: number) => void): Promise<LocalDigest> {
  const hash = crypto().createHash('sha256');
  for await (const chunk of tarBytes(source, onRead)) {
    hash.update(chunk);
    parser.write(chunk);
  }
  return { digest: async () => `sha256:${hash.digest('hex')}` };
}

/**
 * Extracts a tar stream, or a layer file given by its path, into `dir` (which must exist
 * and be empty). Throws on a corrupt or truncated archive, and on an unsafe entry; the
 * caller removes `dir`.
 */
export async function extractLayer(
  source: string | Readable | AsyncIterable<Buffer>,
  dir: string,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const writer = new LayerWriter(dir);
  const parser = new TarParser(writer);
  let read = 0;
  const onRead = (n: number): void => {
    read += n;
    options.onProgress?.(read);
  };
  // Modes are written as the archive has them: no umask while the layer is written.
  const umask = process.umask(0);
  let digest: PendingDigest | LocalDigest;
  try {
    digest =
      typeof source === 'string'
        ? await pumpFile(source, parser, onRead)
        : await pumpStream(source as AsyncIterable<Buffer>, parser, onRead);
    try {
      parser.end();
      if (parser.entries === 0) throw archiveError('the archive holds no files (is it a tar archive?)');
      writer.finish();
    } catch (err) {
      digest.cancel?.();
      throw err;
    }
  } catch (err) {
    writer.abort();
    throw err;
  } finally {
    process.umask(umask);
  }
  return { diffId: await digest.digest(), ...writer.stats };
}
