import { describe, expect, it } from 'vitest';
import { electionFixture, following, leading } from '../support/election.js';
import { nextEvent } from '../support/events.js';
import { backends, uniquePath } from '../support/zookeeper.js';

// waitForLeadership(): resolves with the next term; gives up on abort, on timeoutMs and on stop().

describe.each(backends)('waitForLeadership() on %s', (backend) => {
  const participant = electionFixture(backend);

  it('waitForLeadership rejects with the signal’s reason on abort, and with INVALID_STATE on stop', async () => {
    const path = uniquePath('wait-leadership');
    const a = participant(path, { id: 'a' });
    const b = participant(path, { id: 'b' });
    await leading(a);
    await following(b);
    const controller = new AbortController();
    const waiting = b.waitForLeadership(controller.signal);
    controller.abort(new Error('no longer interested'));
    await expect(waiting).rejects.toThrow('no longer interested');
    const untilStop = b.waitForLeadership();
    await b.stop();
    await expect(untilStop).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  it('waitForLeadership takes { signal, timeoutMs } as waitForLeader does (WAIT_TIMEOUT), and a bare signal still', async () => {
    const path = uniquePath('wait-options');
    const alice = participant(path, { id: 'alice' });
    const elected = nextEvent(alice, 'elected');
    await alice.start();
    await elected;
    const bob = participant(path, { id: 'bob' });
    await bob.start();
    await expect(bob.waitForLeadership({ timeoutMs: 200 })).rejects.toMatchObject({ code: 'WAIT_TIMEOUT' });
    const controller = new AbortController();
    const waiting = bob.waitForLeadership(controller.signal);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    const term = bob.waitForLeadership({ timeoutMs: 20_000 });
    await alice.stop();
    expect((await term).fencingToken).toBeGreaterThan(0n);
  });
});
