// runc's --log and --log-format: where a runtime's messages go for the engine that runs
// it. containerd shows the msg of the last error line of a JSON log as the error.
import { appendFileSync } from 'node:fs';

export interface LogOptions {
  file?: string;
  format: 'text' | 'json';
}

/** Appends one message to the log file, if there is one; never fails the command itself. */
export function writeLog(options: LogOptions, level: 'error' | 'warning' | 'info', msg: string): void {
  if (!options.file) return;
  const time = new Date().toISOString();
  const line = options.format === 'json' ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg="${msg.replace(/"/g, '\\"')}"`;
  try {
    appendFileSync(options.file, `${line}\n`);
  } catch { /* a log that cannot be written must not hide the error itself */ }
}
