import { afterEach, describe, expect, it } from 'vitest';
import { BuiltinAdapter } from '../../src/client/builtin/client.js';
import { createClient } from '../../src/client/index.js';
import { openAcl, type ClientState, type WatchEvent, type ZkClient } from '../../src/client/types.js';
import { clientState, connectClient, sleep, until } from '../support/events.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { adminSession, removeTree, sessionsWatching, uniquePath, zkConnect } from '../support/zookeeper.js';

// The builtin client's own behaviour against a real server: what the behaviour suite (which
// runs on every backend) does not reach through a Session.

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function connected(connectString: string, sessionTimeoutMs = 3000): Promise<{ client: BuiltinAdapter; states: ClientState[] }> {
  const client = new BuiltinAdapter({ connectString, sessionTimeoutMs });
  const states: ClientState[] = [];
  client.on('state', (state) => states.push(state));
  cleanups.push(() => client.close());
  await connectClient(client);
  return { client, states };
}

async function proxied(): Promise<TcpProxy> {
  const proxy = await TcpProxy.to(zkConnect());
  cleanups.push(() => proxy.close());
  return proxy;
}

async function scratch(name: string): Promise<string> {
  const path = uniquePath(name);
  const admin = await adminSession();
  await admin.ensurePath(path);
  cleanups.push(async () => {
    await removeTree(admin, path);
    await admin.close();
  });
  return path;
}

describe('builtin client against a real server', () => {
  it('a silent network ends the connection at the read timeout: in-flight requests fail CONNECTION_LOSS, then the same session returns', async () => {
    const proxy = await proxied();
    const { client } = await connected(proxy.connectString);
    const { id } = client.sessionCredentials();
    proxy.blackhole();
    const disconnected = clientState(client, 'disconnected');
    await expect(client.exists('/')).rejects.toMatchObject({ code: 'CONNECTION_LOSS' });
    await disconnected;
    const reconnected = clientState(client, 'connected');
    proxy.heal();
    await reconnected;
    expect(client.sessionCredentials().id).toBe(id);
    expect(await client.exists('/')).not.toBeNull();
  });

  it('a reply torn by the network is a CONNECTION_LOSS, and the next connection reads cleanly', async () => {
    const path = await scratch('builtin-torn');
    const proxy = await proxied();
    const { client } = await connected(proxy.connectString);
    await client.create(`${path}/big`, Buffer.alloc(200_000, 1), 'persistent', openAcl);
    proxy.cutMidReply();
    await expect(client.getData(`${path}/big`)).rejects.toMatchObject({ code: 'CONNECTION_LOSS' });
    await clientState(client, 'connected');
    expect((await client.getData(`${path}/big`)).data).toHaveLength(200_000);
  });

  it('watches are re-armed after a reconnect, in several SetWatches batches when they are many', async () => {
    const path = await scratch('builtin-rearm');
    const proxy = await proxied();
    const { client } = await connected(proxy.connectString);
    // 1,500 exist watches of 120-byte paths: about 180 KiB of paths, over one 128 KiB batch.
    const fired = new Set<string>();
    const names = Array.from({ length: 1500 }, (_, index) => `${'n'.repeat(110)}${String(index).padStart(6, '0')}`);
    await Promise.all(names.map((name) => client.exists(`${path}/${name}`, (event: WatchEvent) => fired.add(event.path))));
    expect(client.watchCount()).toBe(1500);
    const reconnected = clientState(client, 'connected');
    proxy.resetConnections();
    await reconnected;
    const admin = await adminSession();
    cleanups.push(() => admin.close());
    await admin.create(`${path}/${names[0]}`, Buffer.alloc(0), 'persistent');
    await admin.create(`${path}/${names[1499]}`, Buffer.alloc(0), 'persistent');
    await until(
      () => fired.size >= 2,
      () => `both watches to fire (${fired.size} did)`,
    );
    expect([...fired].sort()).toEqual([`${path}/${names[0]}`, `${path}/${names[1499]}`]);
  });

  it('removeWatches leaves no watch on the server and calls no watcher', async () => {
    const path = await scratch('builtin-remove-watches');
    const { client } = await connected(zkConnect());
    const { id } = client.sessionCredentials();
    let calls = 0;
    await client.getData(path, () => (calls += 1));
    await client.getChildren(path, () => (calls += 1));
    expect(await sessionsWatching(path)).toEqual([id]);
    await client.removeWatches(path, 'data');
    expect(await sessionsWatching(path)).toEqual([]);
    expect(client.watchCount()).toBe(1);
    await client.removeWatches(path, 'children');
    expect(client.watchCount()).toBe(0);
    // A removal when the server holds none (it fired already) resolves too.
    await client.removeWatches(path, 'any');
    const admin = await adminSession();
    cleanups.push(() => admin.close());
    await admin.setData(path, Buffer.from('x'));
    await admin.create(`${path}/child`, Buffer.alloc(0), 'persistent');
    await client.sync(path);
    await client.exists('/');
    expect(calls).toBe(0);
  });

  it('removeWatcher removes the server watch only with the last watcher of its path and type', async () => {
    const path = await scratch('builtin-remove-watcher');
    const { client } = await connected(zkConnect());
    const { id } = client.sessionCredentials();
    let calls = 0;
    const byGetData = () => (calls += 1);
    const byExists = () => (calls += 1);
    await client.getData(path, byGetData);
    await client.exists(path, byExists);
    await client.removeWatcher(path, 'data', byGetData);
    // exists keeps the same server watch (data) for its own watcher.
    expect(await sessionsWatching(path)).toEqual([id]);
    expect(client.watcherCount()).toBe(1);
    await client.removeWatcher(path, 'exists', byExists);
    expect(await sessionsWatching(path)).toEqual([]);
    expect(client.watcherCount()).toBe(0);
    const admin = await adminSession();
    cleanups.push(() => admin.close());
    await admin.setData(path, Buffer.from('x'));
    await client.sync(path);
    await client.exists('/');
    expect(calls).toBe(0);
  });

  it('removeWatcher leaves the server watch that a read still on its way sets', async () => {
    const path = await scratch('builtin-remove-watcher-in-flight');
    const { client } = await connected(zkConnect());
    const { id } = client.sessionCredentials();
    const leaving = () => {};
    await client.getData(path, leaving);
    let heard!: (event: WatchEvent) => void;
    const changed = new Promise<WatchEvent>((resolve) => (heard = resolve));
    // Sent before the removal could be: the server sets this watch again after any removal we sent now.
    const reading = client.getData(path, (event) => heard(event));
    await client.removeWatcher(path, 'data', leaving);
    await reading;
    expect(await sessionsWatching(path)).toEqual([id]);
    const admin = await adminSession();
    cleanups.push(() => admin.close());
    await admin.setData(path, Buffer.from('x'));
    expect(await changed).toEqual({ type: 'data-changed', path });
  });

  /** A watcher that records what it hears, and a way to wait until it has heard `count` events. */
  function listening(): { heard: WatchEvent[]; watcher: (event: WatchEvent) => void; untilHeard: (count: number) => Promise<void> } {
    const heard: WatchEvent[] = [];
    let check = () => {};
    return {
      heard,
      watcher: (event) => {
        heard.push(event);
        check();
      },
      untilHeard: (count) =>
        new Promise<void>((resolve) => {
          check = () => {
            if (heard.length >= count) resolve();
          };
          check();
        }),
    };
  }

  it('a persistent watch (addWatch) fires again and again, is re-armed by SetWatches2 after a reconnect, and removeWatcher stops it', async () => {
    const path = await scratch('builtin-persistent');
    const proxy = await proxied();
    const { client } = await connected(proxy.connectString);
    const { heard, watcher, untilHeard } = listening();
    await client.addWatch(path, 'persistent', watcher);
    const admin = await adminSession();
    cleanups.push(() => admin.close());
    await admin.setData(path, Buffer.from('1'));
    await untilHeard(1);
    await admin.setData(path, Buffer.from('2'));
    await untilHeard(2);

    proxy.requestOpcodes.length = 0;
    const back = clientState(client, 'connected');
    proxy.resetConnections();
    await back;
    await client.sync(path);
    expect(proxy.requestOpcodes).toContain(105);
    await admin.create(`${path}/child`, Buffer.alloc(0), 'persistent');
    await untilHeard(3);
    expect(heard).toEqual([
      { type: 'data-changed', path },
      { type: 'data-changed', path },
      { type: 'children-changed', path },
    ]);

    await client.removeWatcher(path, 'persistent', watcher);
    expect(await sessionsWatching(path)).toEqual([]);
    expect(client.watcherCount()).toBe(0);
    await admin.setData(path, Buffer.from('3'));
    await client.sync(path);
    await client.exists('/');
    expect(heard).toHaveLength(3);
  });

  it('a persistent-recursive watch hears its path and every node below it, until removed', async () => {
    const path = await scratch('builtin-recursive');
    const { client } = await connected(zkConnect());
    const { heard, watcher, untilHeard } = listening();
    await client.addWatch(path, 'persistent-recursive', watcher);
    const admin = await adminSession();
    cleanups.push(() => admin.close());
    await admin.create(`${path}/a`, Buffer.alloc(0), 'persistent');
    await admin.create(`${path}/a/b`, Buffer.alloc(0), 'persistent');
    await admin.setData(`${path}/a/b`, Buffer.from('x'));
    await admin.remove(`${path}/a/b`);
    await untilHeard(4);
    expect(heard).toEqual([
      { type: 'created', path: `${path}/a` },
      { type: 'created', path: `${path}/a/b` },
      { type: 'data-changed', path: `${path}/a/b` },
      { type: 'deleted', path: `${path}/a/b` },
    ]);
    await client.removeWatcher(path, 'persistent-recursive', watcher);
    expect(await sessionsWatching(path)).toEqual([]);
    await admin.create(`${path}/c`, Buffer.alloc(0), 'persistent');
    await client.sync(path);
    await client.exists('/');
    expect(heard).toHaveLength(4);
  });

  it('a chroot is applied to requests and stripped from created paths and notifications', async () => {
    const path = await scratch('builtin-chroot');
    const { client } = await connected(`${zkConnect()}${path}`);
    const created = await client.create('/job-', Buffer.alloc(0), 'persistent-sequential', openAcl);
    expect(created).toBe('/job-0000000000');
    let listed!: Promise<string[]>;
    const event = new Promise<WatchEvent>((resolve) => {
      listed = client.getChildren('/', resolve);
    });
    // The watch is set once the listing is answered.
    await listed;
    await client.create('/other', Buffer.alloc(0), 'persistent', openAcl);
    expect(await event).toEqual({ type: 'children-changed', path: '/' });
    const admin = await adminSession();
    cleanups.push(() => admin.close());
    expect((await admin.getChildren(path)).sort()).toEqual(['job-0000000000', 'other']);
  });

  it('close() ends the session at once: its ephemeral node is gone when close resolves', async () => {
    const path = await scratch('builtin-close');
    const { client, states } = await connected(zkConnect(), 30_000);
    await client.create(`${path}/mine`, Buffer.alloc(0), 'ephemeral', openAcl);
    await client.close();
    // The server's end of the connection after closeSession is no 'disconnected', and no reconnect follows.
    // A negative check: nothing comes, so no event can end the wait.
    await sleep(200);
    expect(states).toEqual(['connected']);
    const admin = await adminSession();
    cleanups.push(() => admin.close());
    expect(await admin.exists(`${path}/mine`)).toBeNull();
  });
});

describe.each(['builtin', 'node-zookeeper-client'] as const)('multi on %s', (backend) => {
  async function client(): Promise<ZkClient> {
    const made = createClient(backend, { connectString: zkConnect(), sessionTimeoutMs: 5000 });
    cleanups.push(() => made.close());
    await connectClient(made);
    return made;
  }

  it('applies every operation and returns their results in order', async () => {
    const path = await scratch(`multi-${backend}`);
    const zk = await client();
    const results = await zk.multi!([
      { type: 'check', path, version: -1 },
      { type: 'create', path: `${path}/a`, data: Buffer.from('1'), mode: 'persistent', acl: openAcl },
      { type: 'setData', path: `${path}/a`, data: Buffer.from('2'), version: 0 },
      { type: 'delete', path: `${path}/a`, version: 1 },
    ]);
    expect(results.map((result) => result.type)).toEqual(['check', 'create', 'setData', 'delete']);
    expect(results[1]).toEqual({ type: 'create', path: `${path}/a` });
    expect(results[2]).toMatchObject({ type: 'setData', stat: { version: 1 } });
  });

  it("applies nothing when one operation fails, and rejects with that operation's code", async () => {
    const path = await scratch(`multi-fail-${backend}`);
    const zk = await client();
    await expect(
      zk.multi!([
        { type: 'create', path: `${path}/a`, data: Buffer.alloc(0), mode: 'persistent', acl: openAcl },
        { type: 'check', path, version: 42 },
      ]),
    ).rejects.toMatchObject({ code: 'BAD_VERSION' });
    expect(await zk.exists(`${path}/a`)).toBeNull();
  });
});
