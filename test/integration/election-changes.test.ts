import { describe, expect, it } from 'vitest';
import type { ElectionChange } from '../../src/election.js';
import { electionFixture } from '../support/election.js';
import { nextEvent, until } from '../support/events.js';
import { backends, uniquePath } from '../support/zookeeper.js';

// changes(): the election's terms and follower changes as an async iterator.

describe.each(backends)('changes() on %s', (backend) => {
  const participant = electionFixture(backend);

  it('changes() yields the terms and follower changes in order and ends after stop()', async () => {
    const path = uniquePath('changes');
    const alice = participant(path, { id: 'alice' });
    const bob = participant(path, { id: 'bob' });
    const seen: ElectionChange[] = [];
    const reading = (async () => {
      for await (const change of bob.changes()) seen.push(change);
    })();
    const aliceElected = nextEvent(alice, 'elected');
    await alice.start();
    await aliceElected;
    await bob.start();
    await until(() => seen.length === 1, 'bob follows');
    const bobElected = nextEvent(bob, 'elected');
    await alice.stop();
    await bobElected;
    await bob.stop();
    await reading;
    expect(seen.map((change) => change.type)).toEqual(['follower', 'elected', 'lost']);
    expect(seen[0]).toMatchObject({ type: 'follower', position: 1, leader: { id: 'alice' } });
    const term = seen[1] as Extract<ElectionChange, { type: 'elected' }>;
    expect(term.signal.aborted).toBe(true);
    expect(typeof term.fencingToken).toBe('bigint');
    expect(seen[2]).toEqual({ type: 'lost', reason: 'stopped' });
  });

  it('changes() starts with the current term when it leads already, and ends at once on abort', async () => {
    const alice = participant(uniquePath('changes-abort'), { id: 'alice' });
    const elected = nextEvent(alice, 'elected');
    await alice.start();
    const { fencingToken } = await elected;
    const controller = new AbortController();
    const stream = alice.changes({ signal: controller.signal });
    expect(await stream.next()).toMatchObject({ done: false, value: { type: 'elected', fencingToken } });
    const pending = stream.next();
    controller.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(alice.listenerCount('elected')).toBe(0);
    expect(alice.listenerCount('stopped')).toBe(0);
    await alice.stop();
    expect(await alice.changes().next()).toEqual({ done: true, value: undefined });
  });
});
