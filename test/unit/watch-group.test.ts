import { describe, expect, it } from 'vitest';
import type { WatchEvent, Watcher, ZkClient } from '../../src/client/types.js';
import { ZooKeeperError } from '../../src/errors.js';
import { SessionWatches, WatchGroup, type WatchedReader } from '../../src/watch-group.js';

// The session's shared watches: one client watch per node and read, however many owners wait
// on it. What is proved here is the sharing itself, with a client whose replies the test
// hands out one by one, in the order a real connection could.

/** A client whose getChildren replies wait for the test; it keeps the watchers it was given. */
function scriptedClient() {
  const pending: { watcher: Watcher | undefined; resolve: (names: string[]) => void; reject: (error: unknown) => void }[] = [];
  const watchers: Watcher[] = [];
  const client = {
    getChildren(_path: string, watcher?: Watcher): Promise<string[]> {
      return new Promise((resolve, reject) => {
        pending.push({
          watcher,
          // ZooKeeper registers a watch with the reply that carries it: a failed read sets none.
          resolve: (names) => {
            if (watcher) watchers.push(watcher);
            resolve(names);
          },
          reject,
        });
      });
    },
    removeWatcher: () => Promise.resolve(),
  } as unknown as ZkClient;
  const fire = (event: WatchEvent) => {
    for (const watcher of watchers.splice(0)) watcher(event);
  };
  return { client, pending, watchers, fire };
}

function session() {
  const scripted = scriptedClient();
  const watches = new SessionWatches(() => {});
  const reader: WatchedReader = (read, path, listener, group, run) => {
    const send = <T>(call: (client: ZkClient) => Promise<T>) => call(scripted.client);
    if (!listener) return run(scripted.client, undefined);
    return watches.read(read, path, listener, group, send, run);
  };
  return { ...scripted, group: () => new WatchGroup(watches, reader), watches };
}

const lost = () => new ZooKeeperError('CONNECTION_LOSS', 'getChildren', '/election', 'the connection was lost');
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('shared watches', () => {
  it('two owners reading one node share one client watch, and both hear it fire', async () => {
    const zk = session();
    const heard: string[] = [];
    const first = zk.group().getChildren('/election', () => heard.push('first'));
    const second = zk.group().getChildren('/election', () => heard.push('second'));
    expect(zk.pending.map((request) => request.watcher !== undefined)).toEqual([true, false]);
    for (const request of zk.pending.splice(0)) request.resolve(['a']);
    await Promise.all([first, second]);
    zk.fire({ type: 'children-changed', path: '/election' });
    expect(heard).toEqual(['first', 'second']);
  });

  it('an owner that joined a watch whose read then failed is watched all the same once its own read succeeds', async () => {
    const zk = session();
    const heard: string[] = [];
    const first = zk.group().getChildren('/election', () => heard.push('first'));
    const second = zk.group().getChildren('/election', () => heard.push('second'));
    // The first read (the one with the watch) is lost with its connection; the joiner's, sent
    // without a watch of its own, is answered (it went out on the next connection).
    const [withWatch, joiner] = zk.pending.splice(0);
    withWatch!.reject(lost());
    await expect(first).rejects.toThrow(/connection was lost/);
    joiner!.resolve(['a']);
    await settle();
    // The joiner's result must come from a read that set a watch: answer it if it was sent again.
    for (const request of zk.pending.splice(0)) request.resolve(['a']);
    expect(await second).toEqual(['a']);
    expect(zk.watchers.length, 'a watch is held for the owner still waiting').toBe(1);
    zk.fire({ type: 'children-changed', path: '/election' });
    expect(heard).toEqual(['second']);
  });

  it('an owner that cancelled its listener while its read was on the way is not watched again when the joined watch fails', async () => {
    const zk = session();
    const heard: string[] = [];
    const owner = zk.group();
    const stale = () => heard.push('stale');
    const first = zk.group().getChildren('/election', () => heard.push('first'));
    const second = owner.getChildren('/election', stale);
    // The owner moves on (its slot now waits on something else) before either answer.
    owner.cancel(stale);
    const [withWatch, joiner] = zk.pending.splice(0);
    withWatch!.reject(lost());
    await expect(first).rejects.toThrow(/connection was lost/);
    joiner!.resolve(['a']);
    expect(await second).toEqual(['a']);
    expect(zk.pending, 'no read sent again for a cancelled listener').toEqual([]);
    expect(zk.watches.listenerCount).toBe(0);
    zk.fire({ type: 'children-changed', path: '/election' });
    expect(heard).toEqual([]);
  });

  it('an owner whose group closed while its read was on the way is not watched again', async () => {
    const zk = session();
    const owner = zk.group();
    const first = zk.group().getChildren('/election', () => {});
    const second = owner.getChildren('/election', () => {});
    owner.close();
    const [withWatch, joiner] = zk.pending.splice(0);
    withWatch!.reject(lost());
    await expect(first).rejects.toThrow();
    joiner!.resolve(['a']);
    await second;
    expect(zk.pending).toEqual([]);
    expect(zk.watches.listenerCount).toBe(0);
  });

  it('a joiner whose own read fails leaves, and the watch stays for the first owner', async () => {
    const zk = session();
    const heard: string[] = [];
    const first = zk.group().getChildren('/election', () => heard.push('first'));
    const second = zk.group().getChildren('/election', () => heard.push('second'));
    const [withWatch, joiner] = zk.pending.splice(0);
    withWatch!.resolve(['a']);
    joiner!.reject(lost());
    await first;
    await expect(second).rejects.toThrow(/connection was lost/);
    expect(zk.watches.listenerCount).toBe(1);
    zk.fire({ type: 'children-changed', path: '/election' });
    expect(heard).toEqual(['first']);
  });
});
