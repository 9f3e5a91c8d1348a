import { LeaderElection, Session } from '../src/index.js';
import type { BackendName } from '../src/client/types.js';

export interface CrowdResult {
  label: string;
  participants: number;
  sessions: number;
  /** From the first start() to every participant knowing the same leader. */
  agreeMs: number;
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

const requestsOf = (sessions: Session[]) => {
  const byOperation: Record<string, number> = {};
  for (const session of sessions) {
    for (const [operation, count] of Object.entries(session.requestCounts))
      if (operation !== 'heartbeat') byOperation[operation] = (byOperation[operation] ?? 0) + count;
  }
  return byOperation;
};
const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** Resolves with the leader's node name as this participant first knows it. */
function settled(election: LeaderElection): Promise<string> {
  return new Promise((resolve) => {
    election.once('elected', () => resolve(election.nodeName!));
    election.once('follower', ({ leader }) => resolve(leader.node));
  });
}

/**
 * One election with `sessionCount x perSession` participants (each session holds
 * `perSession` of them): the time until all agree on the leader, then who wakes and what is
 * sent per leader change, and the heap each participant costs.
 */
export async function crowd(connect: string, backend: BackendName, sessionCount: number, perSession: number, label: string, changes = 3): Promise<CrowdResult> {
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
  const startedAt = performance.now();
  const views = elections.map(settled);
  await Promise.all(elections.map((election) => election.start()));
  const leaders = new Set(await Promise.all(views));
  const agreeMs = performance.now() - startedAt;
  if (leaders.size !== 1) throw new Error(`${label}: participants disagree on the leader (${leaders.size} different)`);
  await new Promise((resolve) => setTimeout(resolve, 500));
  global.gc?.();
  const heapPerParticipantBytes = (process.memoryUsage().heapUsed - heapBefore) / elections.length;

  let wokenPerChange = 0;
  let requestsPerChange = 0;
  let requestsByOperation: Record<string, number> = {};
  const running = new Set(elections);
  for (let change = 0; change < changes; change++) {
    const leader = [...running].find((election) => election.isLeader);
    if (!leader) throw new Error(`${label}: no leader before change ${change}`);
    running.delete(leader);
    const before = new Map([...running].map((election) => [election, evaluations.get(election) ?? 0]));
    const requestsBefore = requestsOf(sessions);
    const elected = Promise.race([...running].map((election) => new Promise((resolve) => election.once('elected', resolve))));
    await leader.stop();
    await elected;
    // Let any stray watch land before counting.
    await new Promise((resolve) => setTimeout(resolve, 500));
    wokenPerChange = Math.max(wokenPerChange, [...running].filter((election) => (evaluations.get(election) ?? 0) > before.get(election)!).length);
    const after = requestsOf(sessions);
    const sent = total(after) - total(requestsBefore);
    if (sent >= requestsPerChange) {
      requestsPerChange = sent;
      requestsByOperation = Object.fromEntries(
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
    requestsByOperation,
    ...(global.gc ? { heapPerParticipantBytes } : {}),
  };
}
