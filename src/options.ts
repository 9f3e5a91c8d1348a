import { InvalidArgumentError } from './errors.js';

/**
 * The longest delay Node's timers keep (2^31 - 1 ms, about 24.8 days). A longer one, or
 * Infinity or NaN, fires after 1 ms instead, with only a warning on stderr: a takeover delay
 * of Infinity would elect at once, a connect timeout of 3e9 ms would fail at once.
 */
export const maxTimerMs = 2 ** 31 - 1;

/**
 * Checks a millisecond option, in the one wording every such option shares; `undefined`
 * gives `fallback`. `atLeast: 'zero'` where 0 means "none" or "at once", `'positive'` where a
 * duration must pass.
 * @throws INVALID_ARGUMENT naming the option and the value given.
 */
export function validateMs(value: unknown, name: string, fallback: number, atLeast: 'zero' | 'positive'): number {
  if (value === undefined) return fallback;
  const low = atLeast === 'zero' ? value === 0 || (value as number) > 0 : (value as number) > 0;
  if (typeof value !== 'number' || !low || !(value <= maxTimerMs)) {
    throw new InvalidArgumentError(
      `${name} must be a number of milliseconds ${atLeast === 'zero' ? '>= 0' : '> 0'} and <= ${maxTimerMs} (Node's longest timer, about 24.8 days): got ${shown(value)}`,
    );
  }
  return value;
}

/** A value as the caller wrote it: JSON would print Infinity and NaN as null. */
function shown(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return typeof value === 'bigint' ? `${value}n` : String(value);
  return JSON.stringify(value) ?? String(value);
}
