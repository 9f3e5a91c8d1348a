import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { type SessionCredentials } from '../../src/client/types.js';
import { Session } from '../../src/session.js';
import { expireSession } from '../../src/testing/index.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { electionFixture, leaderBehindProxy } from '../support/election.js';
import { clientState, drained, nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { adminSession, backends, itWithOwnServers, startOwnZooKeeper, uniquePath, zkConnect } from '../support/zookeeper.js';

// Session expiry: told by the server at once, or by the session's own clock when the server is
// out of reach (the granted timeout, not the one asked for); nothing of the old session is sent
// in the next one, and an election's next session deletes the node the old one left.

/** Whether the server still holds this session: a client attaches to it (and then closes it). */
async function attachesTo(credentials: SessionCredentials): Promise<boolean> {
  const client = createClient('node-zookeeper-client', { connectString: zkConnect(), sessionTimeoutMs: 10_000, credentials });
  try {
    const state = clientState(client, ['connected', 'expired']);
    client.connect();
    return (await state) === 'connected';
  } finally {
    await client.close();
  }
}

describe.each(backends)('session expiry on %s', (backend) => {
  const { admin, defer, proxy, session } = testResources(backend);
  const participant = electionFixture(backend);

  it('a server-side expiry is reported as such, at once, not after a local timeout', async () => {
    const watched = session({ sessionTimeoutMs: 8000 });
    await watched.ready();
    const expired = nextEvent(watched, 'expired', 6000);
    const startedAt = Date.now();
    await expireSession(zkConnect(), watched.credentials()!);
    expect((await expired).reason).toBe('server');
    expect(Date.now() - startedAt).toBeLessThan(6000);
  });

  it('a session reports local-timeout when it stays unreachable, and keeps trying with CONNECT_TIMEOUT errors until it is back', async () => {
    const cut = await proxy();
    const lonely = session({ connect: cut.connectString, sessionTimeoutMs: 2000, connectTimeoutMs: 600 });
    await lonely.ready();
    const errors: string[] = [];
    lonely.on('error', (error) => errors.push(error.code));
    const expired = nextEvent(lonely, 'expired', 10_000);
    cut.blackhole();
    expect((await expired).reason).toBe('local-timeout');
    await until(() => errors.filter((code) => code === 'CONNECT_TIMEOUT').length >= 2, 'two failed connects', 15_000);
    cut.heal();
    const connected = await nextEvent(lonely, 'connected', 15_000);
    expect(connected.generation).toBe(2);
  });

  itWithOwnServers('a server that grants a shorter session timeout than asked: every timer follows the granted one', async () => {
    await using server = await startOwnZooKeeper({ servers: 1, maxSessionTimeoutMs: 2000 });
    const cut = await TcpProxy.to(server.connectString);
    defer(() => cut.close());
    const narrowed = new Session({ connect: cut.connectString, backend, sessionTimeoutMs: 30_000 });
    defer(() => narrowed.close());
    await narrowed.ready();
    expect(narrowed.sessionTimeoutMs).toBe(2000);
    const suspended = nextEvent(narrowed, 'suspended', 5000);
    const expired = nextEvent(narrowed, 'expired', 5000);
    const cutAt = performance.now();
    cut.blackhole();
    await suspended;
    // 2/3 of the granted 2 s, not of the 30 s asked for (plus one check period).
    expect(performance.now() - cutAt).toBeLessThan(2000);
    await expired;
    expect(performance.now() - cutAt).toBeLessThan(3000);
    cut.heal();
  });

  it('a write held through an expiry is never sent in the next session', async () => {
    const path = uniquePath('held-write');
    const cut = await proxy();
    const client = session({ connect: cut.connectString, sessionTimeoutMs: 4000 });
    await client.ready();
    const operator = await admin();
    await operator.ensurePath(path);

    const suspended = nextEvent(client, 'suspended');
    cut.blackhole();
    await suspended;
    const held = client.create(`${path}/late`, Buffer.alloc(0), 'ephemeral').then(
      () => 'created',
      (error: { code?: string }) => error.code,
    );
    await nextEvent(client, 'expired', 10_000);
    cut.heal();
    cut.resetConnections();
    await nextEvent(client, 'connected', 10_000);
    expect(await held).toBe('SESSION_EXPIRED');
    await drained(client);
    expect(await operator.getChildren(path)).toEqual([]);
  });

  it('after its own clock ended the session, the next session deletes the node left behind, while the server still holds the old one', async () => {
    const path = uniquePath('own-clock-expiry');
    const cut = await proxy();
    const { old, next } = await leaderBehindProxy(participant, path, cut);
    const leftBehind = `${path}/${old.nodeName}`;
    const credentials = old.session.credentials()!;
    const admin = await adminSession();
    const suspended = nextEvent(old.session, 'suspended');
    const expired = nextEvent(old.session, 'expired');
    // The client hears nothing; the server hears its heartbeats until the suspension, and
    // nothing after (not the close that ends the old client either): only the client's own
    // clock can end the session, a good while before the server's does.
    cut.dropReplies();
    await suspended;
    cut.dropRequests();
    expect((await expired).reason).toBe('local-timeout');
    const nextTerm = nextEvent(next, 'elected');
    const rejoined = nextEvent(old, 'follower');
    cut.heal();
    expect((await rejoined).leader.id).toBe('next');
    expect(await admin.exists(leftBehind)).toBeNull();
    // Gone though its session still lives on the server: the new session deleted it.
    expect(await attachesTo(credentials)).toBe(true);
    await nextTerm;
    await admin.close();
  });
});
