import { describe, expect, it } from 'vitest';
import { expireSession } from '../../src/testing/index.js';
import { testResources } from '../support/resources.js';
import { backends, zkConnect } from '../support/zookeeper.js';

describe.each(backends)('retry backoff on %s', (backend) => {
  const { session } = testResources(backend);

  it('sessions expired together come back spread over the jitter window, not in lockstep', async () => {
    const windowMs = 1500;
    const sessions = Array.from({ length: 8 }, () => session({ retry: { initialMs: windowMs, maxMs: windowMs } }));
    await Promise.all(sessions.map((each) => each.ready()));
    const delays = await Promise.all(
      sessions.map(async (each) => {
        const credentials = each.credentials()!;
        const back = new Promise<number>((resolve) => {
          let expiredAt = 0;
          each.once('expired', () => (expiredAt = performance.now()));
          each.once('connected', () => resolve(performance.now() - expiredAt));
        });
        await expireSession(zkConnect(), credentials);
        return back;
      }),
    );
    // Each waits a pause drawn from [0, 1500 ms) before its new session: eight of them span
    // most of the window (all within 300 ms of each other: probability below 1e-4).
    const spreadMs = Math.max(...delays) - Math.min(...delays);
    expect(spreadMs, `delays ${delays.map(Math.round).join(', ')} ms`).toBeGreaterThan(300);
    expect(Math.max(...delays)).toBeLessThan(windowMs + 2000);
  });
});
