import { readdirSync, readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { digestAcl } from '../../src/acl.js';
import { LeaderElection } from '../../src/election.js';
import { createClient } from '../../src/client/index.js';
import type { BackendName, ClientOptions, ZkClient } from '../../src/client/types.js';
import { LeaderObserver } from '../../src/observer.js';
import { Session } from '../../src/session.js';
import { fourLetterWord } from '../../src/testing/index.js';
import { freePort } from '../../src/testing/ports.js';
import { electionFixture } from '../support/election.js';
import { nextEvent, until } from '../support/events.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { adminSession, backends, removeTree, unresolvableHost, uniquePath, zkConnect } from '../support/zookeeper.js';

describe.each(backends)('misuse and errors on %s', (backend) => {
  const participant = electionFixture(backend);
  const sessions: Session[] = [];
  const proxies: TcpProxy[] = [];
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((session) => session.close()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });
  function session(auth?: string): Session {
    const created = new Session({ connect: zkConnect(), backend, ...(auth ? { auth: { scheme: 'digest' as const, credential: auth } } : {}) });
    sessions.push(created);
    return created;
  }

  it('start() twice is an INVALID_STATE error that leaves the running election alone', async () => {
    const alice = participant(uniquePath('start-twice'));
    const term = nextEvent(alice, 'elected');
    await alice.start();
    await expect(alice.start()).rejects.toMatchObject({ code: 'INVALID_STATE', message: expect.stringContaining('already called') });
    await term;
    expect(alice.isLeader).toBe(true);
  });

  it('emits nothing after stop(), with a watch event and a request in flight and the shared session living on', async () => {
    const path = uniquePath('after-stop');
    const cut = await TcpProxy.to(zkConnect());
    const shared = new Session({ connect: cut.connectString, backend, sessionTimeoutMs: 8000 });
    sessions.push(shared);
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
    // A read on the shared session sees the write, so any notification of it came first.
    await shared.getData(path);
    await new Promise((resolve) => setImmediate(resolve));
    await admin.close();
    await cut.close();
    expect(events).toEqual(['stopped']);
  });

  // A name that cannot even be looked up never resolves; a free port refuses; a proxy into a dead
  // network accepts the connection and never answers.
  it.each([
    ['name does not resolve', () => Promise.resolve(`${unresolvableHost}:2181`)],
    ['refused', async () => `127.0.0.1:${await freePort()}`],
    [
      'timed out',
      async () => {
        const dead = await TcpProxy.to(zkConnect());
        dead.blackhole();
        proxies.push(dead);
        return dead.connectString;
      },
    ],
  ])('start() rejects with CONNECT_TIMEOUT that says the server %s, and the election is stopped', async (outcome, server) => {
    const connect = await server();
    const election = new LeaderElection({ path: uniquePath('unreachable'), connect, backend, connectTimeoutMs: 300 });
    const stopped = nextEvent(election, 'stopped');
    await expect(election.start()).rejects.toMatchObject({ code: 'CONNECT_TIMEOUT', message: expect.stringContaining(`${connect}: ${outcome}`) });
    await stopped;
  });

  it('waitForLeader refuses a timeoutMs Node cannot time, instead of giving up after 1 ms', async () => {
    const observer = new LeaderObserver({ path: uniquePath('wait-too-long'), session: session() });
    for (const timeoutMs of [2 ** 31, Infinity]) {
      await expect(observer.waitForLeader({ timeoutMs })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: `timeoutMs must be a number of milliseconds >= 0 and <= 2147483647 (Node's longest timer, about 24.8 days): got ${timeoutMs}`,
      });
    }
    await observer.close();
  });

  it('ensurePath refuses a relative path instead of creating nodes somewhere else', async () => {
    const relative = uniquePath('relative-ensure').slice(1);
    const admin = session();
    await admin.ready();
    await expect(admin.ensurePath(relative)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining("must start with '/'") });
    // Where the unchecked path used to land: under its own name minus the first character.
    expect(await admin.exists(`/${relative.slice(1)}`)).toBeNull();
  });

  // Sequential children of other programs are not ignored: see hardening.test.ts.
  it('ignores children of another format without a sequence number under the election path', async () => {
    const path = uniquePath('foreign-children');
    const admin = await adminSession();
    await admin.ensurePath(path);
    await admin.create(`${path}/lock`, Buffer.from('other program'), 'persistent');
    await admin.create(`${path}/config`, Buffer.from('{}'), 'persistent');
    const alice = participant(path, { id: 'alice' });
    const term = nextEvent(alice, 'elected');
    await alice.start();
    await term;
    expect((await alice.participants()).map((p) => p.id)).toEqual(['alice']);
    await admin.close();
  });

  it('reports ZooKeeper errors mid-run as error events and recovers when they stop', async () => {
    const path = uniquePath('errors-mid-run');
    participant.expectErrors('NO_CHILDREN_FOR_EPHEMERALS');
    const alice = participant(path);
    const term = nextEvent(alice, 'elected');
    await alice.start();
    await term;
    const operator = session();
    await operator.ready();

    // The election node is replaced by an ephemeral node: it can have no children now.
    const error = nextEvent(alice, 'error');
    // Sent back to back on one connection, so they land before the participant can re-join.
    await Promise.all([operator.remove(`${path}/${alice.nodeName}`), operator.remove(path), operator.create(path, Buffer.alloc(0), 'ephemeral')]);
    expect(await error).toMatchObject({ code: 'NO_CHILDREN_FOR_EPHEMERALS', message: expect.stringContaining('choose a path whose parents are persistent') });

    // The operator's session ends, its node goes: the participant volunteers again.
    const again = nextEvent(alice, 'elected');
    await operator.close();
    await again;
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

describe.each(backends)('access control on %s', (backend) => {
  const owner = 'owner:s3cret';
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  // Session takes digest credentials only, and ZooKeeper's digest provider accepts any
  // 'user:password' at connect (a wrong password shows as NO_AUTH on protected nodes, below).
  // What a stock server does refuse is a scheme it has no provider for: the client sends the
  // credential under such a scheme here, to reach the real refusal through both backends.
  // (The server answers the connect before it reads the credentials, so on both backends
  // ready() has resolved by the time the refusal comes.)
  it('a session whose credentials the server refuses reports AUTH_FAILED and closes', async () => {
    const unknownScheme = (backendName: BackendName, options: ClientOptions): ZkClient => {
      const client = createClient(backendName, options);
      const addAuthInfo = client.addAuthInfo.bind(client);
      client.addAuthInfo = (auth) => addAuthInfo({ ...auth, scheme: 'no-such-scheme' as 'digest' });
      return client;
    };
    const refused = new Session({ connect: zkConnect(), backend, auth: { scheme: 'digest', credential: owner }, runtime: { createClient: unknownScheme } });
    closers.push(() => refused.close());
    const reported = nextEvent(refused, 'error');
    const closed = nextEvent(refused, 'closed');
    expect(await reported).toMatchObject({ code: 'AUTH_FAILED', message: expect.stringContaining('check the auth option') });
    await closed;
    expect(refused.state).toBe('closed');
  });

  it('with auth and a digest ACL, only holders of the credential can read, join or delete', async () => {
    const path = uniquePath('acl');
    const auth = { scheme: 'digest' as const, credential: owner };
    // Runs last: the elections are stopped by then.
    closers.push(async () => {
      const cleaner = new Session({ connect: zkConnect(), auth });
      await removeTree(cleaner, path);
      await cleaner.close();
    });
    const leader = new LeaderElection({ path, connect: zkConnect(), backend, id: 'leader', auth, acl: digestAcl(owner) });
    closers.push(() => leader.stop());
    const term = nextEvent(leader, 'elected');
    await leader.start();
    await term;
    const leaderNode = `${path}/${leader.nodeName}`;

    for (const credential of [undefined, 'owner:wrong', 'intruder:s3cret']) {
      const outsider = new Session({ connect: zkConnect(), backend, ...(credential ? { auth: { scheme: 'digest' as const, credential } } : {}) });
      closers.push(() => outsider.close());
      await outsider.ready();
      await expect(outsider.getData(leaderNode)).rejects.toMatchObject({ code: 'NO_AUTH' });
      await expect(outsider.remove(leaderNode)).rejects.toMatchObject({ code: 'NO_AUTH' });
      await expect(outsider.getChildren(path)).rejects.toMatchObject({ code: 'NO_AUTH' });
      const joiner = new LeaderElection({ path, session: outsider, id: 'outsider' });
      joiner.on('error', () => {});
      await expect(joiner.start()).rejects.toMatchObject({ code: 'NO_AUTH', message: expect.stringContaining('pass the matching `auth` credential') });
    }
    expect(leader.isLeader).toBe(true);

    const member = new LeaderElection({ path, connect: zkConnect(), backend, id: 'member', auth, acl: digestAcl(owner) });
    closers.push(() => member.stop());
    await member.start();
    expect((await member.participants()).map((participant) => participant.id)).toEqual(['leader', 'member']);
  });
});
