import { describe, expect, it } from 'vitest';
import { Permission } from '../../src/client/types.js';
import { electionFixture, leaderAndFollower } from '../support/election.js';
import { nextEvent } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, uniquePath } from '../support/zookeeper.js';

// resign(): the term ends and the participant queues again at the back, or, where the path's
// ACL does not let it delete its node, goes on leading on the same node.

describe.each(backends)('resign() on %s', (backend) => {
  const { admin } = testResources(backend);
  const participant = electionFixture(backend);

  it('resign() ends the term and queues again at the back', async () => {
    const path = uniquePath('resign');
    const first = participant(path, { id: 'first' });
    const firstTerm = nextEvent(first, 'elected');
    await first.start();
    const { signal } = await firstTerm;
    const second = participant(path, { id: 'second' });
    await second.start();

    const lost = nextEvent(first, 'lost');
    const secondTerm = nextEvent(second, 'elected');
    const follows = nextEvent(first, 'follower');
    expect(await first.resign()).toBe(true);
    expect(await lost).toEqual({ reason: 'resigned' });
    expect(signal.aborted).toBe(true);
    await secondTerm;
    expect((await follows).leader.id).toBe('second');
    expect((await first.participants()).map((p) => p.id)).toEqual(['second', 'first']);
    expect(await first.resign()).toBe(false);
  });

  it('without DELETE on the election path, resign() rejects with NO_AUTH and the leader goes on leading on the same node, with the same token', async () => {
    const path = uniquePath('no-delete');
    const operator = await admin();
    const noDelete = Permission.all & ~Permission.delete;
    await operator.ensurePath(path, [{ scheme: 'world', id: 'anyone', permissions: noDelete }]);
    participant.expectErrors('NO_AUTH');
    const { alice, bob, term } = await leaderAndFollower(participant, path);
    const node = alice.nodeName;

    const again = nextEvent(alice, 'elected');
    await expect(alice.resign()).rejects.toMatchObject({ code: 'NO_AUTH', message: expect.stringContaining('DELETE') });
    const resumed = await again;
    expect(resumed.fencingToken).toBe(term.fencingToken);
    expect(alice.nodeName).toBe(node);
    expect(alice.health()).toMatchObject({ ok: true, role: 'leader' });
    expect(bob.isLeader).toBe(false);

    // stop() closes alice's own session, which takes the node without a delete: bob leads.
    const bobLeads = nextEvent(bob, 'elected');
    await alice.stop();
    expect((await bobLeads).fencingToken).toBeGreaterThan(term.fencingToken);
  });
});
