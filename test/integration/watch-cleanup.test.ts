import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { BackendName } from '../../src/client/types.js';
import { LeaderElection } from '../../src/election.js';
import { Membership } from '../../src/membership.js';
import { LeaderObserver } from '../../src/observer.js';
import { Session } from '../../src/session.js';
import { fourLetterWord, type ZooKeeperHandle } from '../../src/testing/index.js';
import { drained, nextEvent, until } from '../support/events.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { backends, controllable, itWithOwnServers, startOwnZooKeeper } from '../support/zookeeper.js';

// Issue 24: elections, observers and memberships that stop must take their watches with them.
// A server of this file's own, so that `mntr`'s zk_watch_count (data and children watches of
// every session; `wchc`/`wchp` list data watches only) counts this file's sessions alone.

let zookeeper: ZooKeeperHandle | undefined;
beforeAll(async () => {
  if (controllable) zookeeper = await startOwnZooKeeper({});
}, 120_000);
afterAll(async () => {
  await zookeeper?.close();
});

/** Every watch the server holds, of every session (`mntr`'s zk_watch_count). */
async function serverWatchCount(): Promise<number> {
  const server = zookeeper!.servers[0]!;
  const reply = (await fourLetterWord(server.host, server.clientPort, 'mntr')) ?? '';
  const match = reply.match(/zk_watch_count\s+(\d+)/);
  if (!match) throw new Error(`mntr did not report zk_watch_count (is mntr whitelisted?): ${reply.slice(0, 200)}`);
  return Number(match[1]);
}

const setWatches = 101;
const setWatches2 = 105;

/** Session `a` behind a proxy (to count what its reconnects re-send), `b` direct. */
async function sessions(backend: BackendName): Promise<{ a: Session; b: Session; proxy: TcpProxy; close: () => Promise<void> }> {
  const proxy = await TcpProxy.to(zookeeper!.connectString);
  const a = new Session({ connect: proxy.connectString, backend, sessionTimeoutMs: 10_000 });
  const b = new Session({ connect: zookeeper!.connectString, backend, sessionTimeoutMs: 10_000 });
  await Promise.all([a.ready(), b.ready()]);
  return {
    a,
    b,
    proxy,
    close: async () => {
      await Promise.all([a.close(), b.close()]);
      await proxy.close();
    },
  };
}

/**
 * On one shared session `a` (and `b`, so that followers on `a` watch predecessors of `b` and
 * the other way round): 50 elections on 25 paths, half of them led from `a`, with the leader
 * record (trackLeader) on every other path and the single-node recipe on every fourth; three
 * observers and a membership on `a`, watching `b`'s member too. Resolves once each has settled.
 */
async function everyKindOfWatch(a: Session, b: Session, root: string): Promise<{ stop: () => Promise<void> }> {
  const elections: LeaderElection[] = [];
  for (let index = 0; index < 25; index += 1) {
    const path = `${root}/election-${index}`;
    const options = { path, trackLeader: index % 2 === 0, ...(index % 4 === 3 ? { recipe: 'single-node' as const } : {}) };
    const [first, second] = index % 2 === 0 ? [a, b] : [b, a];
    const leader = new LeaderElection({ ...options, session: first, id: `first-${index}` });
    const follower = new LeaderElection({ ...options, session: second, id: `second-${index}` });
    elections.push(leader, follower);
    const elected = nextEvent(leader, 'elected');
    await leader.start();
    await elected;
    const follows = nextEvent(follower, 'follower');
    await follower.start();
    await follows;
  }
  const observers = [0, 1, 3].map((index) => new LeaderObserver({ session: a, path: `${root}/election-${index}` }));
  await Promise.all(observers.map((observer) => observer.start()));
  const mine = new Membership({ session: a });
  const theirs = new Membership({ session: b });
  await theirs.join(`${root}/group`, { id: 'theirs' });
  await mine.join(`${root}/group`, { id: 'mine' });
  await until(async () => (await mine.members()).length === 2, 'both members to be seen');
  return {
    stop: async () => {
      await Promise.all(elections.map((election) => election.stop()));
      await Promise.all([...observers.map((observer) => observer.close()), mine.close(), theirs.close()]);
    },
  };
}

describe('watches left by stopped recipes on builtin', () => {
  itWithOwnServers('elections, observers and memberships stopped on a shared session leave no watch on the server nor in the client', async () => {
    const { a, b, proxy, close } = await sessions('builtin');
    try {
      const recipes = await everyKindOfWatch(a, b, '/watch-cleanup-builtin');
      // What there is to remove: watches on the server and in the client, re-sent on a reconnect.
      expect(await serverWatchCount()).toBeGreaterThan(50);
      expect(a.watchCounts().client).toBeGreaterThan(25);
      proxy.requestOpcodes.length = 0;
      const back = nextEvent(a, 'reconnected');
      proxy.resetConnections();
      await back;
      await drained(a);
      expect(proxy.requestOpcodes).toContain(setWatches);

      await recipes.stop();
      await drained(a);
      await drained(b);
      // A removal waits for the read that set its watch: the last ones go out right after it.
      let held = -1;
      await until(
        async () => (held = await serverWatchCount()) === 0,
        () => `the server to hold no watch (it holds ${held})`,
      );
      expect(a.watchCounts()).toEqual({ listeners: 0, client: 0 });
      expect(b.watchCounts()).toEqual({ listeners: 0, client: 0 });

      // A reconnect re-arms nothing: there is nothing left to re-arm.
      proxy.requestOpcodes.length = 0;
      const again = nextEvent(a, 'reconnected');
      proxy.resetConnections();
      await again;
      await drained(a);
      expect(proxy.requestOpcodes.filter((opcode) => opcode === setWatches || opcode === setWatches2)).toEqual([]);
      expect(await serverWatchCount()).toBe(0);
    } finally {
      await close();
    }
  });
});

describe('watches shared by two owners on one session (builtin)', () => {
  itWithOwnServers("closing one of two observers of a path leaves the other's watch, on the server too", async () => {
    const { a, b, close } = await sessions('builtin');
    const path = '/watch-cleanup-shared/election';
    const staying = new LeaderObserver({ session: a, path });
    const leaving = new LeaderObserver({ session: a, path });
    try {
      await staying.start();
      await leaving.start();
      // No election node yet: one watch for its creation, shared by both.
      const held = await serverWatchCount();
      expect(held).toBeGreaterThan(0);
      await leaving.close();
      await drained(a);
      expect(await serverWatchCount()).toBe(held);
      expect(a.watchCounts()).toEqual({ listeners: 1, client: 1 });
      const seen = nextEvent(staying, 'leader');
      const election = new LeaderElection({ session: b, path, id: 'elected' });
      await election.start();
      expect((await seen)?.id).toBe('elected');
      await election.stop();
    } finally {
      await staying.close();
      await close();
    }
  });
});

// The other backends cannot send removeWatches: the server keeps a watch until it fires or its
// connection ends. What the library can make true there: the client library holds none of the
// stopped recipes' watchers.
describe.each(backends.filter((backend) => backend !== 'builtin'))('watches left by stopped recipes on %s', (backend) => {
  itWithOwnServers('elections, observers and memberships stopped on a shared session leave no watcher in the client', async () => {
    const { a, b, close } = await sessions(backend);
    try {
      const recipes = await everyKindOfWatch(a, b, `/watch-cleanup-${backend}`);
      expect(a.watchCounts().client).toBeGreaterThan(25);
      await recipes.stop();
      await drained(a);
      await drained(b);
      expect(a.watchCounts()).toEqual({ listeners: 0, client: 0 });
      expect(b.watchCounts()).toEqual({ listeners: 0, client: 0 });
    } finally {
      await close();
    }
  });

  if (backend === 'node-zookeeper-client') {
    itWithOwnServers('a reconnect after the stops re-arms none of their watches, so the server holds none after it', async () => {
      const { a, b, proxy, close } = await sessions(backend);
      try {
        const recipes = await everyKindOfWatch(a, b, '/watch-cleanup-nzc-reconnect');
        await recipes.stop();
        await b.close();
        await drained(a);
        proxy.requestOpcodes.length = 0;
        const back = nextEvent(a, 'reconnected');
        proxy.resetConnections();
        await back;
        await drained(a);
        expect(proxy.requestOpcodes.filter((opcode) => opcode === setWatches || opcode === setWatches2)).toEqual([]);
        // The old connection's watches went with it; `b`'s with its session.
        await until(async () => (await serverWatchCount()) === 0, 'the server to drop the closed connections and session');
      } finally {
        await close();
      }
    });
  }
});
