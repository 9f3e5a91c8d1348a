import { LeaderElection, Session } from './library.js';
import type { BackendName } from '../src/client/types.js';
import { requestsByOperation, settled, within } from './probes.js';

export interface CrowdResult {
  label: string;
  participants: number;
  sessions: number;
  /** From the first start() to every participant knowing the same leader; NaN when that took longer than the limit. */
  agreeMs: number;
  /** When the limit was hit: how many participants had settled by then. */
  settledInLimit?: number;
  /** Leader changes measured (the leader stops; the next is elected). */
  changes: number;
  /** Participants that evaluated (were woken) after a leader change, worst change. */
  wokenPerChange: number;
  /** Requests sent by all sessions after a leader change (the old leader's delete included), worst change. */
  requestsPerChange: number;
  /** The worst change's requests by operation. */
  requestsByOperation: Record<string, number>;
  heapPerParticipantBytes?: number;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * One election with `sessionCount x perSession` participants (each session holds
 * `perSession` of them): the time until all agree on the leader, then who wakes and what is
 * sent per leader change, and the heap each participant costs.
 */
export async function crowd(
  connect: string,
  backend: BackendName,
  sessionCount: number,
  perSession: number,
  label: string,
  changes = 3,
  /** Give up when not every participant has settled by then (agreeMs NaN, settledInLimit says how many had). */
  limitMs = 120_000,
): Promise<CrowdResult> {
  const path = `/zk-leader-bench/crowd-${backend}-${sessionCount}x${perSession}-${process.pid}`;
  const sessions = Array.from({ length: sessionCount }, () => new Session({ connect, backend, sessionTimeoutMs: 30_000 }));
  await Promise.all(sessions.map((session) => session.ready()));
  await sessions[0]!.ensurePath(path);
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const elections = sessions.flatMap((session) => Array.from({ length: perSession }, () => new LeaderElection({ session, path })));
  // Who evaluates: counted on the election's one private entry point (a benchmark's probe).
  const evaluations = new Map<LeaderElection, number>();
  for (const election of elections) {
    const probe = election as unknown as { evaluate: () => Promise<void> };
    const evaluate = probe.evaluate.bind(election);
    probe.evaluate = () => {
      evaluations.set(election, (evaluations.get(election) ?? 0) + 1);
      return evaluate();
    };
  }
  const latest = new Map<LeaderElection, string>();
  for (const election of elections) {
    election.on('elected', () => latest.set(election, election.nodeName!));
    election.on('follower', ({ leader }) => latest.set(election, leader.node));
    election.on('error', () => {});
  }
  /** A shape that did not settle in the limit: leave what joined, without waiting on what may never answer. */
  const notSettled = async (settledInLimit: number): Promise<CrowdResult> => {
    await within(Promise.all(elections.map((election) => election.stop())));
    await within(Promise.all(sessions.map((session) => session.close())));
    return {
      label,
      participants: elections.length,
      sessions: sessionCount,
      agreeMs: Number.NaN,
      settledInLimit,
      changes: 0,
      wokenPerChange: 0,
      requestsPerChange: 0,
      requestsByOperation: {},
    };
  };
  const startedAt = performance.now();
  const views = elections.map(settled);
  let settledCount = 0;
  for (const view of views) void view.then(() => (settledCount += 1));
  const joined = Promise.all(elections.map((election) => election.start())).then(() => Promise.all(views));
  const outcome = await Promise.race([joined, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), limitMs).unref())]);
  if (outcome === 'timeout') {
    // Give up on this shape: leave what joined, without waiting on what may never answer.
    joined.catch(() => {});
    return notSettled(settledCount);
  }
  // Each one's first view may name a leader that went during the join (a session lost under
  // the load): agreement is every participant's latest view naming one leader.
  while (new Set(latest.values()).size !== 1 || latest.size !== elections.length) {
    if (performance.now() - startedAt > limitMs) {
      // Joined, but their views never came to one leader in the limit: this shape did not
      // settle (reported as such), and the run goes on with the next.
      const counts = new Map<string, number>();
      for (const view of latest.values()) counts.set(view, (counts.get(view) ?? 0) + 1);
      return notSettled(Math.max(0, ...counts.values()));
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  void outcome;
  const agreeMs = performance.now() - startedAt;
  await new Promise((resolve) => setTimeout(resolve, 500));
  global.gc?.();
  const heapPerParticipantBytes = (process.memoryUsage().heapUsed - heapBefore) / elections.length;

  let wokenPerChange = 0;
  let requestsPerChange = 0;
  let worstByOperation: Record<string, number> = {};
  const running = new Set(elections);
  for (let change = 0; change < changes; change++) {
    const leader = [...running].find((election) => election.isLeader);
    if (!leader) throw new Error(`${label}: no leader before change ${change}`);
    running.delete(leader);
    const before = new Map([...running].map((election) => [election, evaluations.get(election) ?? 0]));
    const requestsBefore = requestsByOperation(sessions);
    const elected = Promise.race([...running].map((election) => new Promise((resolve) => election.once('elected', resolve))));
    await leader.stop();
    await elected;
    // Let any stray watch land before counting.
    await new Promise((resolve) => setTimeout(resolve, 500));
    wokenPerChange = Math.max(wokenPerChange, [...running].filter((election) => (evaluations.get(election) ?? 0) > before.get(election)!).length);
    const after = requestsByOperation(sessions);
    const sent = total(after) - total(requestsBefore);
    if (sent >= requestsPerChange) {
      requestsPerChange = sent;
      worstByOperation = Object.fromEntries(
        Object.entries(after)
          .map(([operation, count]) => [operation, count - (requestsBefore[operation] ?? 0)])
          .filter(([, n]) => n !== 0),
      );
    }
  }
  await Promise.all(elections.map((election) => election.stop()));
  await Promise.all(sessions.map((session) => session.close()));
  return {
    label,
    participants: elections.length,
    sessions: sessionCount,
    agreeMs,
    changes,
    wokenPerChange,
    requestsPerChange,
    requestsByOperation: worstByOperation,
    ...(global.gc ? { heapPerParticipantBytes } : {}),
  };
}
