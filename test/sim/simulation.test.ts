import { describe, expect, it } from 'vitest';
import { simulate } from './simulation.js';
import { formatSequence } from './zookeeper-model.js';

// The deterministic simulation's CI budget: 200 seeds of 2,000 steps each, every invariant
// checked after every step. `npm run test:sim -- --seeds 100000` runs the long version.

const seeds = 200;
const steps = 2_000;

describe('the deterministic simulation', () => {
  it(`finds no violation in ${seeds} seeds of ${steps} steps`, async () => {
    const failures: string[] = [];
    let total = 0;
    for (let seed = 0; seed < seeds; seed++) {
      const result = await simulate({ seed, steps });
      total += result.steps;
      if (result.violation)
        failures.push(`seed ${seed}: ${result.violation.invariant}: ${result.violation.message} (replay: npm run test:sim -- --seed ${seed})`);
    }
    expect(failures).toEqual([]);
    expect(total).toBe(seeds * steps);
  }, 120_000);

  // Seeds of the long run (10,000 seeds) whose findings were fixed, replayed on every run: each
  // failed before its fix, and its commit says what it found.
  const fixedFindings = [1278, 2409, 2410, 4467, 5651, 6374, 7537, 7828];
  it.each(fixedFindings)('seed %i of the long run finds nothing now', async (seed) => {
    const result = await simulate({ seed, steps });
    expect(result.violation ? `${result.violation.invariant}: ${result.violation.message}` : null).toBeNull();
  });

  it('replays a seed exactly: the same trace, step for step', async () => {
    const first = await simulate({ seed: 7, steps: 1_500, traced: true });
    const second = await simulate({ seed: 7, steps: 1_500, traced: true });
    expect(first.trace!.length).toBeGreaterThan(50);
    expect(second.trace).toEqual(first.trace);
  });

  it('prints sequences as ZooKeeper does, across the wrap past 2^31 - 1', () => {
    expect(formatSequence(7)).toBe('0000000007');
    expect(formatSequence(2 ** 31 - 1)).toBe('2147483647');
    expect(formatSequence((2 ** 31 - 1 + 1) | 0)).toBe('-2147483648');
    expect(formatSequence(-5)).toBe('-000000005');
  });
});
