import { describe, expect, it } from 'vitest';
import { LeaderElection } from '../../src/election.js';
import { freePort } from '../../src/testing/ports.js';
import { electionFixture } from '../support/election.js';
import { nextEvent, nextTurn, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, removeTree, unresolvableHost, uniquePath, zkConnect } from '../support/zookeeper.js';

// start(): once only, with an abort signal, on a shared session (closed, suspended), and what it
// rejects with when it cannot join (no server, a missing chroot, a path under an ephemeral node).

describe.each(backends)('start() on %s', (backend) => {
  const { admin, defer, proxy, session, silencedSession } = testResources(backend);
  const participant = electionFixture(backend);

  it('start() twice is an INVALID_STATE error that leaves the running election alone', async () => {
    const alice = participant(uniquePath('start-twice'));
    const term = nextEvent(alice, 'elected');
    await alice.start();
    await expect(alice.start()).rejects.toMatchObject({ code: 'INVALID_STATE', message: expect.stringContaining('already called') });
    await term;
    expect(alice.isLeader).toBe(true);
  });

  it('getLeader() before start() rejects with INVALID_STATE instead of throwing', async () => {
    const idle = participant(uniquePath('idle-reads'));
    const read = idle.getLeader();
    await expect(read).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(idle.participants()).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  it('an aborted signal refuses start() at once, with its reason, and connects nothing', async () => {
    const alice = participant(uniquePath('start-aborted'), { id: 'alice' });
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await expect(alice.start({ signal: controller.signal })).rejects.toThrow('shutting down');
    expect(() => alice.session).toThrow(/before start/);
  });

  it('a signal that aborts while start() waits for a server rejects it with the reason, and the election is stopped', async () => {
    const cut = await proxy();
    cut.blackhole();
    const alice = participant(uniquePath('start-abort-waiting'), { id: 'alice', connect: cut.connectString });
    const controller = new AbortController();
    const starting = alice.start({ signal: controller.signal });
    const stopped = nextEvent(alice, 'stopped');
    controller.abort(new Error('deploy cancelled'));
    await expect(starting).rejects.toThrow('deploy cancelled');
    await stopped;
    expect(alice.health().state).toBe('stopped');
  });

  it('a signal that aborts after start() stops the election: the node goes and the next participant leads', async () => {
    const path = uniquePath('start-abort-later');
    const controller = new AbortController();
    const alice = participant(path, { id: 'alice' });
    const aliceLeads = nextEvent(alice, 'elected');
    await alice.start({ signal: controller.signal });
    await aliceLeads;
    const bob = participant(path, { id: 'bob' });
    await bob.start();
    const bobLeads = nextEvent(bob, 'elected');
    const aliceStopped = nextEvent(alice, 'stopped');
    controller.abort();
    await aliceStopped;
    await bobLeads;
    const operator = await admin();
    expect(await operator.getChildren(path)).toEqual([bob.nodeName]);
  });

  it('start() on a closed shared session fails with SESSION_CLOSED instead of hanging', async () => {
    const closed = session();
    await closed.ready();
    await closed.close();
    const late = new LeaderElection({ path: uniquePath('closed-session'), session: closed });
    await expect(late.start()).rejects.toMatchObject({ code: 'SESSION_CLOSED' });
  });

  it('start() on a shared session that is suspended joins once the connection is back (seed 9083)', async () => {
    const path = uniquePath('start-while-suspended');
    const { cut, silenced } = await silencedSession({ sessionTimeoutMs: 8000 });
    const alice = participant(path, { id: 'alice', session: silenced });
    let started = false;
    const starting = alice.start().then(() => (started = true));
    defer(() => starting.catch(() => {}));
    // start() looks at once and finds the session away: the join is owed to its return.
    await nextTurn();
    expect(started).toBe(false);
    const reconnected = nextEvent(silenced, 'reconnected');
    cut.heal();
    // Connections made into the dead network stay dead: make the client reconnect now.
    cut.resetConnections();
    await reconnected;
    // The same session is back, long before it could expire: the join must not wait for that.
    await until(() => started, 'start() to resolve after the reconnect', 3000);
    expect(alice.nodeName).not.toBeNull();
  });

  // A name that cannot even be looked up never resolves; a free port refuses; a proxy into a dead
  // network accepts the connection and never answers.
  it.each([
    ['name does not resolve', () => Promise.resolve(`${unresolvableHost}:2181`)],
    ['refused', async () => `127.0.0.1:${await freePort()}`],
    [
      'timed out',
      async () => {
        const dead = await proxy();
        dead.blackhole();
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

  it('names the address when no server answers', async () => {
    const port = await freePort();
    const lonely = new LeaderElection({ path: uniquePath('unreachable'), connect: `127.0.0.1:${port}`, connectTimeoutMs: 500, backend });
    await expect(lonely.start()).rejects.toMatchObject({
      code: 'CONNECT_TIMEOUT',
      message: expect.stringContaining(`127.0.0.1:${port}`),
    });
    await lonely.stop();
  });

  it('a chroot that does not exist fails start() at once with CHROOT_NOT_FOUND naming it, and sends no storm of requests', async () => {
    const chroot = `/zk-leader-test-missing-chroot-${Date.now()}`;
    const election = participant('/services/leader', { connect: `${zkConnect()}${chroot}` });
    const started = Date.now();
    await expect(election.start()).rejects.toMatchObject({ code: 'CHROOT_NOT_FOUND', message: expect.stringContaining(chroot) });
    expect(Date.now() - started).toBeLessThan(5000);
    const sent = Object.values(election.session.requestCounts).reduce((total, count) => total + count, 0);
    expect(sent, 'requests sent before giving up').toBeLessThan(20);
  });

  it('a path under an ephemeral node fails start() with NO_CHILDREN_FOR_EPHEMERALS', async () => {
    const parent = uniquePath('ephemeral-parent');
    const operator = await admin();
    await operator.ensurePath(parent);
    await operator.create(`${parent}/e`, Buffer.alloc(0), 'ephemeral');
    const alice = participant(`${parent}/e/election`);
    await expect(alice.start()).rejects.toMatchObject({ code: 'NO_CHILDREN_FOR_EPHEMERALS' });
    defer(() => removeTree(operator, parent));
  });
});
