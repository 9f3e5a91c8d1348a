import { describe, expect, it } from 'vitest';
import { expireSession, fourLetterWord } from '../../src/testing/index.js';
import { electionEvents, electionFixture } from '../support/election.js';
import { EventLog, drained, nextEvent, sleep, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { adminSession, backends, uniquePath, zkConnect } from '../support/zookeeper.js';

// takeoverDelayMs: a won term is announced only after the delay, and only if nothing ended it
// meanwhile (a loss, a suspension, an expiry, stop(), resign(), a deletion still on its way, a
// process pause).

describe.each(backends)('takeoverDelayMs on %s', (backend) => {
  const { admin, proxy } = testResources(backend);
  const participant = electionFixture(backend);

  it('waits takeoverDelayMs after the predecessor released before acting as leader', async () => {
    const path = uniquePath('takeover-delay');
    const first = participant(path, { id: 'first' });
    const leads = nextEvent(first, 'elected');
    await first.start();
    await leads;
    const second = participant(path, { id: 'second', takeoverDelayMs: 600 });
    const follows = nextEvent(second, 'follower');
    await second.start();
    await follows;

    const term = nextEvent(second, 'elected');
    const releasedAt = performance.now();
    await first.stop();
    // Won at once, announced only after the delay.
    expect(second.isLeader).toBe(false);
    await term;
    expect(performance.now() - releasedAt).toBeGreaterThanOrEqual(590);
    expect(second.isLeader).toBe(true);
  });

  it('a loss during takeoverDelayMs cancels the term: no elected, no lost', async () => {
    const path = uniquePath('takeover-cancelled');
    const log = new EventLog();
    const alice = participant(path, { id: 'alice', takeoverDelayMs: 800 });
    log.record('alice', alice, ['elected', 'lost']);
    await alice.start();
    const admin = await adminSession();
    const node = `${path}/${alice.nodeName}`;
    // Deleted while the delay runs: the won term must never be announced.
    await admin.remove(node);
    await until(() => alice.nodeName !== null && `${path}/${alice.nodeName}` !== node, 'alice to re-join');
    const pending = nextEvent(alice, 'elected');
    const { signal } = await pending;
    expect(log.names()).toEqual(['alice:elected']);
    expect(signal.aborted).toBe(false);
    await admin.close();
  });

  it('a suspension during takeoverDelayMs cancels the pending term, which is won again after the reconnect', async () => {
    const cut = await proxy();
    const log = new EventLog();
    const alice = participant(uniquePath('delay-suspended'), { connect: cut.connectString, takeoverDelayMs: 1000, sessionTimeoutMs: 8000 });
    log.record('alice', alice, ['elected', 'lost', 'suspended', 'reconnected']);
    await alice.start();
    const reconnected = nextEvent(alice, 'reconnected');
    cut.resetConnections();
    await reconnected;
    const reconnectedAt = performance.now();
    await nextEvent(alice, 'elected');
    expect(performance.now() - reconnectedAt).toBeGreaterThanOrEqual(990);
    expect(log.names()).toEqual(['alice:suspended', 'alice:reconnected', 'alice:elected']);
  });

  it('an expiry during takeoverDelayMs cancels the pending term', async () => {
    const log = new EventLog();
    const alice = participant(uniquePath('delay-expired'), { takeoverDelayMs: 1500 });
    log.record('alice', alice, ['elected', 'lost', 'expired']);
    await alice.start();
    const expired = nextEvent(alice, 'expired');
    await expireSession(zkConnect(), alice.session.credentials()!);
    await expired;
    await nextEvent(alice, 'elected');
    expect(log.names()).toEqual(['alice:expired', 'alice:elected']);
  });

  it('stop() during takeoverDelayMs: no elected, no lost', async () => {
    const log = new EventLog();
    const alice = participant(uniquePath('delay-stopped'), { takeoverDelayMs: 500 });
    log.record('alice', alice, ['elected', 'lost', 'stopped']);
    await alice.start();
    await alice.stop();
    // A negative check: past the delay, nothing is announced.
    await sleep(700);
    expect(log.names()).toEqual(['alice:stopped']);
  });

  it('resign() during the takeover delay gives the pending term up without elected or lost', async () => {
    const path = uniquePath('resign-in-delay');
    const log = new EventLog();
    const alice = participant(path, { id: 'alice', takeoverDelayMs: 1000 });
    log.record('alice', alice, electionEvents);
    await alice.start();
    // Granted on its first listing (a sole participant), announced only after the delay.
    await until(() => (alice.session.requestCounts.getChildren ?? 0) > 0, 'alice to list the queue');
    await drained(alice.session);
    expect(alice.isLeader).toBe(false);
    const resignedToken = (await alice.session.exists(`${path}/${alice.nodeName}`))!.czxid;
    const next = nextEvent(alice, 'elected');
    expect(await alice.resign()).toBe(true);
    // Back in the queue alone, it leads again a delay later, on a new node: the only `elected`.
    expect((await next).fencingToken).not.toBe(resignedToken);
    expect(log.names().filter((name) => /elected|lost/.test(name))).toEqual(['alice:elected']);
  });

  it('a term whose node is deleted during takeoverDelayMs, the notice still on its way, is never announced', async () => {
    const path = uniquePath('takeover-late-notice');
    const cut = await proxy();
    const alice = participant(path, { id: 'alice', takeoverDelayMs: 1000, connect: cut.connectString });
    const elected = nextEvent(alice, 'elected', 10_000);
    await alice.start();
    const node = `${path}/${alice.nodeName}`;
    // Granted: a sole participant lists once more, with the children watch, as the delay starts.
    const [host, port] = zkConnect().split(',')[0]!.split(':');
    await until(async () => ((await fourLetterWord(host!, Number(port), 'wchp')) ?? '').includes(path), 'alice to watch the path');
    const operator = await admin();
    const deletedToken = (await operator.exists(node))!.czxid;
    const checks = () => alice.session.requestCounts.exists ?? 0;
    const checksBefore = checks();
    cut.holdReplies();
    await operator.remove(node);
    // The delay ends while the deletion's notice is held back: what the grant saw is stale. At
    // its end the election asks whether the node is still there; the answer is held too.
    await until(() => checks() > checksBefore, 'the delay to end and alice to check her node', 5000);
    cut.heal();
    const first = await elected;
    expect(first.fencingToken).not.toBe(deletedToken);
    expect(`${path}/${alice.nodeName}`).not.toBe(node);
  });

  it('a takeover delay that ends during a process pause announces nothing on a session the server expired (seed 860)', async () => {
    const path = uniquePath('paused-takeover');
    const operator = await admin();
    const alice = participant(path, { id: 'alice', sessionTimeoutMs: 2000, takeoverDelayMs: 500 });
    const tokens: bigint[] = [];
    alice.on('elected', ({ fencingToken }) => tokens.push(fencingToken));
    await alice.start();
    const { stat } = await operator.getData(`${path}/${alice.nodeName}`);

    // The whole thread stops (as under SIGSTOP or a long GC) through the delay and past the
    // session timeout; node-zookeeper-client cannot even ping. Afterwards Node runs the
    // overdue timers in due order: the takeover delay first, the liveness deadline after it.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3500);
    await until(() => tokens.length > 0, 'alice to lead', 20_000);
    const stillThere = await operator.exists(`${path}/${alice.nodeName ?? 'none'}`);
    if (backend === 'node-zookeeper-client') expect(tokens[0], 'elected on the node the server expired').not.toBe(stat.czxid);
    // The C client pings from its own thread, so its session lives on and the term is sound.
    else expect(tokens[0] === stat.czxid ? stillThere !== null : true).toBe(true);
  });
});
