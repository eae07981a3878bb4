// Signals as runc's kill takes them: a number (0 included: it checks that the process is
// there), or a name with or without SIG, in any case.
import { constants } from 'node:os';
import { DiycError } from '@diyc/record';

/** runc's parseSignal; undefined is SIGTERM. */
export function parseSignal(text: string | undefined): number {
  if (text === undefined || text === '') return constants.signals.SIGTERM;
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    if (n < 0 || n > 64) throw new DiycError('invalid', `invalid signal number ${text}`);
    return n;
  }
  const name = text.toUpperCase();
  const n = (constants.signals as Record<string, number>)[name.startsWith('SIG') ? name : `SIG${name}`];
  if (n === undefined) throw new DiycError('invalid', `unknown signal "${text}"`);
  return n;
}
