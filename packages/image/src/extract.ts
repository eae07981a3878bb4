// extractLayer(): one tar stream (plain or gzip) into one directory, with the sha256
// of the uncompressed stream: the layer's diff_id in OCI terms.
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DiycError } from '@diyc/record';
import type { WorkerDigest } from './digest.js';
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
  /** The diff_id, computed on a worker (digestInWorker): this thread then does not hash. */
  digest?: WorkerDigest;
}

type Compression = 'none' | 'gzip';

/** Names the compression from the first bytes, or throws for one we cannot read. */
export function detectCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) throw archiveError('the archive is xz-compressed: decompress it first (xz -dc FILE | diyc-image unpack -)');
  if (head.subarray(0, 3).toString('latin1') === 'BZh') throw archiveError('the archive is bzip2-compressed: decompress it first (bzip2 -dc FILE | diyc-image unpack -)');
  if (head.readUInt32LE(0) === 0xfd2fb528) throw archiveError('the archive is zstd-compressed: decompress it first (zstd -dc FILE | diyc-image unpack -)');
  return 'none';
}

/** Reads the stream's first chunk and yields every chunk, decompressed when needed. */
async function* tarBytes(source: AsyncIterable<Buffer>, onRead: (n: number) => void): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw archiveError('the archive is empty');
  const compression = detectCompression(first.value);
  const rest = async function* (): AsyncGenerator<Buffer> {
    onRead(first.value.length);
    yield first.value;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
      onRead(r.value.length);
      yield r.value;
    }
  };
  if (compression === 'none') {
    yield* rest();
    return;
  }
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const feeding = (async () => {
    try {
      for await (const chunk of rest()) {
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
    throw archiveError(`the archive is not valid gzip: ${(err as Error).message}`);
  }
  await feeding;
}

/**
 * Extracts a tar stream into `dir` (which must exist and be empty). Throws on a
 * corrupt or truncated archive, and on an unsafe entry; the caller removes `dir`.
 */
export async function extractLayer(source: Readable | AsyncIterable<Buffer>, dir: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const writer = new LayerWriter(dir);
  const parser = new TarParser(writer);
  const hash = options.digest ? undefined : createHash('sha256');
  let read = 0;
  // Modes are written as the archive has them: no umask while the layer is written.
  const umask = process.umask(0);
  try {
    for await (const chunk of tarBytes(source as AsyncIterable<Buffer>, (n) => { read += n; options.onProgress?.(read); })) {
      hash?.update(chunk);
      parser.write(chunk);
    }
    parser.end();
    if (parser.entries === 0) throw archiveError('the archive holds no files (is it a tar archive?)');
    writer.finish();
  } catch (err) {
    writer.abort();
    options.digest?.cancel();
    throw err;
  } finally {
    process.umask(umask);
  }
  const diffId = options.digest ? await options.digest.result : `sha256:${(hash as Hash).digest('hex')}`;
  return { diffId, ...writer.stats };
}
