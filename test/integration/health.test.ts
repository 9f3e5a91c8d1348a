import { describe, expect, it } from 'vitest';
import { LeaderObserver } from '../../src/observer.js';
import { Membership } from '../../src/membership.js';
import { expireSession } from '../../src/testing/index.js';
import { electionFixture } from '../support/election.js';
import { nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, uniquePath, zkConnect } from '../support/zookeeper.js';

// health() for readiness probes and changes() for `for await` users, on a real server.

describe.each(backends)('health and changes on %s', (backend) => {
  const { defer, proxy, session } = testResources(backend);
  const participant = electionFixture(backend);

  it('an election reports not started, leader, follower, suspended and stopped, as plain JSON', async () => {
    const path = uniquePath('health');
    const cut = await proxy();
    const alice = participant(path, { id: 'alice' });
    const bob = participant(path, { id: 'bob', connect: cut.connectString, sessionTimeoutMs: 8000 });
    expect(bob.health()).toEqual({
      ok: false,
      reason: 'not started',
      state: 'idle',
      role: 'none',
      node: null,
      fencingToken: null,
      leader: null,
      sessionState: null,
      lastHeardMs: null,
    });

    const elected = nextEvent(alice, 'elected');
    await alice.start();
    const { fencingToken } = await elected;
    const following = nextEvent(bob, 'follower');
    await bob.start();
    await following;

    expect(alice.health()).toMatchObject({
      ok: true,
      reason: null,
      state: 'running',
      role: 'leader',
      node: alice.nodeName,
      fencingToken: String(fencingToken),
      leader: { id: 'alice', node: alice.nodeName },
      sessionState: 'connected',
    });
    expect(bob.health()).toMatchObject({ ok: true, role: 'follower', node: bob.nodeName, fencingToken: null, leader: { id: 'alice', node: alice.nodeName } });
    expect(alice.health().lastHeardMs).toBeGreaterThanOrEqual(0);
    // One report, read once: lastHeardMs moves with the clock between two calls.
    const report = alice.health();
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);

    const suspended = nextEvent(bob, 'suspended');
    const reconnected = nextEvent(bob, 'reconnected');
    cut.resetConnections();
    await suspended;
    expect(bob.health()).toMatchObject({ ok: false, reason: 'session suspended', sessionState: 'suspended', role: 'follower' });
    await reconnected;
    await until(() => bob.health().ok, 'bob healthy again');
    expect(bob.session.health()).toMatchObject({ ok: true, state: 'connected', suspensions: 1, expiries: 0, sessionId: bob.session.sessionId });

    await bob.stop();
    expect(bob.health()).toMatchObject({ ok: false, reason: 'stopped', state: 'stopped', role: 'none', node: null });
  });

  it('a session counts its expiries and reports no session id while it has none', async () => {
    const shared = session();
    expect(shared.health()).toMatchObject({ ok: false, reason: 'session connecting', sessionId: null, lastHeardMs: null, suspensions: 0, expiries: 0 });
    await shared.ready();
    const expired = nextEvent(shared, 'expired');
    const connected = new Promise((resolve) => shared.once('connected', resolve));
    await expireSession(zkConnect(), shared.credentials()!);
    await expired;
    await connected;
    expect(shared.health()).toMatchObject({ ok: true, expiries: 1 });
  });

  it('an observer and a membership report ok once following on a connected session', async () => {
    const path = uniquePath('health-view');
    const alice = participant(path, { id: 'alice' });
    const elected = nextEvent(alice, 'elected');
    await alice.start();
    await elected;
    const shared = session();
    const observer = new LeaderObserver({ session: shared, path });
    defer(() => observer.close());
    expect(observer.health()).toMatchObject({ ok: false, reason: 'not started', state: 'idle' });
    await observer.start();
    expect(observer.health()).toMatchObject({
      ok: true,
      state: 'running',
      leader: { id: 'alice', node: alice.nodeName, fencingToken: String(alice.fencingToken) },
      sessionState: 'connected',
    });

    const group = uniquePath('health-group');
    const membership = new Membership({ session: shared });
    defer(() => membership.close());
    expect(membership.health()).toMatchObject({ ok: false, reason: 'not watching a group yet', joined: false });
    await membership.join(group, { id: 'm1' });
    await until(() => membership.health().ok, 'membership healthy');
    expect(membership.health()).toMatchObject({ ok: true, state: 'running', group, joined: true, members: 1 });
    await membership.close();
    expect(membership.health()).toMatchObject({ ok: false, reason: 'closed', state: 'closed' });
  });
});
