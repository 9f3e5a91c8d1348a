import { describe, expect, it } from 'vitest';
import { LeaderElection } from '../../src/election.js';
import { LeaderObserver, type ObservedLeader } from '../../src/observer.js';
import { nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { countedClients, watchedClock } from '../support/runtime.js';
import { backends, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';

// LeaderObserver: follows an election's leader without taking part; waitForLeader(); its
// lifecycle (lazy connect, stop() while starting).

describe.each(backends)('LeaderObserver on %s', (backend) => {
  const { admin, defer, session } = testResources(backend);
  const anHour = 3_600_000;

  it('an observer tracks three successive leaders without taking part', async () => {
    const path = uniquePath('observed');
    const operator = await admin();
    defer(() => removeTree(operator, path));
    const observer = new LeaderObserver({ session: session(), path });
    defer(() => observer.close());
    await observer.start();
    expect(observer.leader).toBeNull();
    const leaders: (ObservedLeader | null)[] = [];
    observer.on('leader', (leader) => leaders.push(leader));

    const elections = ['one', 'two', 'three'].map((id) => new LeaderElection({ path, session: session(), id }));
    for (const election of elections) {
      defer(() => election.stop());
      await election.start();
    }
    await expect(observer.waitForLeader({ timeoutMs: 10_000 })).resolves.toMatchObject({ id: 'one' });
    for (const [index, election] of elections.entries()) {
      const next = nextEvent(observer, 'leader');
      await election.stop();
      const leader = await next;
      expect(leader?.id ?? null).toBe(['two', 'three', null][index]);
    }
    expect(leaders.map((leader) => leader?.id ?? null)).toEqual(['one', 'two', 'three', null]);
    expect((await observer.session.getChildren(path)).length).toBe(0);
  });

  it('waitForLeader gives up after timeoutMs with WAIT_TIMEOUT', async () => {
    const observer = new LeaderObserver({ session: session(), path: uniquePath('nobody') });
    defer(() => observer.close());
    await expect(observer.waitForLeader({ timeoutMs: 200 })).rejects.toMatchObject({ code: 'WAIT_TIMEOUT' });
  });

  it("waitForLeader's timeoutMs runs on the session's clock, and an abort clears it", async () => {
    const { clock, armedDelays } = watchedClock();
    const observer = new LeaderObserver({ session: session({ runtime: { clock } }), path: uniquePath('wait-clock') });
    defer(() => observer.stop());
    const controller = new AbortController();
    const waiting = observer.waitForLeader({ timeoutMs: anHour, signal: controller.signal });
    await until(() => armedDelays().includes(anHour), "waitForLeader's timer on the session's clock", 5000);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    expect(armedDelays()).not.toContain(anHour);
  });

  it('LeaderObserver stop()s as the election does; close() still works', async () => {
    const observer = new LeaderObserver({ connect: zkConnect(), path: uniquePath('observer-stop'), backend });
    await observer.start();
    const closed = nextEvent(observer, 'closed');
    await observer.stop();
    await closed;
    const other = new LeaderObserver({ connect: zkConnect(), path: uniquePath('observer-close'), backend });
    await other.start();
    await other.close();
    expect(other.health().state).toBe('closed');
  });

  it('a LeaderObserver with connect connects nothing until start(); stop() before start() is a no-op', async () => {
    const clients = countedClients();
    const idle = new LeaderObserver({ connect: zkConnect(), backend, path: uniquePath('observer-lazy'), runtime: clients.runtime });
    expect(clients.made()).toBe(0);
    expect(idle.health()).toMatchObject({ state: 'idle', sessionState: null });
    expect(() => idle.session).toThrow(/before start/);
    await idle.stop();
    expect(clients.made()).toBe(0);
    await expect(idle.start()).rejects.toMatchObject({ code: 'INVALID_STATE' });

    const observer = new LeaderObserver({ connect: zkConnect(), backend, path: uniquePath('observer-lazy-start'), runtime: clients.runtime });
    defer(() => observer.stop());
    await observer.start();
    expect(clients.made()).toBe(1);
    expect(observer.health()).toMatchObject({ ok: true, state: 'running', sessionState: 'connected' });
  });

  it('LeaderObserver.stop() while start() waits for the session: start() rejects with INVALID_STATE and nothing stays subscribed', async () => {
    const shared = session();
    const observer = new LeaderObserver({ session: shared, path: uniquePath('observer-stop-starting') });
    const listenersBefore = shared.listenerCount('connected');
    const starting = observer.start();
    await observer.stop();
    await expect(starting).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(shared.listenerCount('connected')).toBe(listenersBefore);
  });

  // A single-node election whose lockName is not `lock` is told from other nodes by its leader
  // record alone (the election node's data names the holder's node). Its holder creates the
  // node first and writes the record after: an observer that reads in between must still hear
  // of the record when it comes.
  it('of a single-node election with its own lockName, read before the holder wrote its leader record, reports the holder once the record is written', async () => {
    const path = uniquePath('observer-record-late');
    const holder = await admin();
    await holder.ensurePath(path);
    // The holder's node, as a single-node participant with lockName 'mutex' makes it: the id's bytes.
    await holder.create(`${path}/mutex`, Buffer.from('alice'), 'ephemeral');
    defer(() => holder.remove(`${path}/mutex`).catch(() => {}));

    const observer = new LeaderObserver({ session: session(), path });
    defer(() => observer.stop());
    await observer.start();
    // No record yet: a node named otherwise than `lock` is no election to anyone reading now.
    expect(observer.election).toMatchObject({ kind: 'not-an-election', leader: null });

    const seesAlice = nextEvent(observer, 'leader');
    const stat = await holder.exists(`${path}/mutex`);
    const record = { node: 'mutex', id: 'alice', token: stat!.czxid.toString(), since: Date.now() };
    await holder.setData(path, Buffer.from(JSON.stringify(record)));
    expect(await seesAlice).toMatchObject({ id: 'alice', node: 'mutex', fencingToken: stat!.czxid });
    expect(observer.election).toMatchObject({ kind: 'single-node', lockName: 'mutex', leader: { id: 'alice' } });
  });
});
