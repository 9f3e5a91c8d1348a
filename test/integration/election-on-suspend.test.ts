import { describe, expect, it } from 'vitest';
import { expireSession } from '../../src/testing/index.js';
import { electionFixture, leaderBehindProxy, leading } from '../support/election.js';
import { EventLog, drained, nextEvent, sleep } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, uniquePath, zkConnect } from '../support/zookeeper.js';

// onSuspend: 'release' ends the term when the connection drops and takes it back on the same
// session; 'hold' leads on through a drop or a short outage, and ends the term at the expiry.

describe.each(backends)('onSuspend on %s', (backend) => {
  const { proxy } = testResources(backend);
  const participant = electionFixture(backend);

  it("onSuspend 'release' gives up leadership on a dropped connection and takes it back with the same token", async () => {
    const path = uniquePath('release');
    const cut = await proxy();
    const alice = participant(path, { connect: cut.connectString, onSuspend: 'release' });
    const term = nextEvent(alice, 'elected');
    await alice.start();
    const { fencingToken, signal } = await term;

    const lost = nextEvent(alice, 'lost');
    const again = nextEvent(alice, 'elected');
    cut.resetConnections();
    expect(await lost).toEqual({ reason: 'suspended' });
    expect(signal.aborted).toBe(true);
    const renewed = await again;
    expect(renewed.fencingToken).toBe(fencingToken);
    expect(renewed.signal.aborted).toBe(false);
  });

  it("onSuspend 'hold' keeps leadership across a dropped connection of the same session", async () => {
    const path = uniquePath('hold');
    const cut = await proxy();
    const alice = participant(path, { connect: cut.connectString, onSuspend: 'hold' });
    const term = nextEvent(alice, 'elected');
    await alice.start();
    const { signal } = await term;
    let lostCount = 0;
    alice.on('lost', () => lostCount++);

    const suspended = nextEvent(alice, 'suspended');
    const reconnected = nextEvent(alice, 'reconnected');
    cut.resetConnections();
    await suspended;
    await reconnected;
    expect(alice.isLeader).toBe(true);
    expect(signal.aborted).toBe(false);
    expect(lostCount).toBe(0);
  });

  it("onSuspend 'hold': a server-side expiry ends the term with reason expired, and nothing before it does", async () => {
    const log = new EventLog();
    const alice = participant(uniquePath('hold-expiry'), { onSuspend: 'hold', sessionTimeoutMs: 4000 });
    const { signal } = await leading(alice);
    log.record('alice', alice, ['lost', 'expired']);
    const lost = nextEvent(alice, 'lost');
    await expireSession(zkConnect(), alice.session.credentials()!);
    expect(await lost).toEqual({ reason: 'expired' });
    expect(signal.aborted).toBe(true);
    // The server may drop the connection first (a suspension, which 'hold' rides out: the
    // reconnect is tested on its own above) or answer a heartbeat
    // SESSION_EXPIRED on a connection it has not closed yet (no suspension at all, seen under
    // load on the native backend): either way the term ends at the expiry and not before.
    expect(log.names()).toEqual(['alice:lost', 'alice:expired']);
  });

  it("onSuspend 'hold' under a silent partition leads on while suspended, then ends at the local expiry", async () => {
    const cut = await proxy();
    const alice = participant(uniquePath('hold-partition'), { onSuspend: 'hold', connect: cut.connectString, sessionTimeoutMs: 3000 });
    await leading(alice);
    const suspended = nextEvent(alice, 'suspended');
    const lost = nextEvent(alice, 'lost');
    cut.blackhole();
    await suspended;
    expect(alice.isLeader, 'hold: still leading while suspended').toBe(true);
    expect(await lost).toEqual({ reason: 'expired' });
    cut.heal();
  });

  it("onSuspend 'hold': a leader rides out an outage of half its session timeout, also where the client does not say when it dialled again (found by review)", async () => {
    const path = uniquePath('hold-outage');
    const cut = await proxy();
    const { old, next, signal } = await leaderBehindProxy(participant, path, cut, { sessionTimeoutMs: 4000, onSuspend: 'hold' });
    const lost: string[] = [];
    old.on('lost', ({ reason }) => lost.push(reason));
    cut.blackhole();
    cut.resetConnections();
    // The fault: an outage of half the session timeout.
    await sleep(2000);
    cut.heal();
    cut.resetConnections();
    // The fault was a lost session 19/20 of a timeout after the cut, with the C client's
    // reconnect counted from its first 'connecting' report: wait a whole timeout, then look.
    // A negative check: the term must not end, so no event comes.
    await sleep(4000);
    await drained(old.session);
    expect(lost, 'terms the old leader lost').toEqual([]);
    expect(old.session.health().expiries).toBe(0);
    expect(signal.aborted).toBe(false);
    expect(next.isLeader).toBe(false);
  });
});
