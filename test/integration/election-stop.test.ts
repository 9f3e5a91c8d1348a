import { readdirSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Permission, type Watcher, type ZkClient } from '../../src/client/types.js';
import { electionOrder } from '../../src/candidate.js';
import { LeaderElection } from '../../src/election.js';
import type { Logger } from '../../src/logger.js';
import { Session } from '../../src/session.js';
import { fourLetterWord } from '../../src/testing/index.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { electionFixture, leaderAndFollower, leading } from '../support/election.js';
import { drained, nextEvent, sleep, until, within } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { adminSession, backends, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';

// stop(): the node goes (also while start(), a create, a resign or a reconnect is on its way),
// nothing is emitted after it, and nothing is left behind in the client or on the server.

describe.each(backends)('stop() on %s', (backend) => {
  const { admin, defer, proxy, session, proxiedSession } = testResources(backend);
  const participant = electionFixture(backend);

  it('stop() removes the node, and a second stop() is a no-op', async () => {
    const path = uniquePath('stop');
    const alice = participant(path);
    await alice.start();
    const stopped = nextEvent(alice, 'stopped');
    await alice.stop();
    await stopped;
    await alice.stop();
    const admin = await adminSession();
    expect(electionOrder(await admin.getChildren(path))).toHaveLength(0);
    await admin.close();
    await expect(alice.start()).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  it('await using stops the election at the end of the block', async () => {
    const path = uniquePath('dispose');
    let inside: LeaderElection | undefined;
    {
      await using alice = new LeaderElection({ path, connect: zkConnect(), backend });
      inside = alice;
      await leading(alice);
    }
    const operator = await admin();
    expect(await operator.getChildren(path)).toEqual([]);
    expect(inside.isLeader).toBe(false);
    defer(() => removeTree(operator, path));
  });

  it('stop() during the first create settles start() and leaves no node behind', async () => {
    const path = uniquePath('stop-in-create');
    const { cut, shared } = await proxiedSession();
    const operator = await admin();
    await operator.ensurePath(path);
    const alice = new LeaderElection({ path, session: shared, id: 'alice' });
    defer(() => alice.stop());

    cut.holdReplies();
    const starting = alice.start();
    const settled = starting.then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    await until(async () => (await operator.getChildren(path)).length > 0, 'the create to reach the server');
    const stopping = alice.stop();
    cut.heal();
    await stopping;
    expect(await operator.getChildren(path), 'no orphan after stop()').toEqual([]);
    expect(await within(settled, 3000, 'still pending')).toBe('INVALID_STATE');
  });

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
    // Node reports an unhandled rejection once the microtask queue has drained. A negative
    // check: nothing is reported, so no event can end the wait.
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
    // A negative check: stop() must not resolve while the node is there.
    await sleep(500);
    expect(stopped, 'stop() resolved while the node was still there').toBe(false);
    cut.heal();
    await stopping;
    expect(await operator.getChildren(path)).toEqual([]);
  });

  it('stop() after a join that failed past its create removes the node the create made (seed 5474)', async () => {
    const path = uniquePath('failed-join');
    const { cut, shared } = await proxiedSession();
    const operator = await admin();
    await operator.ensurePath(path);
    // The election logs (debug) each evaluation the connection interrupted: the failed join.
    let joinFailed = false;
    const quiet = () => {};
    const logger: Logger = {
      debug: (_context, message) => {
        if (message?.includes('interrupted by the connection')) joinFailed = true;
      },
      info: quiet,
      warn: quiet,
      error: quiet,
    };
    const alice = new LeaderElection({ path, session: shared, id: 'alice', logger });
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
    // stop() comes after the failed join, while the session is still away (its reconnect's
    // answers are held too).
    await until(() => joinFailed, 'the join to fail with the connection', 5000);
    const stopping = alice.stop();
    // A negative check: stop() must wait for the session and not give the node up meanwhile.
    await sleep(200);
    cut.heal();
    cut.resetConnections();
    await stopping;
    await starting;
    expect(await operator.getChildren(path), 'no orphan after stop()').toEqual([]);
  });

  it('stop() on a suspended own session resolves only once the node is gone', async () => {
    const path = uniquePath('stop-suspended');
    const cut = await proxy();
    const { alice } = await leaderAndFollower(participant, path, { sessionTimeoutMs: 4000 }, cut.connectString);
    const node = `${path}/${alice.nodeName}`;
    const operator = await admin();

    const suspended = nextEvent(alice, 'suspended');
    cut.blackhole();
    cut.resetConnections();
    await suspended;
    let stopped = false;
    const stopping = alice.stop().then(() => (stopped = true));
    // The network comes back while stop() waits: the node goes then, not at the server's expiry.
    // A negative check: stop() must not resolve while the network is down.
    await sleep(300);
    expect(stopped, 'stop() resolved while the network was down').toBe(false);
    cut.heal();
    cut.resetConnections(); // the connection made into the dead network stays dead
    await stopping;
    expect(await operator.exists(node), 'the node after stop() resolved').toBeNull();
  });

  it('stop() on a shared session without DELETE on the path rejects with NO_AUTH, stopped all the same: the node stays until the session closes', async () => {
    const path = uniquePath('no-delete-shared');
    const operator = await admin();
    await operator.ensurePath(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all & ~Permission.delete }]);
    const shared = session();
    const alice = participant(path, { id: 'alice', session: shared });
    const leads = nextEvent(alice, 'elected');
    await alice.start();
    await leads;
    const node = `${path}/${alice.nodeName}`;
    const stopped = nextEvent(alice, 'stopped');
    await expect(alice.stop()).rejects.toMatchObject({ code: 'NO_AUTH', message: expect.stringContaining('the node stays until the shared session closes') });
    await stopped;
    expect(alice.health().state).toBe('stopped');
    expect(await operator.exists(node)).not.toBeNull();
    await shared.close();
    expect(await operator.exists(node)).toBeNull();
  });

  it('emits nothing after stop(), with a watch event and a request in flight and the shared session living on', async () => {
    const path = uniquePath('after-stop');
    const cut = await TcpProxy.to(zkConnect());
    const shared = new Session({ connect: cut.connectString, backend, sessionTimeoutMs: 8000 });
    defer(() => shared.close());
    const alice = participant(path, { id: 'alice' });
    const bob = participant(path, { id: 'bob', session: shared, trackLeader: true });
    const aliceLeads = nextEvent(alice, 'elected');
    await alice.start();
    await aliceLeads;
    const bobFollows = nextEvent(bob, 'follower');
    await bob.start();
    await bobFollows;
    const events: string[] = [];
    for (const event of ['elected', 'lost', 'follower', 'leader', 'suspended', 'reconnected', 'expired', 'stopped', 'error'] as const) {
      bob.on(event, () => events.push(event));
    }

    // Alice's release reaches bob's client, and bob's own delete is answered, only after
    // bob.stop() was called: both are in flight while it stops.
    cut.holdReplies();
    await alice.stop();
    const stopping = bob.stop();
    await until(() => cut.heldReplyBytes > 0, 'the notification and the reply to be held');
    cut.heal();
    await stopping;
    // The shared session lives on: a reconnect and changes to the path reach nobody.
    cut.resetConnections();
    await nextEvent(shared, 'reconnected');
    const admin = await adminSession();
    await admin.ensurePath(path);
    await admin.setData(path, Buffer.from('{}'));
    // Any notification of the write reaches the shared session before a later reply.
    await drained(shared);
    await admin.close();
    await cut.close();
    expect(events).toEqual(['stopped']);
  });

  it('stopped elections on a shared session leave no watch callbacks behind', async () => {
    const shared = session({ sessionTimeoutMs: 8000 });
    await shared.ready();
    const path = uniquePath('no-closures');
    const elections = Array.from({ length: 12 }, (_, index) => participant(path, { id: `p${index}`, session: shared, trackLeader: true }));
    for (const election of elections) {
      const settled = election === elections[0] ? nextEvent(election, 'elected') : nextEvent(election, 'follower');
      await election.start();
      await settled;
    }
    expect(shared.scope!.pendingWatchers).toBeGreaterThan(0);
    for (const election of elections) await election.stop();
    expect(shared.scope!.pendingWatchers).toBe(0);
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

  it('leaves no timer, socket, listener or watch behind once stopped, in the client or on the server', async () => {
    const shared = session();
    await shared.ready();
    const path = uniquePath('hygiene');
    const listeners = (emitter: Session) => emitter.eventNames().reduce((sum, name) => sum + emitter.listenerCount(name), 0);
    const listenersBefore = listeners(shared);
    // Sockets by file descriptor, so the native client's own sockets count too.
    const sockets = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
        } catch {
          return false;
        }
      }).length;
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const socketsBefore = sockets();
    const timersBefore = timers();

    const own = new LeaderElection({ path, connect: zkConnect(), backend, id: 'own' });
    // (Without trackLeader: its watch on the election node's data stays on the server until the
    // next leader writes its record, as a ZooKeeper 3.4-protocol client cannot remove a watch.)
    const onShared = new LeaderElection({ path, session: shared, id: 'on-shared' });
    const ownLeads = nextEvent(own, 'elected');
    await own.start();
    await ownLeads;
    const follows = nextEvent(onShared, 'follower');
    await onShared.start();
    await follows;
    expect(shared.scope!.pendingWatchers).toBeGreaterThan(0);
    const ownSession = own.session;
    await own.stop();
    await onShared.stop();

    expect(listeners(ownSession)).toBe(0);
    expect(listeners(shared)).toBe(listenersBefore);
    expect(shared.scope!.pendingWatchers).toBe(0);
    await until(() => sockets() === socketsBefore, `the own session's socket to close (${sockets()} open, ${socketsBefore} before)`);
    // Process-wide, other work may have ended timers of its own meanwhile: none may be added.
    await until(() => timers() <= timersBefore, `timers back to ${timersBefore} (${timers()} now)`);
    // On the server: neither session watches anything under the path any more.
    // (The server drops a closed session's watches, and fires the last ones, a moment later.)
    const [host, port] = zkConnect().split(',')[0]!.split(':');
    await until(async () => !((await fourLetterWord(host!, Number(port), 'wchp')) ?? path).includes(path), 'the server to hold no watch under the path', 3000);
    const admin = await adminSession();
    expect(await admin.getChildren(path)).toEqual([]);
    await removeTree(admin, path);
    await admin.close();
  });
});

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
