import { describe, expect, it } from 'vitest';
import { Backoff, validateRetry } from '../../src/backoff.js';
import { LeaderElection } from '../../src/election.js';
import { Session } from '../../src/session.js';
import { Random } from '../sim/random.js';

describe('retry backoff', () => {
  it('spreads a thousand clients that fail together over the whole first window', () => {
    // The simulation's seeded source: the spread is checked exactly, the same every run.
    const source = new Random(7);
    const random = () => source.next();
    const firstPauses = Array.from({ length: 1000 }, () => new Backoff({ initialMs: 1000, maxMs: 5000 }, random).next());
    // Ten 100 ms buckets: without jitter all thousand would land in one.
    const buckets = Array.from({ length: 10 }, (_, i) => firstPauses.filter((ms) => ms >= i * 100 && ms < (i + 1) * 100).length);
    expect(Math.min(...buckets)).toBeGreaterThan(60);
    expect(Math.max(...buckets)).toBeLessThan(140);
    expect(Math.max(...firstPauses)).toBeLessThan(1000);
  });

  it('doubles the window per failure up to maxMs, and starts over after reset()', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.next())).toEqual([99, 199, 399, 799, 999, 999]);
    backoff.reset();
    expect(backoff.next()).toBe(99);
    expect(new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0).slow()).toBe(500);
  });

  it("with 'equal' jitter draws each pause from the upper half of its window", () => {
    const lowest = new Backoff({ initialMs: 500, maxMs: 30_000 }, () => 0, 'equal');
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(() => lowest.next())).toEqual([250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
    const highest = new Backoff({ initialMs: 500, maxMs: 30_000 }, () => 0.999999, 'equal');
    expect([1, 2].map(() => highest.next())).toEqual([499, 999]);
  });

  it('refuses a bad retry option in one line that names the field', () => {
    expect(validateRetry(undefined)).toEqual({ initialMs: 200, maxMs: 5000 });
    expect(validateRetry({ initialMs: 10_000 })).toEqual({ initialMs: 10_000, maxMs: 10_000 });
    expect(() => validateRetry({ initialMs: -1 })).toThrow(
      "retry.initialMs must be a number of milliseconds >= 0 and <= 2147483647 (Node's longest timer, about 24.8 days): got -1",
    );
    expect(() => validateRetry({ initialMs: 500, maxMs: 100 })).toThrow('retry.maxMs (100) must be at least retry.initialMs (500)');
    expect(() => new Session({ connect: '127.0.0.1:1', retry: { maxMs: Number.NaN } })).toThrow(/retry.maxMs must be a number/);
    expect(() => new LeaderElection({ connect: '127.0.0.1:1', path: '/x', retry: 'fast' as never })).toThrow('retry must be { initialMs, maxMs }: got "fast"');
  });
});
