// runc's log: logrus lines, where engines and people read them. containerd passes
// `--log FILE --log-format json` and shows the msg of the last error line as the error;
// a person sees the same lines on stderr. The formats are logrus's, as runc 1.1 writes them
// (github.com/sirupsen/logrus text_formatter.go and json_formatter.go):
//
//   text   time="2026-12-05T03:00:18Z" level=debug msg="nsexec container setup" pid=42
//   json   {"level":"debug","msg":"nsexec container setup","pid":42,"time":"2026-12-05T03:00:18Z"}
//   tty    DEBU[0000] nsexec container setup                   pid=42   (stderr a terminal, no --log)
//
// Without --debug only info and above are written. Nothing here can fail a command: a log
// that cannot be written is dropped.
import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { writeErr } from '@diyc/cli';

/**
 * isatty(3), where only a character device can be a terminal: a pipe, a file or one of the
 * memory devices (major 1: /dev/null, an engine's stderr) is answered by fstat(2), and
 * node:tty, which loads node:net and Node's streams (~2.5 ms), is asked only of the others.
 * https://man7.org/linux/man-pages/man3/isatty.3.html
 * https://man7.org/linux/man-pages/man2/fstat.2.html
 * https://man7.org/linux/man-pages/man4/mem.4.html
 */
function isatty(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    if (!st.isCharacterDevice() || Math.floor(st.rdev / 256) % 4096 === 1) return false;
  } catch {
    return false;
  }
  return (createRequire(import.meta.url)('node:tty') as typeof import('node:tty')).isatty(fd);
}

export type Level = 'debug' | 'info' | 'warning' | 'error';
export type Fields = Record<string, string | number | boolean>;

const RANK: Record<Level, number> = { debug: 0, info: 1, warning: 2, error: 3 };
/** logrus's level colours on a terminal: gray, blue, yellow, red. */
const COLOUR: Record<Level, number> = { debug: 37, info: 36, warning: 33, error: 31 };

export interface LogOptions {
  /** --log: the file, appended to; undefined: stderr. */
  file?: string;
  format: 'text' | 'json';
  /** --debug: debug lines too. */
  debug: boolean;
}

/** RFC 3339 in local time to the second, as Go's time.RFC3339 ("Z" when the zone is UTC). */
export function rfc3339(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 19);
  if (offset === 0) return `${local}Z`;
  const abs = Math.abs(offset);
  return `${local}${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** Go's strconv.Quote for the strings a log holds: "\"", "\\", control characters escaped. */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** logrus quotes a value unless it is made only of these (text_formatter.go needsQuoting). */
const BARE = /^[A-Za-z0-9\-._/@^+]+$/;
const textValue = (value: string | number | boolean): string => {
  const text = String(value);
  return BARE.test(text) ? text : goQuote(text);
};

/** Go's encoding/json escapes <, > and & (and U+2028, U+2029) in strings: logrus's JSON lines do. */
const goJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** One line in `format`, as logrus's formatter writes it. */
export function formatLine(
  format: 'text' | 'json' | 'tty',
  level: Level,
  msg: string,
  fields: Fields = {},
  now = new Date(),
  started = now,
): string {
  const keys = Object.keys(fields).sort();
  if (format === 'json') {
    const data: Record<string, unknown> = {};
    for (const key of [...keys, 'level', 'msg', 'time'].sort()) {
      data[key] = key === 'level' ? level : key === 'msg' ? msg : key === 'time' ? rfc3339(now) : fields[key];
    }
    return `${goJson(data)}\n`;
  }
  if (format === 'tty') {
    const seconds = String(Math.max(0, Math.floor((now.getTime() - started.getTime()) / 1000))).padStart(4, '0');
    const tag = level === 'warning' ? 'WARN' : level.toUpperCase().slice(0, 4);
    const rest = keys.map((k) => ` \x1b[${COLOUR[level]}m${k}\x1b[0m=${String(fields[k])}`).join('');
    return `\x1b[${COLOUR[level]}m${tag}\x1b[0m[${seconds}] ${keys.length > 0 ? msg.padEnd(44) : msg}${rest}\n`;
  }
  const rest = keys.map((k) => ` ${k}=${textValue(fields[k] as string)}`).join('');
  return `time=${goQuote(rfc3339(now))} level=${level} msg=${textValue(msg)}${rest}\n`;
}

const sleep = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * Appends all of `text` to the --log file: a failure (the disk full) drops the rest. Lines
 * for stderr go through @diyc/cli's writeErr, as every diyc command's do.
 */
function writeFile(fd: number, text: string): void {
  let data = Buffer.from(text);
  while (data.length > 0) {
    try {
      data = data.subarray(writeSync(fd, data));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      sleep(1);
    }
  }
}

/** The log of one diyc-oci command: its level, its format, where it goes. */
export class Logger {
  readonly options: LogOptions;
  readonly #started = new Date();
  #fd: number | undefined;
  #opened = false;

  constructor(options: LogOptions) {
    this.options = options;
  }

  /** Lines go to stderr (runc then prints no second, bare copy of an error). */
  get toStderr(): boolean {
    return this.options.file === undefined;
  }

  /** Whether a debug line would be written (so a caller can skip building it). */
  get debugging(): boolean {
    return this.options.debug;
  }

  /** Opens --log (O_APPEND|O_SYNC, 0644, as runc) once, at the first line. */
  #target(): number | undefined {
    if (this.options.file === undefined) return 2;
    if (!this.#opened) {
      this.#opened = true;
      try {
        this.#fd = openSync(this.options.file, constants.O_CREAT | constants.O_WRONLY | constants.O_APPEND | constants.O_SYNC, 0o644);
      } catch {
        /* the message still reaches stderr (fatal) */
      }
    }
    return this.#fd;
  }

  log(level: Level, msg: string, fields: Fields = {}): void {
    if (RANK[level] < RANK[this.options.debug ? 'debug' : 'info']) return;
    const fd = this.#target();
    if (fd === undefined) return;
    const format = this.options.format === 'json' ? 'json' : fd === 2 && isatty(2) ? 'tty' : 'text';
    // stderr closed or the disk full: dropped, the command's own result stands.
    const line = formatLine(format, level, msg, fields, new Date(), this.#started);
    if (fd === 2) writeErr(line);
    else writeFile(fd, line);
  }

  debug(msg: string, fields?: Fields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: Fields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: Fields): void {
    this.log('warning', msg, fields);
  }
  error(msg: string, fields?: Fields): void {
    this.log('error', msg, fields);
  }

  close(): void {
    if (this.#fd !== undefined) {
      try {
        closeSync(this.#fd);
      } catch {
        /* closed */
      }
      this.#fd = undefined;
    }
  }
}
