import { describe, expect, it } from 'vitest';
import { parseLeaderRecord, publishLeaderRecord } from '../../src/leader-record.js';
import { LeaderElection } from '../../src/election.js';
import { Session } from '../../src/session.js';
import { expireSession } from '../../src/testing/index.js';
import { electionFixture, following, leading } from '../support/election.js';
import { nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { adminSession, backends, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';

// The leader record and trackLeader: followers hear of each new leader from the record the
// leader writes, without listing the queue; the record never goes back to an older leader.

describe.each(backends)('the leader record and trackLeader on %s', (backend) => {
  const { admin, defer, proxy } = testResources(backend);
  const participant = electionFixture(backend);

  it('trackLeader followers keep hearing of new leaders after a reconnect and after an expiry', async () => {
    const path = uniquePath('track-recover');
    const cut = await proxy();
    const [a, b] = ['a', 'b'].map((id) => participant(path, { id }));
    const c = participant(path, { id: 'c', trackLeader: true, connect: cut.connectString, sessionTimeoutMs: 6000 });
    await leading(a!);
    await following(b!);
    const seesA = nextEvent(c, 'leader');
    await c.start();
    expect((await seesA)?.id).toBe('a');

    const reconnected = nextEvent(c, 'reconnected');
    cut.resetConnections();
    await reconnected;
    const seesB = nextEvent(c, 'leader');
    await a!.stop();
    expect((await seesB)?.id).toBe('b');

    const d = participant(path, { id: 'd' });
    await following(d);
    const expired = nextEvent(c, 'expired');
    const rejoined = nextEvent(c, 'follower');
    await expireSession(cut.connectString, c.session.credentials()!);
    await expired;
    await rejoined;
    const seesNext = nextEvent(c, 'leader');
    await b!.stop();
    // c re-joined behind d after its expiry: d leads next, and c (on its new session) hears it.
    expect((await seesNext)?.id).toBe('d');
  });

  it("trackLeader emits null when the recorded leader's node is gone", async () => {
    const path = uniquePath('track-null');
    const a = participant(path, { id: 'a' });
    const c = participant(path, { id: 'c', trackLeader: true });
    await leading(a);
    const seesA = nextEvent(c, 'leader');
    await c.start();
    await seesA;
    const operator = await admin();
    const seesNobody = nextEvent(c, 'leader');
    // A record naming a node that does not exist, with a token above any so far.
    await operator.setData(path, Buffer.from(JSON.stringify({ node: 'gone-n_9999999999', id: 'x', token: '999999999999', since: 0 })));
    expect(await seesNobody).toBeNull();
  });

  it('trackLeader followers hear of each new leader without listing the queue', async () => {
    const path = uniquePath('track');
    const sessionsHere = [0, 1, 2].map(() => new Session({ connect: zkConnect(), backend }));
    for (const each of sessionsHere) defer(() => each.close());
    const [a, b, c] = sessionsHere.map((session, index) => new LeaderElection({ path, session, id: ['a', 'b', 'c'][index]!, trackLeader: true }));
    defer(() => Promise.all([a!.stop(), b!.stop(), c!.stop()]));
    await a!.start();
    await nextEvent(a!, 'elected');
    await b!.start();
    const cSeesA = nextEvent(c!, 'leader');
    await c!.start();
    expect((await cSeesA)?.id).toBe('a');

    const listingsBefore = sessionsHere[2]!.requestCounts.getChildren ?? 0;
    const cSeesB = nextEvent(c!, 'leader');
    await a!.stop();
    const leader = await cSeesB;
    expect(leader?.id).toBe('b');
    expect(leader?.fencingToken).toBe(b!.fencingToken);
    expect(sessionsHere[2]!.requestCounts.getChildren ?? 0).toBe(listingsBefore);
    const admin = await adminSession();
    await Promise.all([b!.stop(), c!.stop()]);
    await removeTree(admin, path);
    await admin.close();
  });

  it('never goes back to an older leader: a late write from a previous leader is dropped', async () => {
    const path = uniquePath('leader-record');
    const session = new Session({ connect: zkConnect(), backend });
    defer(() => session.close());
    await session.ready();
    await session.ensurePath(path);
    const scope = session.scope!;
    expect(await publishLeaderRecord(scope, path, { node: 'b', id: 'b', token: 20n, since: 2 })).toBe(true);
    // The previous leader's write, held up and arriving late.
    expect(await publishLeaderRecord(scope, path, { node: 'a', id: 'a', token: 10n, since: 1 })).toBe(false);
    expect(parseLeaderRecord((await session.getData(path)).data)).toEqual({ node: 'b', token: 20n });
    expect(await publishLeaderRecord(scope, path, { node: 'c', id: 'c', token: 30n, since: 3 })).toBe(true);
    expect(parseLeaderRecord((await session.getData(path)).data)).toEqual({ node: 'c', token: 30n });
    const admin = await adminSession();
    await removeTree(admin, path);
    await admin.close();
  });

  it('a leader that stops while its leader record is being read writes no record for its gone node', async () => {
    const path = uniquePath('record-after-stop');
    const cut = await proxy();
    const alice = participant(path, { id: 'alice', connect: cut.connectString, sessionTimeoutMs: 8000 });
    let stopping: Promise<void> | undefined;
    // The record's read goes out right after `elected`: its reply is held, and the term ends
    // (stop) before that reply comes.
    alice.once('elected', () => {
      cut.holdReplies();
      queueMicrotask(() => {
        stopping = alice.stop();
      });
    });
    await alice.start();
    await until(() => stopping !== undefined && cut.heldReplyBytes > 0, 'the record read to be held');
    cut.heal();
    await stopping;
    const operator = await admin();
    expect((await operator.getData(path)).data.toString(), 'no record names a node that is gone').toBe('');
  });
});
