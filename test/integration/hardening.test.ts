import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestAcl } from '../../src/acl.js';
import { createClient } from '../../src/client/index.js';
import type { BackendName, ClientOptions, ZkClient } from '../../src/client/types.js';
import { LeaderElection } from '../../src/election.js';
import { ZooKeeperError } from '../../src/errors.js';
import { Membership } from '../../src/membership.js';
import { expireSession, fourLetterWord } from '../../src/testing/index.js';
import { electionEvents, electionFixture, expectLostBeforeElected, leaderBehindProxy } from '../support/election.js';
import { testResources } from '../support/resources.js';
import { EventLog, drained, nextEvent, sleep, until } from '../support/events.js';
import { backends, uniquePath, zkConnect } from '../support/zookeeper.js';

// Faults from outside the chaos schedule: other clients touching our znodes, listeners that
// throw, clocks that step, replies that land in a later session. Each test failed on the code
// before the safety-hardening change (see docs/reliability.md).

describe.each(backends)('faults from outside the schedule on %s', (backend) => {
  const { defer, proxy, admin, session, silencedSession, proxiedSession } = testResources(backend);
  const participant = electionFixture(backend);

  it('a candidate whose node someone else deleted never leads on its old predecessor watch', async () => {
    const path = uniquePath('dead-candidacy');
    const log = new EventLog();
    const [leader, a, b] = ['leader', 'a', 'b'].map((id) => participant(path, { id }));
    for (const [name, election] of [
      ['a', a!],
      ['b', b!],
    ] as const)
      log.record(name, election, electionEvents);
    const leads = nextEvent(leader!, 'elected');
    await leader!.start();
    await leads;
    await a!.start();
    await b!.start();
    await until(() => b!.nodeName !== null && log.index('b', 'follower') >= 0, 'b to follow');
    const operator = await admin();

    await operator.remove(`${path}/${a!.nodeName}`);
    // a's client has heard of its own node's deletion (if it watches it) once it is drained.
    await drained(a!.session);
    const bLeads = nextEvent(b!, 'elected');
    await leader!.stop();
    await bLeads;
    await drained(a!.session);
    expect(log.names().filter((name) => name.endsWith(':elected'))).toEqual(['b:elected']);
    expect(a!.isLeader).toBe(false);
  });

  it("a leader hears its node's deletion even after someone wrote data to it", async () => {
    const path = uniquePath('data-then-delete');
    const alice = participant(path, { id: 'alice' });
    const term = nextEvent(alice, 'elected');
    await alice.start();
    const { signal } = await term;
    const operator = await admin();
    const node = `${path}/${alice.nodeName}`;

    await operator.setData(node, Buffer.from('touched by a tool'));
    await drained(alice.session);
    const lost = nextEvent(alice, 'lost', 5000);
    await operator.remove(node);
    expect(await lost).toEqual({ reason: 'node-deleted' });
    expect(signal.aborted).toBe(true);
  });

  it('a backward step of the wall clock does not delay the release behind a silent partition', async () => {
    const cut = await proxy();
    const { next, log } = await leaderBehindProxy(participant, uniquePath('clock-step'), cut);

    const realNow = Date.now;
    const nextTerm = nextEvent(next, 'elected');
    cut.blackhole();
    // The wall clock is set back an hour just as the network goes silent, and stalls there
    // (a VM paused and resumed, a broken NTP step): only a monotonic clock still sees time pass.
    const stalled = realNow() - 3_600_000;
    Date.now = () => stalled;
    defer(() => (Date.now = realNow));
    await nextTerm;
    Date.now = realNow;
    expectLostBeforeElected(log);
    // No native client may be left connecting to a silent address: see README, native backend.
    cut.heal();
  });

  it('whenConnected() rejects with SESSION_CLOSED when the session closes while waiting', async () => {
    const { cut, silenced: waiting } = await silencedSession();
    const outcome = waiting.whenConnected().then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    await waiting.close();
    expect(await outcome).toBe('SESSION_CLOSED');
    cut.heal();
  });

  it('a suspended listener that throws neither keeps the term alive nor starves another election on the session', async () => {
    const { cut, shared } = await proxiedSession();
    participant.expectErrors('LISTENER_FAILED');
    const first = participant(uniquePath('throwing-1'), { session: shared });
    const second = participant(uniquePath('throwing-2'), { session: shared });
    const terms = [nextEvent(first, 'elected'), nextEvent(second, 'elected')] as const;
    await first.start();
    await second.start();
    const [{ signal: firstSignal }] = await Promise.all(terms);
    const errors: string[] = [];
    first.on('error', (error) => errors.push(error.code));
    first.on('suspended', () => {
      throw new Error('a bug in user code');
    });
    const secondHears = nextEvent(second, 'suspended', 5000);

    cut.resetConnections();
    await secondHears;
    expect(firstSignal.aborted, 'the throwing listener did not keep the term alive').toBe(true);
    expect(first.isLeader).toBe(false);
    expect(errors).toContain('LISTENER_FAILED');
    await nextEvent(first, 'elected');
  });

  it('an elected listener that throws is reported and leaves the participant leading', async () => {
    participant.expectErrors('LISTENER_FAILED');
    const alice = participant(uniquePath('throwing-elected'));
    const errors: string[] = [];
    alice.on('error', (error) => errors.push(error.code));
    alice.once('elected', () => {
      throw new Error('a bug in user code');
    });
    const term = nextEvent(alice, 'elected');
    await alice.start();
    await term;
    expect(alice.isLeader).toBe(true);
    expect(errors).toEqual(['LISTENER_FAILED']);
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

  it('start() on a closed shared session fails with SESSION_CLOSED instead of hanging', async () => {
    const closed = session();
    await closed.ready();
    await closed.close();
    const late = new LeaderElection({ path: uniquePath('closed-session'), session: closed });
    await expect(late.start()).rejects.toMatchObject({ code: 'SESSION_CLOSED' });
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
    expect(await Promise.race([settled, sleep(3000).then(() => 'still pending')])).toBe('INVALID_STATE');
  });

  it('a server-side expiry is reported as such, at once, not after a local timeout', async () => {
    const watched = session({ sessionTimeoutMs: 8000 });
    await watched.ready();
    const expired = nextEvent(watched, 'expired', 6000);
    const startedAt = Date.now();
    await expireSession(zkConnect(), watched.credentials()!);
    expect((await expired).reason).toBe('server');
    expect(Date.now() - startedAt).toBeLessThan(6000);
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

  it('a request the network lost settles once the client gives up its connection, instead of never', async () => {
    const path = uniquePath('lost-request');
    const { cut, shared } = await proxiedSession();
    const operator = await admin();
    await operator.ensurePath(path);

    // The request's bytes vanish; the next heartbeat's answer then tells the client that one
    // reply will never come, and the client drops the connection.
    cut.blackhole();
    const lost = shared.getData(path).then(
      () => 'answered',
      (error: { code?: string }) => error.code,
    );
    await sleep(200);
    cut.heal();
    const outcome = await Promise.race([lost, sleep(8000).then(() => 'still waiting')]);
    expect(outcome).toBe('CONNECTION_LOSS');
    expect(await shared.getData(path)).toBeTruthy();
  });

  it('a connection torn in the middle of a reply reconnects to the same session', async () => {
    const path = uniquePath('torn-reply');
    const { cut, shared } = await proxiedSession();
    const operator = await admin();
    await operator.create(path, Buffer.alloc(8192, 'x'), 'persistent');
    const sessionId = shared.sessionId;
    const log = new EventLog();
    log.record('session', shared, ['reconnected', 'expired']);

    cut.cutMidReply();
    const torn = shared.getData(path).then(
      () => 'answered',
      (error: { code?: string }) => error.code,
    );
    expect(await torn).toBe('CONNECTION_LOSS');
    await until(() => log.entries.length > 0, 'the session to come back', 12_000);
    expect(log.names()).toEqual(['session:reconnected']);
    expect(shared.sessionId).toBe(sessionId);
    expect((await shared.getData(path)).data.length).toBe(8192);
  });

  it('membership keeps reporting joins after a read failed on a dropped connection', async () => {
    const path = uniquePath('membership-read-lost');
    const cut = await proxy();
    const watcher = new Membership({ connect: cut.connectString, backend, sessionTimeoutMs: 8000 });
    defer(() => watcher.close());
    await watcher.watch(path);
    const first = new Membership({ connect: zkConnect(), backend });
    const second = new Membership({ connect: zkConnect(), backend });
    defer(() => first.close());
    defer(() => second.close());

    // The watch fires for `first`; the read it starts is held, then the connection drops.
    cut.holdReplies();
    await first.join(path, { id: 'first' });
    await until(() => cut.heldReplyBytes > 0, 'the re-read to be held');
    const reconnected = nextEvent(watcher.session, 'reconnected');
    cut.heal();
    cut.resetConnections();
    await reconnected;
    await until(async () => (await watcher.members()).length === 1, 'first to be listed');
    const secondJoins = new Promise<string>((resolve) => watcher.on('joined', (member) => member.id === 'second' && resolve(member.id)));
    await second.join(path, { id: 'second' });
    expect(await Promise.race([secondJoins, sleep(3000).then(() => 'never heard')])).toBe('second');
  });

  it('a second live member with the same id is refused with MEMBER_ID_TAKEN', async () => {
    const path = uniquePath('duplicate-member');
    const holder = new Membership({ connect: zkConnect(), backend });
    const copy = new Membership({ connect: zkConnect(), backend });
    defer(() => holder.close());
    defer(() => copy.close());
    await holder.join(path, { id: 'worker-1' });
    await expect(copy.join(path, { id: 'worker-1' })).rejects.toMatchObject({
      code: 'MEMBER_ID_TAKEN',
      message: expect.stringContaining(holder.session.sessionId),
    });
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

  it('a predecessor that vanished before it could be watched leaves no creation watch on the server', async () => {
    const path = uniquePath('vanished-predecessor');
    const cut = await proxy();
    const [a, b] = ['a', 'b'].map((id) => participant(path, { id }));
    const c = participant(path, { id: 'c', connect: cut.connectString, sessionTimeoutMs: 8000 });
    const aLeads = nextEvent(a!, 'elected');
    await a!.start();
    await aLeads;
    await b!.start();
    const cFollows = nextEvent(c, 'follower');
    await c.start();
    await cFollows;
    const aNode = `${path}/${a!.nodeName}`;

    // b leaves: the notification reaches c, whose new listing (still showing a) is held...
    const listings = () => c.session.requestCounts.getChildren ?? 0;
    const listedBefore = listings();
    cut.holdReplies(1);
    await b!.stop();
    await until(() => listings() > listedBefore && cut.heldReplyBytes > 0, "c's listing to be held");
    // ...while a leaves too: c then watches a node that is already gone.
    const cLeads = nextEvent(c, 'elected');
    await a!.stop();
    cut.heal();
    await cLeads;
    await drained(c.session);
    const [host, port] = zkConnect().split(',')[0]!.split(':');
    const watches = (await fourLetterWord(host!, Number(port), 'wchp')) ?? '';
    expect(watches, 'no watch left on the vanished predecessor').not.toContain(aNode);
  });

  it('a leader that stops while its leader record is being read writes no record for its gone node', async () => {
    const path = uniquePath('record-after-stop');
    const cut = await proxy();
    const alice = participant(path, { id: 'alice', connect: cut.connectString, sessionTimeoutMs: 8000 });
    let stopping: Promise<void> | undefined;
    // The record's read goes out right after `elected`: its reply is held, and the term ends
    // (stop) before that reply comes.
    alice.once('elected', () => {
      cut.holdReplies();
      queueMicrotask(() => {
        stopping = alice.stop();
      });
    });
    await alice.start();
    await until(() => stopping !== undefined && cut.heldReplyBytes > 0, 'the record read to be held');
    cut.heal();
    await stopping;
    const operator = await admin();
    expect((await operator.getData(path)).data.toString(), 'no record names a node that is gone').toBe('');
  });

  it('getLeader() before start() rejects with INVALID_STATE instead of throwing', async () => {
    const idle = participant(uniquePath('idle-reads'));
    const read = idle.getLeader();
    await expect(read).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(idle.participants()).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  it('resign() during the takeover delay gives the pending term up without elected or lost', async () => {
    const path = uniquePath('resign-in-delay');
    const log = new EventLog();
    const alice = participant(path, { id: 'alice', takeoverDelayMs: 1000 });
    log.record('alice', alice, electionEvents);
    await alice.start();
    await sleep(100);
    expect(alice.isLeader).toBe(false);
    expect(await alice.resign()).toBe(true);
    await sleep(1200);
    expect(log.names().filter((name) => /elected|lost/.test(name))).toEqual(['alice:elected']);
  });

  it('runWhileLeader backs off between terms when the work keeps failing', async () => {
    participant.expectErrors('LEADER_WORK_FAILED');
    const alice = participant(uniquePath('failing-work'));
    let runs = 0;
    const errors: string[] = [];
    alice.on('error', (error) => errors.push(error.code));
    const running = alice.runWhileLeader(() => {
      runs += 1;
      throw new Error('cannot reach the database');
    });
    await sleep(1500);
    // 0.25-0.5 s, then 0.5-1 s of pause: two or three runs, not hundreds.
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThanOrEqual(4);
    expect(errors.every((code) => code === 'LEADER_WORK_FAILED')).toBe(true);
    await alice.stop();
    await running;
  });

  it('an error nobody listens to becomes a process warning, once per code, and no crash', async () => {
    const path = uniquePath('unheard-error');
    const operator = await admin();
    await operator.ensurePath(path);
    await operator.create(`${path}/lock-0000000000`, Buffer.from('another program'), 'persistent');
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }) => warnings.push(warning.code ?? '');
    process.on('warning', onWarning);
    defer(() => process.off('warning', onWarning));
    const alice = new LeaderElection({ path, connect: zkConnect(), backend });
    defer(() => alice.stop());
    await alice.start();
    await until(() => warnings.includes('ZK_LEADER_FOREIGN_CANDIDATE'), 'the warning');
    expect(alice.isLeader).toBe(false);
  });

  it('never leads while a sequential node it did not create sorts ahead, and leads once it goes', async () => {
    const path = uniquePath('foreign-sequential');
    const operator = await admin();
    await operator.ensurePath(path);
    const foreign = await operator.create(`${path}/lock-`, Buffer.from('another program'), 'ephemeral-sequential');
    participant.expectErrors('FOREIGN_CANDIDATE');
    const alice = participant(path, { id: 'alice' });
    const errors: { code: string; message: string }[] = [];
    alice.on('error', (error) => errors.push(error));
    const term = nextEvent(alice, 'elected');
    await alice.start();
    await until(() => errors.length > 0, 'the FOREIGN_CANDIDATE error');
    expect(errors[0]).toMatchObject({ code: 'FOREIGN_CANDIDATE', message: expect.stringContaining(foreign) });
    expect(alice.isLeader).toBe(false);
    await operator.remove(foreign);
    await term;
  });

  it('survives the whole election path being deleted under running participants', async () => {
    const path = uniquePath('deleteall');
    const [first, second] = ['first', 'second'].map((id) => participant(path, { id }));
    const leads = nextEvent(first!, 'elected');
    await first!.start();
    await leads;
    const follows = nextEvent(second!, 'follower');
    await second!.start();
    await follows;
    const operator = await admin();

    const firstLost = nextEvent(first!, 'lost');
    // As an operator's `deleteall` does: children, then the node, retried while they re-join.
    for (;;) {
      const children = await operator.getChildren(path).catch(() => []);
      const removed = await Promise.all(
        [...children.map((child) => operator.remove(`${path}/${child}`)), operator.remove(path)].map((p) =>
          p.then(
            () => true,
            () => false,
          ),
        ),
      );
      if (removed.at(-1)) break;
    }
    expect(await firstLost).toEqual({ reason: 'node-deleted' });
    await until(async () => (await operator.getChildren(path).catch(() => [])).length === 2, 'both to re-join');
    await until(() => [first!, second!].filter((election) => election.isLeader).length === 1, 'one leader again');
  });
});
