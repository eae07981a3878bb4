// Durations and sizes as docker prints them (github.com/docker/go-units): "Up 3 minutes",
// "About an hour ago", "4.26MB" (decimal, for images and I/O), "1.5MiB" (binary, memory).
import { DiycError } from '@diyc/record';

/** go-units' HumanDuration: "Less than a second", "About a minute", "3 hours", "2 weeks". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** "2 minutes ago", as docker's CREATED and "Exited (0) ... ago". */
export const ago = (ms: number): string => `${humanDuration(ms)} ago`;

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Three significant digits, as Go's %.3g: 4.26, 42.6, 426, 1.23e+03 never (the unit changes first). */
function threeDigits(n: number): string {
  return String(Number(n.toPrecision(3)));
}

/** go-units' HumanSize: decimal, "4.26MB", "0B". */
export function humanSize(bytes: number): string {
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < DECIMAL.length - 1) {
    n /= 1000;
    i++;
  }
  return `${threeDigits(n)}${DECIMAL[i]}`;
}

/** go-units' BytesSize: binary, "1.5MiB", as docker stats shows memory. */
export function bytesSize(bytes: number): string {
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < BINARY.length - 1) {
    n /= 1024;
    i++;
  }
  return `${threeDigits(n)}${BINARY[i]}`;
}

/**
 * A Go duration as docker's --health-interval and --stop-timeout... take one: 30s, 1m30s,
 * 500ms, 1h; in milliseconds. A bare number is refused, as Go refuses it.
 */
export function parseGoDuration(text: string, flag: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (text === '0') return 0;
  // \u00b5 is µ: a bin's bundle is ASCII (tools/bundle-bin.mjs).
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text)
    throw new DiycError('usage', `${flag} ${text}: give a duration, as 30s, 1m30s or 500ms`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] as string] as number), 0);
}
