import { describe, expect, it } from 'vitest';
import { Permission } from '../../src/client/types.js';
import { electionOrder } from '../../src/candidate.js';
import { isZooKeeperError } from '../../src/errors.js';
import { electionEvents, electionFixture, leaderAndFollower } from '../support/election.js';
import { EventLog, drained, nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { adminSession, backends, operatorSetAcl, uniquePath } from '../support/zookeeper.js';

// What an operator (or another program) does to a running election: deletes a node, the path
// or the whole tree, writes to a node, replaces the path, takes READ away.

describe.each(backends)("an operator's changes on %s", (backend) => {
  const { admin, session } = testResources(backend);
  const participant = electionFixture(backend);

  it('volunteers again when an operator deletes its node', async () => {
    const path = uniquePath('operator-node');
    const alice = participant(path);
    const term = nextEvent(alice, 'elected');
    await alice.start();
    const { fencingToken } = await term;
    const admin = await adminSession();

    const lost = nextEvent(alice, 'lost');
    const again = nextEvent(alice, 'elected');
    await admin.remove(`${path}/${alice.nodeName}`);
    expect(await lost).toEqual({ reason: 'node-deleted' });
    expect((await again).fencingToken).toBeGreaterThan(fencingToken);
    expect(await admin.getChildren(path)).toEqual([alice.nodeName]);
    await admin.close();
  });

  it('re-creates the election node when an operator deletes it, and volunteers again', async () => {
    const path = uniquePath('operator-parent');
    const alice = participant(path);
    const term = nextEvent(alice, 'elected');
    await alice.start();
    const { fencingToken } = await term;
    const admin = await adminSession();

    const lost = nextEvent(alice, 'lost');
    // Both deletes go out back to back, as an operator's `deleteall` does. Alice hears of her
    // node's deletion at once and may join again before the parent's delete lands (NOT_EMPTY):
    // then the operator deletes again, as deleteall would, until the election node is gone.
    for (;;) {
      const [, parent] = await Promise.allSettled([admin.remove(`${path}/${alice.nodeName}`), admin.remove(path)]);
      if (parent.status === 'fulfilled' || isZooKeeperError(parent.reason, 'NO_NODE')) break;
      if (!isZooKeeperError(parent.reason, 'NOT_EMPTY')) throw parent.reason;
    }
    expect(await lost).toEqual({ reason: 'node-deleted' });
    await until(async () => alice.isLeader && (await admin.exists(path)) !== null, 'alice leads again under a re-created election node');
    expect((await alice.waitForLeadership()).fencingToken).toBeGreaterThan(fencingToken);
    expect(electionOrder(await admin.getChildren(path)).map((c) => c.name)).toEqual([alice.nodeName]);
    await admin.close();
  });

  it('survives the whole election path being deleted under running participants', async () => {
    const path = uniquePath('deleteall');
    const [first, second] = ['first', 'second'].map((id) => participant(path, { id }));
    const leads = nextEvent(first!, 'elected');
    await first!.start();
    await leads;
    const follows = nextEvent(second!, 'follower');
    await second!.start();
    await follows;
    const operator = await admin();

    const firstLost = nextEvent(first!, 'lost');
    // As an operator's `deleteall` does: children, then the node, retried while they re-join.
    for (;;) {
      const children = await operator.getChildren(path).catch(() => []);
      const removed = await Promise.all(
        [...children.map((child) => operator.remove(`${path}/${child}`)), operator.remove(path)].map((p) =>
          p.then(
            () => true,
            () => false,
          ),
        ),
      );
      if (removed.at(-1)) break;
    }
    expect(await firstLost).toEqual({ reason: 'node-deleted' });
    await until(async () => (await operator.getChildren(path).catch(() => [])).length === 2, 'both to re-join');
    await until(() => [first!, second!].filter((election) => election.isLeader).length === 1, 'one leader again');
  });

  it("a leader hears its node's deletion even after someone wrote data to it", async () => {
    const path = uniquePath('data-then-delete');
    const alice = participant(path, { id: 'alice' });
    const term = nextEvent(alice, 'elected');
    await alice.start();
    const { signal } = await term;
    const operator = await admin();
    const node = `${path}/${alice.nodeName}`;

    await operator.setData(node, Buffer.from('touched by a tool'));
    await drained(alice.session);
    const lost = nextEvent(alice, 'lost', 5000);
    await operator.remove(node);
    expect(await lost).toEqual({ reason: 'node-deleted' });
    expect(signal.aborted).toBe(true);
  });

  it('a candidate whose node someone else deleted never leads on its old predecessor watch', async () => {
    const path = uniquePath('dead-candidacy');
    const log = new EventLog();
    const [leader, a, b] = ['leader', 'a', 'b'].map((id) => participant(path, { id }));
    for (const [name, election] of [
      ['a', a!],
      ['b', b!],
    ] as const)
      log.record(name, election, electionEvents);
    const leads = nextEvent(leader!, 'elected');
    await leader!.start();
    await leads;
    await a!.start();
    await b!.start();
    await until(() => b!.nodeName !== null && log.index('b', 'follower') >= 0, 'b to follow');
    const operator = await admin();

    await operator.remove(`${path}/${a!.nodeName}`);
    // a's client has heard of its own node's deletion (if it watches it) once it is drained.
    await drained(a!.session);
    const bLeads = nextEvent(b!, 'elected');
    await leader!.stop();
    await bLeads;
    await drained(a!.session);
    expect(log.names().filter((name) => name.endsWith(':elected'))).toEqual(['b:elected']);
    expect(a!.isLeader).toBe(false);
  });

  it('reports ZooKeeper errors mid-run as error events and recovers when they stop', async () => {
    const path = uniquePath('errors-mid-run');
    participant.expectErrors('NO_CHILDREN_FOR_EPHEMERALS');
    const alice = participant(path);
    const term = nextEvent(alice, 'elected');
    await alice.start();
    await term;
    const operator = session();
    await operator.ready();

    // The election node is replaced by an ephemeral node: it can have no children now.
    const error = nextEvent(alice, 'error');
    // Sent back to back on one connection, so they land before the participant can re-join.
    await Promise.all([operator.remove(`${path}/${alice.nodeName}`), operator.remove(path), operator.create(path, Buffer.alloc(0), 'ephemeral')]);
    expect(await error).toMatchObject({ code: 'NO_CHILDREN_FOR_EPHEMERALS', message: expect.stringContaining('choose a path whose parents are persistent') });

    // The operator's session ends, its node goes: the participant volunteers again.
    const again = nextEvent(alice, 'elected');
    await operator.close();
    await again;
  });

  it('a leader whose node an operator made unreadable, then deleted, hears of the deletion through the queue and stops leading', async () => {
    const path = uniquePath('unreadable-own-node');
    const { alice, bob, log, term } = await leaderAndFollower(participant, path);
    const node = `${path}/${alice.nodeName}`;
    const operator = await admin();

    // Write only: ZooKeeper sends no notice about a node to a session that cannot read it,
    // neither of this write nor of the deletion, so alice's watch on her node stays silent.
    await operatorSetAcl(node, [{ scheme: 'world', id: 'anyone', permissions: Permission.write }]);
    await operator.setData(node, Buffer.from('touched by a tool'));
    const lost = nextEvent(alice, 'lost');
    const bobLeads = nextEvent(bob, 'elected');
    await operator.remove(node);
    expect(await lost).toEqual({ reason: 'node-deleted' });
    expect(term.signal.aborted).toBe(true);
    await bobLeads;
    await until(() => alice.health().role === 'follower', 'alice to queue again behind bob');
    expect(alice.isLeader).toBe(false);
    expect(log.names().filter((name) => name.endsWith(':elected'))).toEqual(['alice:elected', 'bob:elected']);
  });

  it('the third in line whose predecessor was made unreadable, then deleted, moves up and leads once the leader leaves', async () => {
    const path = uniquePath('unreadable-predecessor');
    const { alice, bob } = await leaderAndFollower(participant, path);
    const carol = participant(path, { id: 'carol' });
    const carolFollows = nextEvent(carol, 'follower');
    await carol.start();
    expect((await carolFollows).position).toBe(2);
    const bobNode = `${path}/${bob.nodeName}`;
    const operator = await admin();

    // carol's watch on bob's node is used up without a notice: she could not READ it when it went.
    await operatorSetAcl(bobNode, [{ scheme: 'world', id: 'anyone', permissions: Permission.write }]);
    const carolMovesUp = nextEvent(carol, 'follower');
    await operator.remove(bobNode);
    expect(await carolMovesUp).toMatchObject({ leader: { id: 'alice' }, position: 1 });
    const carolLeads = nextEvent(carol, 'elected');
    await alice.stop();
    await carolLeads;
  });

  it('a leader whose children watch went unheard while the path was unreadable steps down for a kazoo candidate that joined then, once READ is back', async () => {
    const path = uniquePath('unreadable-path-join');
    participant.expectErrors('RECIPE_MISMATCH');
    const { alice } = await leaderAndFollower(participant, path);
    const operator = await admin();
    await operatorSetAcl(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all & ~Permission.read }]);
    // A kazoo process does not see our nodes and leads in its own eyes; alice's children watch
    // fires for its join, but the notice is not sent to a session that cannot READ the path.
    await operator.create(`${path}/0123456789abcdef0123456789abcdef__lock__`, Buffer.from('kazoo-1'), 'ephemeral-sequential');
    const lost = nextEvent(alice, 'lost');
    await operatorSetAcl(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all }]);
    expect(await lost).toEqual({ reason: 'superseded' });
  });
});
