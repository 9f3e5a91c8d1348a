import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import type { BackendName, ClientOptions, Watcher, ZkClient } from '../../src/client/types.js';
import { LeaderElection } from '../../src/election.js';
import type { Session } from '../../src/session.js';
import { electionFixture } from '../support/election.js';
import { EventLog, nextEvent, sleep, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, uniquePath } from '../support/zookeeper.js';

// Bugs the deterministic simulation (test/sim) found, each reproduced here against a real
// server. Each test names the seed that found it; each failed on the code before its fix.

describe.each(backends)('found by the simulation, on %s', (backend) => {
  const { defer, proxy, admin, session, silencedSession, proxiedSession } = testResources(backend);
  const participant = electionFixture(backend);

  it('stop() while start() still waits for its session settles start() without an unhandled rejection (seed 123)', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    defer(() => process.off('unhandledRejection', record));
    const cut = await proxy();
    cut.blackhole();
    const alice = new LeaderElection({ path: uniquePath('stop-before-ready'), connect: cut.connectString, backend, id: 'alice' });

    const starting = alice.start().then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    await alice.stop();
    expect(await starting).toBe('INVALID_STATE');
    // Node reports an unhandled rejection once the microtask queue has drained.
    await sleep(50);
    cut.heal();
    expect(unhandled).toEqual([]);
  });

  it('stop() right after resign() resolves only once the resigned node is gone (seed 1)', async () => {
    const path = uniquePath('resign-then-stop');
    const { cut, shared } = await proxiedSession();
    const alice = participant(path, { id: 'alice', session: shared });
    const elected = nextEvent(alice, 'elected');
    await alice.start();
    await elected;
    const operator = await admin();

    // The removal cannot reach the server yet: stop() must wait for it, not resolve beside it.
    cut.blackhole();
    void alice.resign();
    let stopped = false;
    const stopping = alice.stop().then(() => (stopped = true));
    await sleep(500);
    expect(stopped, 'stop() resolved while the node was still there').toBe(false);
    cut.heal();
    await stopping;
    expect(await operator.getChildren(path)).toEqual([]);
  });

  it('a follower that comes and goes on a shared session sets one client watch per node, not one per incarnation (seed 18)', async () => {
    const path = uniquePath('watch-per-node');
    const shared = session({ sessionTimeoutMs: 8000 });
    await shared.ready();
    const leader = participant(path, { id: 'leader' });
    const elected = nextEvent(leader, 'elected');
    await leader.start();
    await elected;
    const callbacks = countWatchCallbacks(shared);

    for (let round = 0; round < 5; round++) {
      const follower = participant(path, { id: `follower-${round}`, session: shared, trackLeader: true });
      const following = nextEvent(follower, 'follower');
      await follower.start();
      await following;
      await follower.stop();
    }
    // Each incarnation's watches on the leader's node and the election node went with it
    // (removed on stop), so none ever stacked on another, and none is left.
    expect(callbacks.peak.size, 'watches were set').toBeGreaterThan(0);
    for (const [key, count] of callbacks.peak) expect(count, `client callbacks for ${key} at most`).toBe(1);
    expect([...callbacks.live.keys()], 'callbacks left after the followers stopped').toEqual([]);
  });

  it('a leader holding through a partition stops before the server can elect another, also when its last answer came late (seed 148)', async () => {
    const path = uniquePath('late-answer');
    const cut = await proxy();
    const log = new EventLog();
    const old = participant(path, { id: 'old', connect: cut.connectString, sessionTimeoutMs: 6000, onSuspend: 'hold' });
    const next = participant(path, { id: 'next', sessionTimeoutMs: 6000 });
    log.record('old', old, ['elected', 'lost']);
    log.record('next', next, ['elected', 'follower']);
    const oldLeads = nextEvent(old, 'elected');
    await old.start();
    await oldLeads;
    const following = nextEvent(next, 'follower');
    await next.start();
    await following;

    // The server still hears the old leader (its heartbeat gets through) but the answers are
    // held; then nothing gets through any more, and the held answers arrive late. The server
    // expires the session a timeout after it last heard, not after the answers arrived.
    cut.holdReplies();
    const heartbeats = old.session.requestCounts.heartbeat ?? 0;
    await until(() => (old.session.requestCounts.heartbeat ?? 0) > heartbeats, 'a heartbeat to be sent', 5000);
    const heldBefore = cut.heldReplyBytes;
    await until(() => cut.heldReplyBytes > heldBefore, 'its answer to be held', 5000);
    cut.dropRequests();
    await sleep(1500);
    cut.releaseHeldRepliesIntoBlackhole();
    await nextEvent(next, 'elected', 20_000);
    await until(() => log.index('old', 'lost') >= 0, 'the old leader to give up', 20_000);
    cut.heal();
    expect(log.index('old', 'lost'), 'the old leader stopped before the next one started').toBeLessThan(log.index('next', 'elected'));
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

  it('start() on a shared session that is suspended joins once the connection is back (seed 9083)', async () => {
    const path = uniquePath('start-while-suspended');
    const { cut, silenced } = await silencedSession({ sessionTimeoutMs: 8000 });
    const alice = participant(path, { id: 'alice', session: silenced });
    let started = false;
    const starting = alice.start().then(() => (started = true));
    defer(() => starting.catch(() => {}));
    await sleep(200);
    const reconnected = nextEvent(silenced, 'reconnected');
    cut.heal();
    // Connections made into the dead network stay dead: make the client reconnect now.
    cut.resetConnections();
    await reconnected;
    // The same session is back, long before it could expire: the join must not wait for that.
    await until(() => started, 'start() to resolve after the reconnect', 3000);
    expect(alice.nodeName).not.toBeNull();
  });

  it('stop() after a join that failed past its create removes the node the create made (seed 5474)', async () => {
    const path = uniquePath('failed-join');
    const { cut, shared } = await proxiedSession();
    const operator = await admin();
    await operator.ensurePath(path);
    const alice = new LeaderElection({ path, session: shared, id: 'alice' });
    defer(() => alice.stop());

    // The create's answer gets through; the answer to the next request (the watch on our own
    // node) does not, and the connection drops: the join fails after the node was made.
    cut.holdReplies(1);
    const starting = alice.start().catch(() => {});
    await until(async () => (await operator.getChildren(path)).length > 0, 'the create to reach the server');
    await until(() => cut.heldReplyBytes > 0, 'the next answer to be held');
    const suspended = nextEvent(shared, 'suspended');
    cut.resetConnections();
    await suspended;
    // Let the failed join settle: stop() comes after it, while the session is still away
    // (its reconnect's answers are held too).
    await sleep(50);
    const stopping = alice.stop();
    await sleep(200);
    cut.heal();
    cut.resetConnections();
    await stopping;
    await starting;
    expect(await operator.getChildren(path), 'no orphan after stop()').toEqual([]);
  });

  it('a session suspended for silence resumes when answers come again on the same connection (seed 6020)', async () => {
    const cut = await proxy();
    // A client that, like the C client, does not drop a connection when told it is silent:
    // its own read timeout decides, and here the answers come back before it would.
    const keepsConnections = (backendName: BackendName, options: ClientOptions): ZkClient => {
      const client = createClient(backendName, options);
      client.dropConnection = () => {};
      return client;
    };
    const shared = session({ connect: cut.connectString, sessionTimeoutMs: 6000, runtime: { createClient: keepsConnections } });
    await shared.ready();
    const sessionId = shared.sessionId;
    const log = new EventLog();
    log.record('session', shared, ['suspended', 'reconnected', 'expired']);

    const suspended = nextEvent(shared, 'suspended');
    cut.holdReplies();
    await suspended;
    cut.heal();
    await until(() => log.names().length > 1, 'the session to resume or expire', 10_000);
    expect(log.names()).toEqual(['session:suspended', 'session:reconnected']);
    expect(shared.sessionId).toBe(sessionId);
  });

  it('a data change that arrives in the same read as the watch on a new node still leaves the node watched (seed 7088)', async () => {
    const path = uniquePath('same-read-data-change');
    const { cut, shared } = await proxiedSession();
    const operator = await admin();
    await operator.ensurePath(path);
    const alice = participant(path, { id: 'alice', session: shared });
    const elected = nextEvent(alice, 'elected');

    // The create's answer passes; the answer to the watch on the new node is held, someone
    // writes to the node, and answer and notification then arrive in one read.
    cut.holdReplies(1);
    const starting = alice.start();
    await until(async () => (await operator.getChildren(path)).length > 0, 'the create to reach the server');
    await until(() => cut.heldReplyBytes > 0, 'the watch to be set and its answer held');
    const [name] = await operator.getChildren(path);
    await operator.setData(`${path}/${name}`, Buffer.from('touched by a tool'));
    cut.heal();
    await starting;
    await elected;

    const lost = nextEvent(alice, 'lost', 5000);
    await operator.remove(`${path}/${name}`);
    expect(await lost).toEqual({ reason: 'node-deleted' });
  });
});

/** Counts the watch callbacks handed to the session's client, per node and kind, while they are set. */
/** Watch callbacks the session's client holds, by read and path, now (`live`) and at most (`peak`). */
function countWatchCallbacks(session: Session): { live: Map<string, number>; peak: Map<string, number> } {
  const counts = new Map<string, number>();
  const peak = new Map<string, number>();
  const client = (session as unknown as { client: ZkClient }).client;
  const drop = (key: string) => {
    counts.set(key, (counts.get(key) ?? 1) - 1);
    if (counts.get(key) === 0) counts.delete(key);
  };
  // The session removes a watch it no longer needs by the watcher it gave: the one handed to
  // the client here is a wrapper, so the removal is translated (and counted) too.
  const wrappers = new Map<Watcher, { key: string; wrapped: Watcher }>();
  for (const kind of ['getData', 'exists', 'getChildren'] as const) {
    const original = client[kind].bind(client) as (path: string, watcher?: Watcher) => Promise<unknown>;
    (client as unknown as Record<string, unknown>)[kind] = (path: string, watcher?: Watcher) => {
      if (!watcher) return original(path);
      const key = `${kind} ${path}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      peak.set(key, Math.max(peak.get(key) ?? 0, counts.get(key)!));
      const wrapped: Watcher = (event) => {
        wrappers.delete(watcher);
        drop(key);
        watcher(event);
      };
      wrappers.set(watcher, { key, wrapped });
      return original(path, wrapped);
    };
  }
  const remove = client.removeWatcher?.bind(client);
  if (remove) {
    client.removeWatcher = (path, read, watcher) => {
      const known = wrappers.get(watcher);
      if (!known) return remove(path, read, watcher);
      wrappers.delete(watcher);
      drop(known.key);
      return remove(path, read, known.wrapped);
    };
  }
  return { live: counts, peak };
}
