// A progress bar for long work, on stderr when it is a terminal; silent otherwise.

export interface Progress {
  /** Redraws the bar (at most ten times a second), with `detail` after the amounts. */
  update(done: number, total?: number, detail?: string): void;
  /** A line above the bar, which stays: a step finished. */
  log(line: string): void;
  finish(): void;
}

const units = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 1536 -> "1.5 KB". */
export function formatBytes(n: number): string {
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, log() {}, finish() {} };
  let last = 0;
  let drawn = false;
  return {
    update(done, total, detail) {
      const now = Date.now();
      if (now - last < 100 && done !== total) return;
      last = now;
      drawn = true;
      const width = 30;
      const bar = total ? `[${'#'.repeat(Math.round((done / total) * width)).padEnd(width, '.')}] ` : '';
      const amount = total ? `${formatBytes(done)} / ${formatBytes(total)}` : formatBytes(done);
      stream.write(`\r${label} ${bar}${amount}${detail ? `  ${detail}` : ''}\x1b[K`);
    },
    log(line) {
      stream.write(`\r\x1b[K${line}\n`);
      last = 0;
    },
    finish() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
