import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestAcl } from '../../src/acl.js';
import { createClient } from '../../src/client/index.js';
import { type BackendName, type ClientOptions, type ZkClient } from '../../src/client/types.js';
import { electionOrder } from '../../src/candidate.js';
import { ZooKeeperError } from '../../src/errors.js';
import { Session } from '../../src/session.js';
import { electionEvents, electionFixture } from '../support/election.js';
import { EventLog, drained, nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { adminSession, backends, uniquePath } from '../support/zookeeper.js';

// Requests whose replies a dropped connection lost, and reconnects of the same session: a
// create found again by its GUID (and never another session's), no new listing after a
// reconnect, a takeover when a reconnect and a deletion land together.

describe.each(backends)('lost replies and reconnects on %s', (backend) => {
  const { admin, defer, proxy, session, proxiedSession } = testResources(backend);
  const participant = electionFixture(backend);

  it("finds its own node by GUID when the create's reply is lost to a connection loss", async () => {
    const path = uniquePath('lost-reply');
    const cut = await proxy();
    const session = new Session({ connect: cut.connectString, sessionTimeoutMs: 8000, backend });
    defer(() => session.close());
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

  it('a candidate adopted after a lost create reply carries the ACL asked for', async () => {
    const path = uniquePath('acl-adopted');
    const owner = { scheme: 'digest' as const, credential: 'owner:s3cret' };
    const cut = await proxy();
    const guarded = session({ connect: cut.connectString, auth: owner, sessionTimeoutMs: 8000 });
    await guarded.ready();
    const operator = await admin();
    await operator.ensurePath(path);
    const alice = participant(path, { id: 'alice', session: guarded, acl: digestAcl(owner.credential) });

    cut.dropReplies();
    const starting = alice.start();
    await until(async () => (await operator.getChildren(path)).length > 0, 'the create to reach the server');
    cut.heal();
    cut.resetConnections();
    await starting;
    const [node] = await operator.getChildren(path);
    await expect(operator.setData(`${path}/${node}`, Buffer.from('vandal'))).rejects.toMatchObject({ code: 'NO_AUTH' });
    // Deleted by its owner, while the owner's session is still open.
    await alice.stop();
  });

  it('a node found by our GUID that another session created is not taken for ours', async () => {
    const path = uniquePath('guid-collision');
    const guid = randomBytes(16).toString('hex');
    // GUIDs are random, so two sessions drawing the same one is the only way to put another
    // session's node under our GUID, and reach the owner check when the candidacy confirms it.
    const sameGuidFirst = () => {
      let drawn = false;
      return () => (drawn ? randomBytes(16).toString('hex') : ((drawn = true), guid));
    };
    const holder = participant(path, { id: 'holder', session: session({ runtime: { newGuid: sameGuidFirst() } }) });
    const holds = nextEvent(holder, 'elected');
    await holder.start();
    await holds;
    // The unlucky one's first create is lost on the way (a connection loss before it reached
    // the server): the candidacy then looks for its node by GUID, and finds the holder's.
    let lost = false;
    const losesFirstCreate = (backendName: BackendName, options: ClientOptions): ZkClient => {
      const client = createClient(backendName, options);
      const create = client.create.bind(client);
      client.create = (...args) => {
        if (lost) return create(...args);
        lost = true;
        return Promise.reject(new ZooKeeperError('CONNECTION_LOSS', 'create', args[0], 'lost on the way (test)'));
      };
      return client;
    };
    const unlucky = participant(path, { id: 'unlucky', session: session({ runtime: { newGuid: sameGuidFirst(), createClient: losesFirstCreate } }) });
    const follows = nextEvent(unlucky, 'follower');
    await unlucky.start();
    expect(lost).toBe(true);
    expect((await follows).leader.id).toBe('holder');
    expect(unlucky.nodeName).not.toBe(holder.nodeName);
    expect(unlucky.isLeader).toBe(false);
    expect(holder.isLeader).toBe(true);
    // Stopping deletes the unlucky one's own node, never the holder's.
    await unlucky.stop();
    const operator = await admin();
    expect(await operator.getChildren(path)).toEqual([holder.nodeName]);
  });

  it('a follower does not list the queue again after a reconnect of the same session', async () => {
    const path = uniquePath('no-relist');
    const cut = await proxy();
    const leader = participant(path, { id: 'leader' });
    const leads = nextEvent(leader, 'elected');
    await leader.start();
    await leads;
    const follower = participant(path, { id: 'follower', connect: cut.connectString, sessionTimeoutMs: 8000 });
    const follows = nextEvent(follower, 'follower');
    await follower.start();
    await follows;
    const listings = follower.session.requestCounts.getChildren ?? 0;

    const reconnected = nextEvent(follower, 'reconnected');
    cut.resetConnections();
    await reconnected;
    await drained(follower.session);
    expect(follower.session.requestCounts.getChildren ?? 0).toBe(listings);
    // And its watch still works: the next leader change reaches it.
    const takesOver = nextEvent(follower, 'elected');
    await leader.stop();
    await takesOver;
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
    await drained(next.session);

    expect(log.names().filter((name) => !/follower|suspended|reconnected/.test(name))).toEqual(['next:elected']);
    expect(next.isLeader).toBe(true);
    await next.stop();
    await admin.close();
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
