import { describe, expect, it } from 'vitest';
import { Permission } from '../../src/client/types.js';
import { systemClock, type Clock, type TimerHandle } from '../../src/clock.js';
import { Membership } from '../../src/membership.js';
import { LeaderObserver } from '../../src/observer.js';
import { nodeRuntime, type Runtime } from '../../src/runtime.js';
import { electionFixture } from '../support/election.js';
import { nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';

// start({ signal }), runWhileLeader(work, { once: true }) and proclaim(data) (issue 26).

describe.each(backends)('start({ signal }) and runWhileLeader once, on %s', (backend) => {
  const { admin, defer, proxy } = testResources(backend);
  const participant = electionFixture(backend);

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

  it('runWhileLeader(work, { once: true }) runs one term of work, then stops and hands over', async () => {
    const path = uniquePath('run-once');
    const alice = participant(path, { id: 'alice' });
    const bob = participant(path, { id: 'bob' });
    const runs: bigint[] = [];
    const bobLeads = nextEvent(bob, 'elected');
    await alice.runWhileLeader(
      async (_signal, { fencingToken }) => {
        runs.push(fencingToken);
        await bob.start();
      },
      { once: true },
    );
    expect(runs).toHaveLength(1);
    expect(alice.health().state).toBe('stopped');
    await bobLeads;
  });

  it('runWhileLeader once rejects with LEADER_WORK_FAILED when the work throws, after the election stopped', async () => {
    const alice = participant(uniquePath('run-once-fails'), { id: 'alice' });
    const failed = alice.runWhileLeader(
      () => {
        throw new Error('no database');
      },
      { once: true },
    );
    await expect(failed).rejects.toMatchObject({ code: 'LEADER_WORK_FAILED', message: expect.stringContaining('no database') });
    expect(alice.health().state).toBe('stopped');
  });

  it('proclaim(data) replaces what the leader published: observers see it in the same term, and getLeader() reads it', async () => {
    const path = uniquePath('proclaim');
    const alice = participant(path, { id: 'alice', data: { url: 'http://old' } });
    const elected = nextEvent(alice, 'elected');
    await alice.start();
    const { fencingToken } = await elected;
    const observer = new LeaderObserver({ connect: zkConnect(), path, backend });
    defer(() => observer.close());
    expect((await observer.waitForLeader()).data).toEqual({ url: 'http://old' });
    const seen = nextEvent(observer, 'leader');
    await alice.proclaim({ url: 'http://new' });
    expect(await seen).toMatchObject({ id: 'alice', data: { url: 'http://new' }, fencingToken });
    expect(await alice.getLeader()).toMatchObject({ data: { url: 'http://new' } });
  });

  it("proclaim refuses a follower and a deposed leader (NOT_LEADER) and the peers' recipes (UNSUPPORTED)", async () => {
    const path = uniquePath('proclaim-refused');
    const alice = participant(path, { id: 'alice' });
    const elected = nextEvent(alice, 'elected');
    await alice.start();
    await elected;
    const bob = participant(path, { id: 'bob' });
    const follows = nextEvent(bob, 'follower');
    await bob.start();
    await follows;
    await expect(bob.proclaim('x')).rejects.toMatchObject({ code: 'NOT_LEADER' });

    const cut = await proxy();
    const carol = participant(uniquePath('proclaim-deposed'), { id: 'carol', connect: cut.connectString });
    const carolLeads = nextEvent(carol, 'elected');
    await carol.start();
    await carolLeads;
    cut.holdReplies();
    const operator = await admin();
    await operator.remove(`${carol.path}/${carol.nodeName}`);
    const refused = carol.proclaim('late');
    await until(() => cut.heldReplyBytes > 0, 'the answer to be held', 5000);
    cut.heal();
    await expect(refused).rejects.toMatchObject({ code: 'NOT_LEADER' });

    const kazoo = participant(uniquePath('proclaim-kazoo'), { id: 'k', recipe: 'kazoo' });
    const kazooLeads = nextEvent(kazoo, 'elected');
    await kazoo.start();
    await kazooLeads;
    await expect(kazoo.proclaim('x')).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('waitForLeadership takes { signal, timeoutMs } as waitForLeader does (WAIT_TIMEOUT), and a bare signal still', async () => {
    const path = uniquePath('wait-options');
    const alice = participant(path, { id: 'alice' });
    const elected = nextEvent(alice, 'elected');
    await alice.start();
    await elected;
    const bob = participant(path, { id: 'bob' });
    await bob.start();
    await expect(bob.waitForLeadership({ timeoutMs: 200 })).rejects.toMatchObject({ code: 'WAIT_TIMEOUT' });
    const controller = new AbortController();
    const waiting = bob.waitForLeadership(controller.signal);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    const term = bob.waitForLeadership({ timeoutMs: 20_000 });
    await alice.stop();
    expect((await term).fencingToken).toBeGreaterThan(0n);
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
});

/** A clock on Node's timers that knows which of its timers are armed, and for how long. */
function watchedClock(): { clock: Clock; armedDelays: () => number[] } {
  const armed = new Map<TimerHandle, number>();
  const clock: Clock = {
    now: () => systemClock.now(),
    setTimeout: (callback, delayMs) => {
      const handle = systemClock.setTimeout(() => {
        armed.delete(handle);
        callback();
      }, delayMs);
      armed.set(handle, delayMs);
      return handle;
    },
    clearTimeout: (handle) => {
      armed.delete(handle);
      systemClock.clearTimeout(handle);
    },
  };
  return { clock, armedDelays: () => [...armed.values()] };
}

/** A runtime whose ZooKeeper clients are counted: a recipe that connects makes one. */
function countedClients(): { runtime: Partial<Runtime>; made: () => number } {
  let made = 0;
  return {
    runtime: {
      createClient: (backend, options) => {
        made += 1;
        return nodeRuntime.createClient(backend, options);
      },
    },
    made: () => made,
  };
}

// One clock and one lifecycle for every recipe (issue 25).
describe.each(backends)('Membership and LeaderObserver lifecycle, on %s', (backend) => {
  const { admin, defer, session } = testResources(backend);
  const anHour = 3_600_000;

  it("Membership's report timer runs on the session's clock, and stop() clears it", async () => {
    const { clock, armedDelays } = watchedClock();
    const members = new Membership({ session: session({ runtime: { clock } }), reportEveryMs: anHour });
    defer(() => members.stop());
    await members.join(uniquePath('report-clock'), { id: 'm1' });
    expect(armedDelays()).toContain(anHour);
    await members.stop();
    expect(armedDelays()).not.toContain(anHour);
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

  it('Membership.stop() on a shared session without DELETE on the group rejects with NO_AUTH, stopped all the same: the node stays until the session closes', async () => {
    const path = uniquePath('members-no-delete');
    const operator = await admin();
    await operator.ensurePath(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all & ~Permission.delete }]);
    defer(() => removeTree(operator, path));
    const shared = session();
    const members = new Membership({ session: shared });
    await members.join(path, { id: 'm1' });
    await expect(members.stop()).rejects.toMatchObject({ code: 'NO_AUTH', message: expect.stringContaining('the node stays until the shared session closes') });
    expect(members.health().state).toBe('closed');
    await expect(members.stop()).resolves.toBeUndefined();
    expect(await operator.exists(`${path}/m1`)).not.toBeNull();
    await shared.close();
    // The native backend's close() may resolve before the server has dropped the node.
    await until(async () => (await operator.exists(`${path}/m1`)) === null, 'the member node to go with the shared session');
  });

  it('Membership.stop() while join() is on its way ends the join with INVALID_STATE and leaves no member node', async () => {
    const path = uniquePath('members-stop-joining');
    const operator = await admin();
    defer(() => removeTree(operator, path));
    const members = new Membership({ session: session() });
    const joining = members.join(path, { id: 'm1' });
    const stopped = members.stop();
    await expect(joining).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await stopped;
    expect(await operator.exists(`${path}/m1`)).toBeNull();
  });

  it('Membership.stop() on a shared session closed under it resolves: the member node went with the session', async () => {
    const path = uniquePath('members-session-closed');
    const operator = await admin();
    defer(() => removeTree(operator, path));
    const shared = session();
    const members = new Membership({ session: shared });
    await members.join(path, { id: 'm1' });
    const closing = shared.close();
    await expect(members.stop()).resolves.toBeUndefined();
    await closing;
    await until(async () => (await operator.exists(`${path}/m1`)) === null, 'the member node to go with the session');
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

  it('Membership.close(), deprecated, rejects as stop() does when the node cannot be deleted', async () => {
    const path = uniquePath('members-no-delete-close');
    const operator = await admin();
    await operator.ensurePath(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all & ~Permission.delete }]);
    defer(() => removeTree(operator, path));
    const members = new Membership({ session: session() });
    await members.join(path, { id: 'm1' });
    await expect(members.close()).rejects.toMatchObject({ code: 'NO_AUTH' });
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

  it('a Membership with connect connects nothing until join() or watch(); stop() before them is a no-op', async () => {
    const clients = countedClients();
    const idle = new Membership({ connect: zkConnect(), backend, runtime: clients.runtime });
    expect(clients.made()).toBe(0);
    expect(idle.health()).toMatchObject({ state: 'idle', sessionState: null });
    expect(() => idle.session).toThrow(/before join\(\) or watch\(\)/);
    await idle.stop();
    expect(clients.made()).toBe(0);
    await expect(idle.watch(uniquePath('members-lazy'))).rejects.toMatchObject({ code: 'INVALID_STATE' });

    const members = new Membership({ connect: zkConnect(), backend, runtime: clients.runtime });
    defer(() => members.stop());
    const seesItself = nextEvent(members, 'joined');
    await members.join(uniquePath('members-lazy-join'), { id: 'm1' });
    await seesItself;
    expect(clients.made()).toBe(1);
    expect(members.health()).toMatchObject({ ok: true, state: 'running', joined: true, sessionState: 'connected' });
  });
});
