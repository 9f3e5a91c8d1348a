import { describe, expect, it } from 'vitest';
import { LeadershipLostError } from '../../src/election.js';
import { electionOrder } from '../../src/candidate.js';
import { electionFixture } from '../support/election.js';
import { EventLog, nextEvent, until } from '../support/events.js';
import { adminSession, backends, uniquePath } from '../support/zookeeper.js';

describe.each(backends)('LeaderElection on %s', (backend) => {
  const participant = electionFixture(backend);

  it('joins with a GUID-named ephemeral-sequential node holding its id and data', async () => {
    const path = uniquePath('join');
    const alice = participant(path, { id: 'alice', data: { url: 'http://a:1' } });
    await alice.start();
    const admin = await adminSession();
    const children = await admin.getChildren(path);
    expect(children).toHaveLength(1);
    expect(children[0]).toMatch(/^[0-9a-f]{32}-n_\d{10}$/);
    const { data, stat } = await admin.getData(`${path}/${children[0]}`);
    expect(JSON.parse(data.toString())).toEqual({ id: 'alice', data: { url: 'http://a:1' } });
    expect(stat.ephemeralOwner).toBe(alice.session.sessionId);
    await admin.close();
  });

  it('elects the lowest sequence and makes the rest follow in order', async () => {
    const path = uniquePath('order');
    const first = participant(path, { id: 'first' });
    const elected = nextEvent(first, 'elected');
    await first.start();
    await elected;
    const second = participant(path, { id: 'second' });
    const secondFollows = nextEvent(second, 'follower');
    await second.start();
    const third = participant(path, { id: 'third' });
    const thirdFollows = nextEvent(third, 'follower');
    await third.start();

    expect((await secondFollows).position).toBe(1);
    expect((await thirdFollows).leader.id).toBe('first');
    expect([first.isLeader, second.isLeader, third.isLeader]).toEqual([true, false, false]);
    expect((await third.participants()).map((p) => p.id)).toEqual(['first', 'second', 'third']);
    expect((await second.getLeader())?.id).toBe('first');
  });

  it('hands over to the next participant when the leader stops, with a larger fencing token', async () => {
    const path = uniquePath('handover');
    const first = participant(path, { id: 'first' });
    const firstTerm = nextEvent(first, 'elected');
    await first.start();
    const { fencingToken: firstToken, signal } = await firstTerm;
    const second = participant(path, { id: 'second' });
    await second.start();

    const secondTerm = nextEvent(second, 'elected');
    const lost = nextEvent(first, 'lost');
    await first.stop();
    expect(await lost).toEqual({ reason: 'stopped' });
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(LeadershipLostError);
    const { fencingToken: secondToken } = await secondTerm;
    expect(secondToken).toBeGreaterThan(firstToken);
    expect(second.fencingToken).toBe(secondToken);
    expect(first.isLeader).toBe(false);
  });

  it('uses the leader node czxid as the fencing token', async () => {
    const path = uniquePath('token');
    const alice = participant(path);
    const term = nextEvent(alice, 'elected');
    await alice.start();
    const { fencingToken } = await term;
    const admin = await adminSession();
    const stat = await admin.exists(`${path}/${alice.nodeName}`);
    expect(stat?.czxid).toBe(fencingToken);
    await admin.close();
  });

  it('resign() ends the term and queues again at the back', async () => {
    const path = uniquePath('resign');
    const first = participant(path, { id: 'first' });
    const firstTerm = nextEvent(first, 'elected');
    await first.start();
    const { signal } = await firstTerm;
    const second = participant(path, { id: 'second' });
    await second.start();

    const lost = nextEvent(first, 'lost');
    const secondTerm = nextEvent(second, 'elected');
    const follows = nextEvent(first, 'follower');
    expect(await first.resign()).toBe(true);
    expect(await lost).toEqual({ reason: 'resigned' });
    expect(signal.aborted).toBe(true);
    await secondTerm;
    expect((await follows).leader.id).toBe('second');
    expect((await first.participants()).map((p) => p.id)).toEqual(['second', 'first']);
    expect(await first.resign()).toBe(false);
  });

  it('runWhileLeader runs the work with a signal that aborts when leadership ends', async () => {
    const path = uniquePath('run-while-leader');
    const alice = participant(path, { id: 'alice' });
    const tokens: bigint[] = [];
    let workStarted!: () => void;
    const started = new Promise<void>((resolve) => (workStarted = resolve));
    let abortReason: unknown;
    const running = alice.runWhileLeader(async (signal, { fencingToken }) => {
      tokens.push(fencingToken);
      workStarted();
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      abortReason = signal.reason;
    });
    await started;
    await alice.stop();
    await running;
    expect(tokens).toHaveLength(1);
    expect(abortReason).toMatchObject({ code: 'LEADERSHIP_LOST', reason: 'stopped' });
  });

  it('runWhileLeader hands leadership on when the work returns', async () => {
    const path = uniquePath('run-while-leader-returns');
    const alice = participant(path, { id: 'alice' });
    const bob = participant(path, { id: 'bob' });
    const order: string[] = [];
    let bothRan!: () => void;
    const done = new Promise<void>((resolve) => (bothRan = resolve));
    const work = (name: string) => () => {
      order.push(name);
      if (order.length === 2) bothRan();
    };
    await alice.start();
    await bob.start();
    const runs = [alice.runWhileLeader(work('alice')), bob.runWhileLeader(work('bob'))];
    await done;
    expect(order.slice(0, 2)).toEqual(['alice', 'bob']);
    await Promise.all([alice.stop(), bob.stop()]);
    await Promise.all(runs);
  });

  it('waits takeoverDelayMs after the predecessor released before acting as leader', async () => {
    const path = uniquePath('takeover-delay');
    const first = participant(path, { id: 'first' });
    const leads = nextEvent(first, 'elected');
    await first.start();
    await leads;
    const second = participant(path, { id: 'second', takeoverDelayMs: 600 });
    const follows = nextEvent(second, 'follower');
    await second.start();
    await follows;

    const term = nextEvent(second, 'elected');
    const releasedAt = performance.now();
    await first.stop();
    // Won at once, announced only after the delay.
    expect(second.isLeader).toBe(false);
    await term;
    expect(performance.now() - releasedAt).toBeGreaterThanOrEqual(590);
    expect(second.isLeader).toBe(true);
  });

  it('a loss during takeoverDelayMs cancels the term: no elected, no lost', async () => {
    const path = uniquePath('takeover-cancelled');
    const log = new EventLog();
    const alice = participant(path, { id: 'alice', takeoverDelayMs: 800 });
    log.record('alice', alice, ['elected', 'lost']);
    await alice.start();
    const admin = await adminSession();
    const node = `${path}/${alice.nodeName}`;
    // Deleted while the delay runs: the won term must never be announced.
    await admin.remove(node);
    await until(() => alice.nodeName !== null && `${path}/${alice.nodeName}` !== node, 'alice to re-join');
    const pending = nextEvent(alice, 'elected');
    const { signal } = await pending;
    expect(log.names()).toEqual(['alice:elected']);
    expect(signal.aborted).toBe(false);
    await admin.close();
  });

  it('stop() removes the node, and a second stop() is a no-op', async () => {
    const path = uniquePath('stop');
    const alice = participant(path);
    await alice.start();
    const stopped = nextEvent(alice, 'stopped');
    await alice.stop();
    await stopped;
    await alice.stop();
    const admin = await adminSession();
    expect(electionOrder(await admin.getChildren(path))).toHaveLength(0);
    await admin.close();
    await expect(alice.start()).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });
});
