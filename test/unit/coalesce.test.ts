import { describe, expect, it } from 'vitest';
import { CoalescingRunner } from '../../src/coalesce.js';

describe('CoalescingRunner', () => {
  it.each([0, 1, 2, 3])('runs again for a request that lands as the previous run ends (%i microtasks later)', async (depth) => {
    let runs = 0;
    const runner = new CoalescingRunner(() => {
      runs += 1;
      return Promise.resolve();
    });
    void runner.request();
    // At depth 0 the request landed between the loop's end and its cleanup, and was lost.
    let later: Promise<unknown> = Promise.resolve();
    for (let step = 0; step < depth; step++) later = later.then(() => undefined);
    void later.then(() => runner.request());
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(runs).toBe(2);
  });

  it('coalesces a burst of requests during a run into one more run', async () => {
    let runs = 0;
    let release!: () => void;
    const runner = new CoalescingRunner(async () => {
      runs += 1;
      if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    void runner.request();
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (let index = 0; index < 5; index++) void runner.request();
    release();
    await runner.request();
    expect(runs).toBe(2);
  });

  it('does not run while inactive, and runs again once asked after that', async () => {
    let active = false;
    let runs = 0;
    const runner = new CoalescingRunner(
      () => Promise.resolve(void (runs += 1)),
      () => active,
    );
    await runner.request();
    expect(runs).toBe(0);
    active = true;
    await runner.request();
    expect(runs).toBe(1);
  });
});
