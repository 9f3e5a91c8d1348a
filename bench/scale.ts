import { LeaderElection, Session } from './library.js';
import type { BackendName } from '../src/client/types.js';
import { settled } from './probes.js';

export interface ScaleResult {
  label: string;
  participants: number;
  sessions: number;
  elections: number;
  /** From the first start() to every participant knowing the same leader of its election. */
  agreeMs: number;
  heapPerElectionBytes?: number;
}

/**
 * `sessions` sessions, `elections` elections, every session taking part in every election
 * (participants = sessions x elections); times the join until all agree on each leader.
 */
export async function scale(
  connect: string,
  backend: BackendName,
  sessionCount: number,
  electionCount: number,
  label: string,
  /** Runs while every election is settled (to read the server's watch count, say). */
  whileSettled?: () => Promise<void>,
): Promise<ScaleResult> {
  const root = `/zk-leader-bench/scale-${backend}-${sessionCount}x${electionCount}-${process.pid}`;
  const sessions = Array.from({ length: sessionCount }, () => new Session({ connect, backend, sessionTimeoutMs: 30_000 }));
  await Promise.all(sessions.map((session) => session.ready()));
  await sessions[0]!.ensurePath(root);
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const elections = sessions.flatMap((session) =>
    Array.from({ length: electionCount }, (_, index) => new LeaderElection({ session, path: `${root}/e${index}` })),
  );
  const startedAt = performance.now();
  const views = elections.map(settled);
  await Promise.all(elections.map((election) => election.start()));
  const leaders = await Promise.all(views);
  const agreeMs = performance.now() - startedAt;
  for (let index = 0; index < electionCount; index++) {
    const seen = new Set(leaders.filter((_, position) => position % electionCount === index));
    if (seen.size !== 1) throw new Error(`election e${index}: participants disagree on the leader (${[...seen].join(', ')})`);
  }
  const heapPerElectionBytes = ((await idleHeapUsed()) - heapBefore) / elections.length;
  await whileSettled?.();
  await Promise.all(elections.map((election) => election.stop()));
  await Promise.all(sessions.map((session) => session.close()));
  return {
    label,
    participants: elections.length,
    sessions: sessionCount,
    elections: electionCount,
    agreeMs,
    ...(global.gc ? { heapPerElectionBytes } : {}),
  };
}

/**
 * The heap once the elections are idle: the last `elected` comes before the leaders' record
 * writes are answered, so the heap is sampled (after a collection) until it holds still,
 * two samples a quarter second apart within 0.5% of each other, for 15 s at most.
 */
async function idleHeapUsed(): Promise<number> {
  const sample = () => {
    global.gc?.();
    return process.memoryUsage().heapUsed;
  };
  let last = sample();
  for (const deadline = performance.now() + 15_000; performance.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = sample();
    if (Math.abs(now - last) <= last * 0.005) return now;
    last = now;
  }
  return last;
}
