// Sizes as people write them: 10M, 512K, 1G, 1.5g, or a number of bytes.

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Parses a size to bytes (powers of 1024). `bareUnit` is the unit of a number given
 * alone: bytes here, megabytes for diyc-run's -m (as diyC's -m was).
 */
export function parseSize(text: string, bareUnit: 'b' | 'm' = 'b'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!match) throw new RangeError(`'${text}' is not a size: use a number with K, M or G (10M, 512K, 1G)`);
  const unit = (match[2] ?? '').toLowerCase() || bareUnit;
  const bytes = Math.round(Number(match[1]) * (UNITS[unit] ?? 1));
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`'${text}' is too large`);
  return bytes;
}

/** 10485760 -> "10M": the shortest exact way to write a size. */
export function formatSize(bytes: number): string {
  for (const [unit, factor] of [
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)}M`;
  return `${bytes}`;
}
