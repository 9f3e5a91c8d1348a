import { describe, expect, it } from 'vitest';
import { LeadershipLostError } from '../../src/election.js';
import { expireSession } from '../../src/testing/index.js';
import { electionEvents, electionFixture, expectAlternatingTerms } from '../support/election.js';
import { EventLog, nextEvent } from '../support/events.js';
import { adminSession, backends, uniquePath, zkConnect } from '../support/zookeeper.js';

// The fencing token: the leader node's czxid, larger with every next leader, also across a
// session expiry and a re-join.

describe.each(backends)('the fencing token on %s', (backend) => {
  const participant = electionFixture(backend);

  it('uses the leader node czxid as the fencing token', async () => {
    const path = uniquePath('token');
    const alice = participant(path);
    const term = nextEvent(alice, 'elected');
    await alice.start();
    const { fencingToken } = await term;
    const admin = await adminSession();
    const stat = await admin.exists(`${path}/${alice.nodeName}`);
    expect(stat?.czxid).toBe(fencingToken);
    await admin.close();
  });

  it('hands over to the next participant when the leader stops, with a larger fencing token', async () => {
    const path = uniquePath('handover');
    const first = participant(path, { id: 'first' });
    const firstTerm = nextEvent(first, 'elected');
    await first.start();
    const { fencingToken: firstToken, signal } = await firstTerm;
    const second = participant(path, { id: 'second' });
    await second.start();

    const secondTerm = nextEvent(second, 'elected');
    const lost = nextEvent(first, 'lost');
    await first.stop();
    expect(await lost).toEqual({ reason: 'stopped' });
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(LeadershipLostError);
    const { fencingToken: secondToken } = await secondTerm;
    expect(secondToken).toBeGreaterThan(firstToken);
    expect(second.fencingToken).toBe(secondToken);
    expect(first.isLeader).toBe(false);
  });

  it('re-joins on a new session after expiry, and later leads with a larger token', async () => {
    const path = uniquePath('expiry');
    const log = new EventLog();
    const first = participant(path, { id: 'first' });
    log.record('first', first, electionEvents);
    const firstTerm = nextEvent(first, 'elected');
    await first.start();
    const { fencingToken: token1 } = await firstTerm;
    const oldSessionId = first.session.sessionId;
    const second = participant(path, { id: 'second' });
    await second.start();

    const lost = nextEvent(first, 'lost');
    const expired = nextEvent(first, 'expired');
    const secondTerm = nextEvent(second, 'elected');
    const rejoined = nextEvent(first, 'follower');
    await expireSession(zkConnect(), first.session.credentials()!);
    // Taking the session over drops our connection first: under the default 'release'
    // policy that already ends the term, before the expiry itself is seen.
    expect(['suspended', 'expired']).toContain((await lost).reason);
    await expired;
    const { fencingToken: token2 } = await secondTerm;
    expect((await rejoined).leader.id).toBe('second');
    expect(first.session.sessionId).not.toBe(oldSessionId);
    expect(first.session.generation).toBe(2);

    const firstAgain = nextEvent(first, 'elected');
    await second.stop();
    const { fencingToken: token3 } = await firstAgain;
    expect(token2).toBeGreaterThan(token1);
    expect(token3).toBeGreaterThan(token2);
    expectAlternatingTerms(log, 'first');
  });
});
