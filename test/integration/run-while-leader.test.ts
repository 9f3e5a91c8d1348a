import { describe, expect, it } from 'vitest';
import { Permission } from '../../src/client/types.js';
import { electionFixture } from '../support/election.js';
import { nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, uniquePath } from '../support/zookeeper.js';

// runWhileLeader(work): the work runs once per term with a signal that aborts when the term
// ends; returning hands leadership on, throwing backs off; { once: true } runs one term.

describe.each(backends)('runWhileLeader on %s', (backend) => {
  const { admin } = testResources(backend);
  const participant = electionFixture(backend);

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

  it('runWhileLeader: work that returns after its term ended does not resign the next term', async () => {
    const path = uniquePath('work-after-abort');
    const alice = participant(path, { id: 'alice' });
    const operator = await admin();
    const tokens: bigint[] = [];
    const ended = (signal: AbortSignal) =>
      new Promise((resolve) => (signal.aborted ? resolve(undefined) : signal.addEventListener('abort', resolve, { once: true })));
    const running = alice.runWhileLeader(async (signal, { fencingToken }) => {
      tokens.push(fencingToken);
      if (tokens.length === 1) await operator.remove(`${path}/${alice.nodeName}`);
      await ended(signal);
    });
    await until(() => tokens.length === 2, 'a second term');
    expect(tokens[1]).toBeGreaterThan(tokens[0]!);
    expect(alice.isLeader).toBe(true);
    await alice.stop();
    await running;
  });

  it('runWhileLeader backs off between terms when the work keeps failing', async () => {
    participant.expectErrors('LEADER_WORK_FAILED');
    const alice = participant(uniquePath('failing-work'));
    const runs: number[] = [];
    const errors: string[] = [];
    alice.on('error', (error) => errors.push(error.code));
    const running = alice.runWhileLeader(() => {
      runs.push(performance.now());
      throw new Error('cannot reach the database');
    });
    await until(
      () => runs.length >= 3,
      () => `three runs (${runs.length} so far)`,
    );
    // 0.25-0.5 s, then 0.5-1 s of pause between the runs: not hundreds of runs, and back soon.
    const [first, second, third] = runs as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(240);
    expect(second - first).toBeLessThan(1500);
    expect(third - second).toBeGreaterThanOrEqual(480);
    expect(errors.every((code) => code === 'LEADER_WORK_FAILED')).toBe(true);
    await alice.stop();
    await running;
  });

  it('runWhileLeader without DELETE on the path reports the failed hand-over and goes on, without a storm of attempts', async () => {
    const path = uniquePath('no-delete-run');
    const operator = await admin();
    await operator.ensurePath(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all & ~Permission.delete }]);
    participant.expectErrors('NO_AUTH');
    const alice = participant(path, { id: 'alice' });
    const errors: string[] = [];
    alice.on('error', (error) => errors.push(error.code));
    const terms: number[] = [];
    const running = alice.runWhileLeader(() => {
      terms.push(performance.now());
    });
    await until(() => errors.includes('NO_AUTH'), 'the failed hand-over to be reported');
    // A refusal that does not heal costs no storm of terms: each refused hand-over pauses
    // longer than the last (the upper half of a window that doubles from 0.5 s), though the
    // work itself succeeds every term.
    await until(
      () => terms.length >= 4,
      () => `four terms (${terms.length} so far)`,
    );
    for (const [index, at] of terms.slice(1, 4).entries()) {
      expect(at - terms[index]!, `the pause after refusal ${index + 1}`).toBeGreaterThanOrEqual(250 * 2 ** index - 10);
    }
    expect(alice.health().state).toBe('running');
    await alice.stop();
    await running;
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
});
