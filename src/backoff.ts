import { InvalidArgumentError } from './errors.js';
import { validateMs } from './options.js';

/**
 * How fast to retry: the first pause is drawn from [0, initialMs), each further one from a
 * range twice as wide, never wider than [0, maxMs).
 */
export interface RetryOptions {
  /** Upper bound of the first pause. Default 200 ms. */
  initialMs?: number;
  /** Upper bound of every pause. Default 5 000 ms. */
  maxMs?: number;
}

export const defaultRetry: Required<RetryOptions> = { initialMs: 200, maxMs: 5_000 };

/** Checks a `retry` option; throws INVALID_ARGUMENT naming the bad field. */
export function validateRetry(retry: RetryOptions | undefined, option = 'retry'): Required<RetryOptions> {
  if (retry === undefined) return defaultRetry;
  if (!retry || typeof retry !== 'object') throw new InvalidArgumentError(`${option} must be { initialMs, maxMs }: got ${JSON.stringify(retry)}`);
  const initialMs = validateMs(retry.initialMs, `${option}.initialMs`, defaultRetry.initialMs, 'zero');
  const maxMs = validateMs(retry.maxMs, `${option}.maxMs`, Math.max(defaultRetry.maxMs, initialMs), 'zero');
  if (maxMs < initialMs) throw new InvalidArgumentError(`${option}.maxMs (${maxMs}) must be at least ${option}.initialMs (${initialMs})`);
  return { initialMs, maxMs };
}

/**
 * How a pause is drawn from its window [0, ceiling): `full` from all of it, `equal` from its
 * upper half (a pause that must be felt, such as a leader's after its work failed).
 */
export type Jitter = 'full' | 'equal';

/**
 * Exponential backoff with jitter (AWS's "Exponential Backoff and Jitter"): a thousand
 * clients that failed together come back spread over the window instead of in lockstep, so a
 * recovering ensemble is not hit by all of them at once. Full jitter by default.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly retry: Required<RetryOptions>,
    private readonly random: () => number,
    private readonly jitter: Jitter = 'full',
  ) {}

  /** The pause before the next attempt; each call widens the window until `reset()`. */
  next(): number {
    const ceilingMs = Math.min(this.retry.maxMs, this.retry.initialMs * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 30);
    return Math.floor(ceilingMs * (this.jitter === 'equal' ? 0.5 + this.random() * 0.5 : this.random()));
  }

  /** A pause from the upper half of the widest window, for failures that will not heal fast (a refused ACL). */
  slow(): number {
    return Math.floor(this.retry.maxMs * (0.5 + this.random() * 0.5));
  }

  /** After a success: the next failure starts from the first window again. */
  reset(): void {
    this.failures = 0;
  }
}
