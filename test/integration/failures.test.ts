import { afterEach, describe, expect, it } from 'vitest';
import { digestAcl } from '../../src/acl.js';
import { LeaderElection } from '../../src/election.js';
import { electionOrder } from '../../src/candidate.js';
import { createClient } from '../../src/client/index.js';
import type { SessionCredentials } from '../../src/client/types.js';
import { isZooKeeperError } from '../../src/errors.js';
import { Session } from '../../src/session.js';
import { expireSession } from '../../src/testing/index.js';
import { freePort } from '../../src/testing/ports.js';
import { electionEvents, electionFixture, expectLostBeforeElected, leaderBehindProxy } from '../support/election.js';
import { EventLog, nextEvent, until } from '../support/events.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { adminSession, backends, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';

/** No participant is ever told `elected` twice without `lost` in between. */
function expectAlternatingTerms(log: EventLog, source: string): void {
  let leading = false;
  for (const entry of log.entries.filter((e) => e.source === source)) {
    if (entry.event === 'elected') {
      expect(leading, `${source} elected twice without lost`).toBe(false);
      leading = true;
    } else if (entry.event === 'lost') {
      expect(leading, `${source} lost without elected`).toBe(true);
      leading = false;
    }
  }
}

/** Whether the server still holds this session: a client attaches to it (and then closes it). */
async function attachesTo(credentials: SessionCredentials): Promise<boolean> {
  const client = createClient('node-zookeeper-client', { connectString: zkConnect(), sessionTimeoutMs: 10_000, credentials });
  try {
    return await new Promise<boolean>((resolve) => {
      client.on('state', (state) => {
        if (state === 'connected' || state === 'expired') resolve(state === 'connected');
      });
      client.connect();
    });
  } finally {
    await client.close();
  }
}

describe.each(backends)('LeaderElection under failures on %s', (backend) => {
  const participant = electionFixture(backend);
  const proxies: TcpProxy[] = [];
  const sessions: Session[] = [];
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    await Promise.all(sessions.splice(0).map((session) => session.close()));
  });
  async function proxy(): Promise<TcpProxy> {
    const created = await TcpProxy.to(zkConnect());
    proxies.push(created);
    return created;
  }

  it('a leader cut off by a silent partition emits lost before anyone else is elected', async () => {
    const cut = await proxy();
    const { old, next, log, signal } = await leaderBehindProxy(participant, uniquePath('partition'), cut);

    const nextTerm = nextEvent(next, 'elected');
    cut.blackhole();
    await nextTerm;
    const lostAt = expectLostBeforeElected(log);
    expect(signal.aborted).toBe(true);
    expect(log.entries[lostAt]!.value).toEqual({ reason: 'suspended' });

    // Healed, the old participant finds its session expired and queues again behind `next`.
    const rejoined = nextEvent(old, 'follower');
    cut.heal();
    cut.resetConnections();
    expect((await rejoined).leader.id).toBe('next');
    expectAlternatingTerms(log, 'old');
    expectAlternatingTerms(log, 'next');
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

  it('re-joins on a new session after expiry, and later leads with a larger token', async () => {
    const path = uniquePath('expiry');
    const log = new EventLog();
    const first = participant(path, { id: 'first' });
    log.record('first', first, electionEvents);
    const firstTerm = nextEvent(first, 'elected');
    await first.start();
    const { fencingToken: token1 } = await firstTerm;
    const oldSessionId = first.session.sessionId;
    const second = participant(path, { id: 'second' });
    await second.start();

    const lost = nextEvent(first, 'lost');
    const expired = nextEvent(first, 'expired');
    const secondTerm = nextEvent(second, 'elected');
    const rejoined = nextEvent(first, 'follower');
    await expireSession(zkConnect(), first.session.credentials()!);
    // Taking the session over drops our connection first: under the default 'release'
    // policy that already ends the term, before the expiry itself is seen.
    expect(['suspended', 'expired']).toContain((await lost).reason);
    await expired;
    const { fencingToken: token2 } = await secondTerm;
    expect((await rejoined).leader.id).toBe('second');
    expect(first.session.sessionId).not.toBe(oldSessionId);
    expect(first.session.generation).toBe(2);

    const firstAgain = nextEvent(first, 'elected');
    await second.stop();
    const { fencingToken: token3 } = await firstAgain;
    expect(token2).toBeGreaterThan(token1);
    expect(token3).toBeGreaterThan(token2);
    expectAlternatingTerms(log, 'first');
  });

  it("finds its own node by GUID when the create's reply is lost to a connection loss", async () => {
    const path = uniquePath('lost-reply');
    const cut = await proxy();
    const session = new Session({ connect: cut.connectString, sessionTimeoutMs: 8000, backend });
    sessions.push(session);
    await session.ready();
    const admin = await adminSession();
    await admin.ensurePath(path);
    const alice = participant(path, { id: 'alice', session });
    const elected = nextEvent(alice, 'elected');

    cut.dropReplies();
    const starting = alice.start();
    // The create reaches the server; its reply does not reach the client.
    await until(async () => (await admin.getChildren(path)).length > 0, 'the create to reach the server');
    cut.heal();
    cut.resetConnections();
    await starting;
    await elected;

    const children = electionOrder(await admin.getChildren(path));
    expect(children.map((child) => child.name)).toEqual([alice.nodeName]);
    await admin.close();
  });

  // The race this once reproduced (a reconnect re-listed the queue while the watch on the
  // leader stayed armed; the stale listing and the leader's deletion arrived in one read and
  // ended the term just granted) cannot start any more: a reconnect of the same session sends
  // no listing. The test holds replies across the reconnect and the deletion, proves nothing
  // was listed, and that the takeover is clean. (The guard that drops a listing in flight at
  // a fast-path grant stays in election.ts; no real-server scenario reaches it now.)
  it("takes over once, without a spurious lost, when a reconnect and the leader's deletion land together", async () => {
    const path = uniquePath('stale-listing');
    const cut = await proxy();
    const log = new EventLog();
    const leader = participant(path, { id: 'leader' });
    const leaderTerm = nextEvent(leader, 'elected');
    await leader.start();
    await leaderTerm;
    const next = participant(path, { id: 'next', connect: cut.connectString, sessionTimeoutMs: 8000 });
    log.record('next', next, electionEvents);
    const following = nextEvent(next, 'follower');
    await next.start();
    await following;
    const admin = await adminSession();
    const leaderNode = `${path}/${leader.nodeName}`;
    const listings = () => next.session.requestCounts.getChildren ?? 0;
    const listedBefore = listings();

    const reconnected = new Promise<void>((resolve) =>
      next.once('reconnected', () => {
        cut.holdReplies();
        resolve();
      }),
    );
    cut.resetConnections();
    await reconnected;
    await admin.remove(leaderNode);
    await until(() => cut.heldReplyBytes > 0, 'the deletion to be held');
    expect(listings(), 'no listing was sent on the reconnect').toBe(listedBefore);
    const term = nextEvent(next, 'elected');
    cut.heal();
    await term;
    // Every held reply has been read once a later request is answered.
    await next.session.exists('/');
    await new Promise((resolve) => setImmediate(resolve));

    expect(log.names().filter((name) => !/follower|suspended|reconnected/.test(name))).toEqual(['next:elected']);
    expect(next.isLeader).toBe(true);
    await next.stop();
    await admin.close();
  });

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

  it('volunteers again when an operator deletes its node', async () => {
    const path = uniquePath('operator-node');
    const alice = participant(path);
    const term = nextEvent(alice, 'elected');
    await alice.start();
    const { fencingToken } = await term;
    const admin = await adminSession();

    const lost = nextEvent(alice, 'lost');
    const again = nextEvent(alice, 'elected');
    await admin.remove(`${path}/${alice.nodeName}`);
    expect(await lost).toEqual({ reason: 'node-deleted' });
    expect((await again).fencingToken).toBeGreaterThan(fencingToken);
    expect(await admin.getChildren(path)).toEqual([alice.nodeName]);
    await admin.close();
  });

  it('re-creates the election node when an operator deletes it, and volunteers again', async () => {
    const path = uniquePath('operator-parent');
    const alice = participant(path);
    const term = nextEvent(alice, 'elected');
    await alice.start();
    const { fencingToken } = await term;
    const admin = await adminSession();

    const lost = nextEvent(alice, 'lost');
    // Both deletes go out back to back, as an operator's `deleteall` does. Alice hears of her
    // node's deletion at once and may join again before the parent's delete lands (NOT_EMPTY):
    // then the operator deletes again, as deleteall would, until the election node is gone.
    for (;;) {
      const [, parent] = await Promise.allSettled([admin.remove(`${path}/${alice.nodeName}`), admin.remove(path)]);
      if (parent.status === 'fulfilled' || isZooKeeperError(parent.reason, 'NO_NODE')) break;
      if (!isZooKeeperError(parent.reason, 'NOT_EMPTY')) throw parent.reason;
    }
    expect(await lost).toEqual({ reason: 'node-deleted' });
    await until(async () => alice.isLeader && (await admin.exists(path)) !== null, 'alice leads again under a re-created election node');
    expect((await alice.waitForLeadership()).fencingToken).toBeGreaterThan(fencingToken);
    expect(electionOrder(await admin.getChildren(path)).map((c) => c.name)).toEqual([alice.nodeName]);
    await admin.close();
  });

  it('names the address when no server answers', async () => {
    const port = await freePort();
    const lonely = new LeaderElection({ path: uniquePath('unreachable'), connect: `127.0.0.1:${port}`, connectTimeoutMs: 500, backend });
    await expect(lonely.start()).rejects.toMatchObject({
      code: 'CONNECT_TIMEOUT',
      message: expect.stringContaining(`127.0.0.1:${port}`),
    });
    await lonely.stop();
  });

  it('refuses to join a path protected by an ACL it holds no credential for (NO_AUTH)', async () => {
    const path = uniquePath('noauth');
    const owner = { scheme: 'digest' as const, credential: 'owner:s3cret' };
    const guarded = new Session({ connect: zkConnect(), auth: owner, backend });
    sessions.push(guarded);
    await guarded.ensurePath(path, digestAcl(owner.credential));

    const intruder = participant(path, { id: 'intruder' });
    await expect(intruder.start()).rejects.toMatchObject({ code: 'NO_AUTH', message: expect.stringContaining('auth') });

    const member = participant(path, { id: 'member', auth: owner, acl: digestAcl(owner.credential) });
    await member.start();
    expect((await member.participants()).map((p) => p.id)).toEqual(['member']);
    const admin = await adminSession();
    await expect(admin.remove(`${path}/${member.nodeName}`)).rejects.toMatchObject({ code: 'NO_AUTH' });
    await admin.close();
    await member.stop();
    await removeTree(guarded, path);
  });
});
