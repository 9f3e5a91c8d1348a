import { describe, expect, it } from 'vitest';
import { LeaderObserver } from '../../src/observer.js';
import { electionFixture } from '../support/election.js';
import { nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, uniquePath, zkConnect } from '../support/zookeeper.js';

// proclaim(data): the leader replaces what it published, within its term.

describe.each(backends)('proclaim() on %s', (backend) => {
  const { admin, defer, proxy } = testResources(backend);
  const participant = electionFixture(backend);

  it('proclaim(data) replaces what the leader published: observers see it in the same term, and getLeader() reads it', async () => {
    const path = uniquePath('proclaim');
    const alice = participant(path, { id: 'alice', data: { url: 'http://old' } });
    const elected = nextEvent(alice, 'elected');
    await alice.start();
    const { fencingToken } = await elected;
    const observer = new LeaderObserver({ connect: zkConnect(), path, backend });
    defer(() => observer.close());
    expect((await observer.waitForLeader()).data).toEqual({ url: 'http://old' });
    const seen = nextEvent(observer, 'leader');
    await alice.proclaim({ url: 'http://new' });
    expect(await seen).toMatchObject({ id: 'alice', data: { url: 'http://new' }, fencingToken });
    expect(await alice.getLeader()).toMatchObject({ data: { url: 'http://new' } });
  });

  it("proclaim refuses a follower and a deposed leader (NOT_LEADER) and the peers' recipes (UNSUPPORTED)", async () => {
    const path = uniquePath('proclaim-refused');
    const alice = participant(path, { id: 'alice' });
    const elected = nextEvent(alice, 'elected');
    await alice.start();
    await elected;
    const bob = participant(path, { id: 'bob' });
    const follows = nextEvent(bob, 'follower');
    await bob.start();
    await follows;
    await expect(bob.proclaim('x')).rejects.toMatchObject({ code: 'NOT_LEADER' });

    const cut = await proxy();
    const carol = participant(uniquePath('proclaim-deposed'), { id: 'carol', connect: cut.connectString });
    const carolLeads = nextEvent(carol, 'elected');
    await carol.start();
    await carolLeads;
    cut.holdReplies();
    const operator = await admin();
    await operator.remove(`${carol.path}/${carol.nodeName}`);
    const refused = carol.proclaim('late');
    await until(() => cut.heldReplyBytes > 0, 'the answer to be held', 5000);
    cut.heal();
    await expect(refused).rejects.toMatchObject({ code: 'NOT_LEADER' });

    const kazoo = participant(uniquePath('proclaim-kazoo'), { id: 'k', recipe: 'kazoo' });
    const kazooLeads = nextEvent(kazoo, 'elected');
    await kazoo.start();
    await kazooLeads;
    await expect(kazoo.proclaim('x')).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });
});
