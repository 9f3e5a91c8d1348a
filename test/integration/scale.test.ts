import { afterEach, describe, expect, it } from 'vitest';
import { LeaderElection } from '../../src/election.js';
import { Session } from '../../src/session.js';
import { drained, nextEvent, sleep, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { adminSession, backends, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';

/**
 * Requests each session sent for the recipes, heartbeats left out, and `exists`: the test's
 * own probe (below); the election itself reads with getChildren and getData.
 */
function requestsBySession(sessions: Session[]): number[] {
  return sessions.map((session) =>
    Object.entries(session.requestCounts)
      .filter(([operation]) => operation !== 'heartbeat' && operation !== 'exists')
      .reduce((sum, [, count]) => sum + count, 0),
  );
}

/**
 * Every session has read and acted on what the server sent before now (drained), and the
 * requests that started are answered: counting after this sees every wake-up a change caused.
 */
async function quiet(sessions: Session[]): Promise<void> {
  await Promise.all(sessions.map((session) => drained(session)));
  await Promise.all(sessions.map((session) => drained(session)));
}

/** Resolves once `session` has sent nothing but heartbeats for 300 ms (the followers' evaluations after the joins are done). */
async function settled(session: Session): Promise<void> {
  let last = -1;
  for (;;) {
    await quiet([session]);
    const now = requestsBySession([session])[0]!;
    if (now === last) return;
    last = now;
    // A negative check: no event says a session has nothing more to send, so it must send
    // nothing for a while.
    await sleep(300);
  }
}

/** Resolves once `count` of `elections` lead (each election has its leader). */
async function allLead(elections: LeaderElection[], count: number): Promise<void> {
  const leading = () => elections.filter((election) => election.isLeader).length;
  await until(
    () => leading() >= count,
    () => `${count} elections to have a leader (${leading()} have)`,
  );
}

describe.each(backends)('many participants on %s', (backend) => {
  const sessions: Session[] = [];
  const elections: LeaderElection[] = [];
  afterEach(async () => {
    await Promise.all(elections.splice(0).map((election) => election.stop()));
    await Promise.all(sessions.splice(0).map((session) => session.close()));
  });

  it('a leader change wakes exactly one of 50 participants: no herd of getChildren', async () => {
    const path = uniquePath('herd');
    const count = 50;
    for (let index = 0; index < count; index++) {
      const session = new Session({ connect: zkConnect(), backend, sessionTimeoutMs: 10_000 });
      const election = new LeaderElection({ path, session, id: `p${index}` });
      election.on('error', () => {});
      sessions.push(session);
      elections.push(election);
      // Joining one after another fixes the queue order p0, p1, ...
      const settled = index === 0 ? nextEvent(election, 'elected') : nextEvent(election, 'follower');
      await election.start();
      await settled;
    }
    await quiet(sessions);

    for (const successor of [1, 2]) {
      const before = requestsBySession(sessions);
      const childrenBefore = sessions.map((session) => session.requestCounts.getChildren ?? 0);
      const elected = nextEvent(elections[successor]!, 'elected');
      await elections[successor - 1]!.stop();
      await elected;
      await quiet(sessions);

      const after = requestsBySession(sessions);
      const woken = after.map((total, index) => (index >= successor && total > before[index]! ? `p${index}` : null)).filter(Boolean);
      expect(woken).toEqual([`p${successor}`]);
      const listings = sessions.map((session, index) => (session.requestCounts.getChildren ?? 0) - childrenBefore[index]!);
      expect(listings.reduce((a, b) => a + b, 0)).toBe(1);
    }
    const admin = await adminSession();
    await Promise.all(elections.splice(0).map((election) => election.stop()));
    await removeTree(admin, path);
    await admin.close();
  });

  it('a reconnect of the same session costs at most one request per election, leaders included', async () => {
    const { proxiedSession } = testResources(backend);
    const { cut, shared } = await proxiedSession();
    const root = uniquePath('reconnect');
    // Each of 20 elections has a leader and a follower on this one session.
    for (let index = 0; index < 40; index++) elections.push(new LeaderElection({ path: `${root}/e${index % 20}`, session: shared }));
    await Promise.all(elections.map((election) => election.start()));
    await allLead(elections, 20);
    await settled(shared);
    const before = requestsBySession([shared])[0]!;
    const reconnected = nextEvent(shared, 'reconnected');
    cut.resetConnections();
    await reconnected;
    // Under onSuspend 'release' every leader ended its term and takes it again: one listing each.
    await allLead(elections, 20);
    await settled(shared);
    expect(requestsBySession([shared])[0]! - before).toBeLessThanOrEqual(20);
    await Promise.all(elections.splice(0).map((election) => election.stop()));
    const admin = await adminSession();
    await removeTree(admin, root);
    await admin.close();
  });

  it('participants of one election on one session joining together share their listings', async () => {
    const session = new Session({ connect: zkConnect(), backend });
    sessions.push(session);
    const path = uniquePath('shared-listings');
    const joining = Array.from({ length: 50 }, () => new LeaderElection({ path, session }));
    elections.push(...joining);
    await Promise.all(joining.map((election) => election.start()));
    await allLead(joining, 1);
    await settled(session);
    // One listing each would be 50 (each a read of all 50 names): callers that arrive while
    // a listing is in flight share the next one.
    expect(session.requestCounts.getChildren).toBeLessThan(25);
    await Promise.all(elections.splice(0).map((election) => election.stop()));
    const admin = await adminSession();
    await removeTree(admin, path);
    await admin.close();
  });

  it('many elections share one session, and stopping one leaves the session open', async () => {
    const session = new Session({ connect: zkConnect(), backend });
    sessions.push(session);
    const root = uniquePath('shared');
    const shared = Array.from({ length: 20 }, (_, index) => new LeaderElection({ path: `${root}/e${index}`, session }));
    elections.push(...shared);
    const terms = shared.map((election) => nextEvent(election, 'elected'));
    await Promise.all(shared.map((election) => election.start()));
    const tokens = (await Promise.all(terms)).map((term) => term.fencingToken);
    expect(new Set(tokens).size).toBe(20);
    await shared[0]!.stop();
    expect(session.state).toBe('connected');
    expect(shared[1]!.isLeader).toBe(true);
    await Promise.all(shared.map((election) => election.stop()));
    await removeTree(session, root);
  });
});
