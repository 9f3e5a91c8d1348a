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

/**
 * Refuses option names `known` does not list, naming the closest one: a misspelled option
 * (`sesionTimeoutMs`) would otherwise be ignored, and its default used, without a word.
 * `known` is a record of every option name so that the compiler keeps it complete.
 * @throws INVALID_ARGUMENT naming the unknown option and what it may have meant.
 */
export function rejectUnknownOptions(options: object, known: Record<string, true>, what: string): void {
  for (const name of Object.keys(options)) {
    if (Object.hasOwn(known, name)) continue;
    const closest = closestName(name, Object.keys(known));
    throw new InvalidArgumentError(
      `${what} has no option '${name}'${closest ? `: did you mean '${closest}'?` : `; its options are ${Object.keys(known).join(', ')}`}`,
    );
  }
}

/** The name nearest to `name` (edit distance, case-insensitive), if near enough to be a typo. */
function closestName(name: string, names: string[]): string | null {
  let best: { name: string; distance: number } | null = null;
  for (const candidate of names) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.name : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
