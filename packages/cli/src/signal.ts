// Signals as commands take them: a name with or without SIG, any case, or a number.
import { constants } from 'node:os';
import { DiycError } from '@diyc/record';

/** SIGTERM, TERM, sigterm, 15: the signal's number (`fallback` when text is undefined). */
export function parseSignal(text: string | undefined, fallback: number = constants.signals.SIGTERM): number {
  if (text === undefined) return fallback;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > 64) throw new DiycError('usage', `signal ${text} is not a signal number (1 to 64)`);
    return n;
  }
  const name = text.toUpperCase().replace(/^SIG/, '');
  const n = (constants.signals as Record<string, number>)[`SIG${name}`];
  if (n === undefined) throw new DiycError('usage', `unknown signal ${text}`);
  return n;
}
