// The relay (relay.cc): a pipe copied to a descriptor on the event loop. Real pipes and
// processes: a writer that writes more than a pipe holds, a reader that starts late (the
// relay must wait for it, not drop or block), a reader that is gone, a regular file.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pipe, relay } from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'diyc-relay-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs `script` with the given fds as its stdin/stdout; resolves with its exit code. */
function sh(script: string, stdin: number | 'ignore', stdout: number | 'ignore'): Promise<number | null> {
  const child = spawn('sh', ['-c', script], { stdio: [stdin, stdout, 'inherit'] });
  return new Promise((resolve) => child.on('close', resolve));
}

describe('relay', () => {
  it('copies all a writer writes, in order, to a reader that starts late, and gives each chunk to onData', async () => {
    const [fromRead, fromWrite] = pipe();
    const [toRead, toWrite] = pipe();
    const out = join(work, 'late');
    // 1.1 MB through two pipes of 64 KB: the relay must wait for the reader, not drop.
    const writer = sh('seq 1 150000', 'ignore', fromWrite);
    const reader = sh(`sleep 0.3; cat > ${out}`, toRead, 'ignore');
    closeSync(fromWrite);
    closeSync(toRead);
    const seen: Buffer[] = [];
    const r = relay(fromRead, toWrite, (chunk) => seen.push(chunk));
    await r.ended;
    closeSync(toWrite);
    expect(await writer).toBe(0);
    expect(await reader).toBe(0);
    const expected = Array.from({ length: 150000 }, (_, i) => `${i + 1}\n`).join('');
    expect(readFileSync(out, 'utf8') === expected).toBe(true);
    expect(Buffer.concat(seen).toString() === expected).toBe(true);
  });

  it('writes a regular file where it stands, after what was written to it', async () => {
    const file = join(work, 'file');
    const fd = openSync(file, 'w');
    writeSync(fd, 'before\n');
    const [read, write] = pipe();
    const writer = sh('echo one; echo two', 'ignore', write);
    closeSync(write);
    await relay(read, fd).ended;
    closeSync(fd);
    expect(await writer).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('before\none\ntwo\n');
  });

  it('ends when the reader is gone, and the writer gets SIGPIPE, as in a shell pipeline', async () => {
    const [fromRead, fromWrite] = pipe();
    const [toRead, toWrite] = pipe();
    closeSync(toRead); // nobody reads: EPIPE
    // `yes` never ends by itself: only SIGPIPE (or EPIPE) ends it.
    const child = spawn('yes', [], { stdio: ['ignore', fromWrite, 'inherit'] });
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    closeSync(fromWrite);
    await relay(fromRead, toWrite).ended;
    closeSync(toWrite);
    expect(await ended).toBe('SIGPIPE');
  });

  it('stops when asked, with a writer still holding the pipe', async () => {
    const [read, write] = pipe();
    const devNull = openSync('/dev/null', 'w');
    const r = relay(read, devNull);
    setTimeout(() => r.stop(), 50);
    await r.ended; // would wait forever: `write` is still open here
    closeSync(write);
    closeSync(devNull);
  });
});
