import { describe, expect, it } from 'vitest';
import { checkHistory, type Fault, type WorkerEvent } from '../chaos/history.js';

const options = { sessionTimeoutMs: 2000, livenessMarginMs: 1000 };
const elected = (id: string, ts: number, token: number): WorkerEvent => ({ id, ts, event: 'elected', fencingToken: String(token) });
const lost = (id: string, ts: number, reason = 'stopped'): WorkerEvent => ({ id, ts, event: 'lost', reason });

describe('the chaos history checker', () => {
  it('accepts clean handovers with growing tokens', () => {
    const report = checkHistory([elected('a', 0, 10), lost('a', 100), elected('b', 101, 12), lost('b', 500), elected('a', 501, 15)], [], options);
    expect(report.violations).toEqual([]);
    expect(report.terms.map((term) => [term.id, term.token])).toEqual([
      ['a', 10n],
      ['b', 12n],
      ['a', 15n],
    ]);
    expect(report.maxLeaderlessMs).toBe(1);
  });

  it('reports two leaders at once', () => {
    const report = checkHistory([elected('a', 0, 10), elected('b', 50, 12), lost('a', 100)], [], options);
    expect(report.violations).toEqual([expect.stringContaining('overlap: a (token 10')]);
  });

  it('ends a killed leader’s term at its exit', () => {
    const events = [elected('a', 0, 10), { id: 'a', ts: 100, event: 'exited' }, elected('b', 2000, 12)];
    const faults: Fault[] = [{ kind: 'kill9-leader', target: 'a', at: 100, healedAt: 100 }];
    expect(checkHistory(events, faults, options).violations).toEqual([]);
  });

  it('excuses a SIGSTOPped leader only if it says lost on resume and holds the lower token', () => {
    const faults: Fault[] = [{ kind: 'sigstop', target: 'a', at: 100, healedAt: 3000 }];
    const fenced = [elected('a', 0, 10), elected('b', 2200, 12), lost('a', 3001, 'suspended')];
    const report = checkHistory(fenced, faults, options);
    expect(report.violations).toEqual([]);
    expect(report.overlaps).toHaveLength(1);
    expect(report.overlaps[0]!.excused).toContain('SIGSTOP');

    const actedFirst = [elected('a', 0, 10), elected('b', 2200, 12), { id: 'a', ts: 3001, event: 'follower' }, lost('a', 3002)];
    expect(checkHistory(actedFirst, faults, options).violations).toEqual([expect.stringContaining('overlap')]);
  });

  it('reports a token that does not grow from one leader to the next', () => {
    const report = checkHistory([elected('a', 0, 10), lost('a', 100), elected('b', 101, 9)], [], options);
    expect(report.violations).toContainEqual(expect.stringContaining('token order: b took token 9'));
  });

  it('allows the same leader to resume its own term with the same token', () => {
    const report = checkHistory([elected('a', 0, 10), lost('a', 100, 'suspended'), elected('a', 150, 10)], [], options);
    expect(report.violations).toEqual([]);
  });

  it('reports a leaderless stretch longer than the fault plus a session timeout', () => {
    const faults: Fault[] = [{ kind: 'partition-leader', target: 'a', at: 100, healedAt: 2500 }];
    const slow = checkHistory([elected('a', 0, 10), lost('a', 1400, 'suspended'), elected('b', 9000, 12)], faults, options);
    expect(slow.violations).toEqual([expect.stringContaining('liveness: no leader for 7600 ms')]);
    const fine = checkHistory([elected('a', 0, 10), lost('a', 1400, 'suspended'), elected('b', 2100, 12)], faults, options);
    expect(fine.violations).toEqual([]);
  });
});

describe('the SIGSTOP excuse, with histories the library can produce', () => {
  const pause: Fault[] = [{ kind: 'sigstop', target: 'a', at: 100, healedAt: 3000 }];

  it('is an overlap when the resumed leader keeps leading for 2 s', () => {
    const report = checkHistory([elected('a', 0, 10), elected('b', 2200, 12), lost('a', 5000, 'suspended')], pause, options);
    expect(report.violations).toEqual([expect.stringContaining('overlap: a')]);
  });

  it('is an overlap when the paused leader never says lost', () => {
    const report = checkHistory([elected('a', 0, 10), elected('b', 2200, 12)], pause, options);
    expect(report.violations).toEqual([expect.stringContaining('never closed')]);
  });

  it('does not excuse a kill -9 after the resume in place of lost', () => {
    const report = checkHistory([elected('a', 0, 10), elected('b', 2200, 12), { id: 'a', ts: 3100, event: 'exited' }], pause, options);
    expect(report.violations).toEqual([expect.stringContaining('overlap: a')]);
  });

  it('is an overlap when a second leader is elected after SIGCONT while the first still leads', () => {
    const report = checkHistory([elected('a', 0, 10), elected('b', 3050, 12), lost('a', 3100, 'suspended')], pause, options);
    expect(report.violations).toEqual([expect.stringContaining('overlap: a')]);
  });

  it('reports elected while the term is still open', () => {
    const report = checkHistory([elected('a', 0, 10), elected('a', 50, 11)], [], options);
    expect(report.violations).toContainEqual(expect.stringContaining('a was elected at 50 while its term from 0 was open'));
  });

  it('excuses the overlap only within the resume window', () => {
    const inTime = checkHistory([elected('a', 0, 10), elected('b', 2200, 12), lost('a', 3400, 'suspended')], pause, options);
    expect(inTime.violations).toEqual([]);
    const late = checkHistory([elected('a', 0, 10), elected('b', 2200, 12), lost('a', 3600, 'suspended')], pause, options);
    expect(late.violations).toEqual([expect.stringContaining('overlap: a')]);
  });
});

describe('the other checks', () => {
  it('reports a leaderless stretch at the end of the run, before the shutdown', () => {
    const report = checkHistory([elected('a', 0, 10), lost('a', 100, 'suspended')], [], { ...options, shutdownAt: 20_000 });
    expect(report.violations).toEqual([expect.stringContaining('liveness: no leader for 19900 ms')]);
  });

  it('reports a term whose token order disagrees with its start time beyond the skew', () => {
    const report = checkHistory([elected('b', 0, 12), lost('b', 100), elected('a', 500, 10), lost('a', 600)], [], options);
    expect(report.violations).toContainEqual(expect.stringContaining('clock: b (token 12) started 500 ms before a (token 10)'));
  });

  it('counts a write the fenced store accepted from a leader already superseded', () => {
    const events = [elected('a', 0, 10), elected('b', 2200, 12), lost('a', 3001, 'suspended')];
    const faults: Fault[] = [{ kind: 'sigstop', target: 'a', at: 100, healedAt: 3000 }];
    const fenced = checkHistory(events, faults, {
      ...options,
      writes: [
        { ts: 50, id: 'a', token: 10n, accepted: true },
        { ts: 2210, id: 'b', token: 12n, accepted: true },
        { ts: 3000.5, id: 'a', token: 10n, accepted: false },
      ],
    });
    expect(fenced.violations).toEqual([]);
    expect(fenced.writesFenced).toBe(1);
    const stale = checkHistory(events, faults, { ...options, writes: [{ ts: 3000.5, id: 'a', token: 10n, accepted: true }] });
    expect(stale.staleWritesAccepted).toBe(1);
    expect(stale.violations).toEqual([expect.stringContaining('stale write: a wrote with token 10')]);
  });

  it('counts, in the order the server committed them, guarded writes from a leader a larger token had superseded', () => {
    const events = [elected('a', 0, 10), lost('a', 100), elected('b', 101, 12)];
    const inOrder = checkHistory(events, [], {
      ...options,
      commits: [
        { seq: 0, id: 'a', token: 10n },
        { seq: 1, id: 'b', token: 12n },
        { seq: 2, id: 'b', token: 12n },
      ],
    });
    expect(inOrder.violations).toEqual([]);
    expect(inOrder.guardedCommits).toBe(3);

    const late = checkHistory(events, [], {
      ...options,
      commits: [
        { seq: 0, id: 'b', token: 12n },
        { seq: 1, id: 'a', token: 10n },
      ],
    });
    expect(late.guardedCommitsSuperseded).toBe(1);
    expect(late.violations).toEqual([expect.stringContaining('superseded commit: a committed record 1 with token 10 after b had committed with 12')]);

    const neverLed = checkHistory(events, [], { ...options, commits: [{ seq: 0, id: 'c', token: 11n }] });
    expect(neverLed.violations).toEqual([expect.stringContaining('commit without a term: c')]);
  });
});
