import { describe, expect, it } from 'vitest';
import { checkHistory, type Fault, type WorkerEvent } from '../chaos/history.js';

const options = { sessionTimeoutMs: 2000, livenessMarginMs: 1000 };
const elected = (id: string, ts: number, token: number): WorkerEvent => ({ id, ts, event: 'elected', fencingToken: String(token) });
const lost = (id: string, ts: number, reason = 'stopped'): WorkerEvent => ({ id, ts, event: 'lost', reason });

describe('the chaos history checker', () => {
  it('accepts clean handovers with growing tokens', () => {
    const report = checkHistory([elected('a', 0, 10), lost('a', 100), elected('b', 101, 12), lost('b', 500), elected('a', 501, 15)], [], options);
    expect(report.violations).toEqual([]);
    expect(report.terms.map((term) => [term.id, term.token])).toEqual([['a', 10n], ['b', 12n], ['a', 15n]]);
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
    expect(report.violations).toEqual([expect.stringContaining('token order: b took token 9')]);
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
