import { describe, expect, it } from 'vitest';
import { ago, bytesSize, humanDuration, humanSize, parseGoDuration } from '../src/human.js';

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

describe('durations as go-units prints them', () => {
  it('says what docker says at each step', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(1 * s)).toBe('1 second');
    expect(humanDuration(45 * s)).toBe('45 seconds');
    expect(humanDuration(61 * s)).toBe('About a minute');
    expect(humanDuration(5 * m)).toBe('5 minutes');
    expect(humanDuration(61 * m)).toBe('About an hour');
    expect(humanDuration(3 * h)).toBe('3 hours');
    expect(humanDuration(3 * d)).toBe('3 days');
    expect(humanDuration(20 * d)).toBe('2 weeks');
    expect(humanDuration(90 * d)).toBe('3 months');
    expect(humanDuration(800 * d)).toBe('2 years');
    expect(ago(2 * m)).toBe('2 minutes ago');
  });
});

describe('sizes', () => {
  it('decimal for images (HumanSize): three significant digits', () => {
    expect(humanSize(0)).toBe('0B');
    expect(humanSize(999)).toBe('999B');
    expect(humanSize(1980000)).toBe('1.98MB');
    expect(humanSize(4_260_000)).toBe('4.26MB');
    expect(humanSize(77_800_000)).toBe('77.8MB');
    expect(humanSize(1_000_000_000)).toBe('1GB');
  });

  it('binary for memory (BytesSize)', () => {
    expect(bytesSize(1536 * 1024)).toBe('1.5MiB');
    expect(bytesSize(512)).toBe('512B');
    expect(bytesSize(2 * 1024 ** 3)).toBe('2GiB');
  });
});

describe('Go durations', () => {
  it('reads 30s, 1m30s, 500ms, 1h, 0', () => {
    expect(parseGoDuration('30s', '--x')).toBe(30_000);
    expect(parseGoDuration('1m30s', '--x')).toBe(90_000);
    expect(parseGoDuration('500ms', '--x')).toBe(500);
    expect(parseGoDuration('1h', '--x')).toBe(3_600_000);
    expect(parseGoDuration('1500µs', '--x')).toBe(1.5); // Go's micro sign, and its 'us'
    expect(parseGoDuration('2us', '--x')).toBe(0.002);
    expect(parseGoDuration('0', '--x')).toBe(0);
  });

  it('refuses a bare number and junk, as Go does', () => {
    expect(() => parseGoDuration('30', '--x')).toThrow(/--x 30: give a duration/);
    expect(() => parseGoDuration('3sx', '--x')).toThrow();
  });
});
