import { LeaderElection, Session } from './library.js';
import type { BackendName } from '../src/client/types.js';
import { requestTotal } from './probes.js';

export interface HerdResult {
  participants: number;
  changes: number;
  /** Participants that sent any request after a leader change, per change (max). */
  wokenPerChange: number;
  /** Requests sent by everyone after a leader change, per change (max). */
  requestsPerChange: number;
}

const recipeRequests = (session: Session) => requestTotal([session]);

/** N participants, each on its own session; the leader stops, we count who woke and what they sent. */
export async function herd(connect: string, backend: BackendName, participants: number, changes = 3): Promise<HerdResult> {
  const path = `/zk-leader-bench/herd-${backend}-${participants}-${process.pid}`;
  const sessions: Session[] = [];
  const elections: LeaderElection[] = [];
  // Join in batches: sessions in parallel, candidacies in order so the queue is p0, p1, ...
  for (let index = 0; index < participants; index++) {
    const session = new Session({ connect, backend, sessionTimeoutMs: 20_000 });
    sessions.push(session);
    elections.push(new LeaderElection({ session, path, id: `p${index}` }));
  }
  await Promise.all(sessions.map((session) => session.ready()));
  for (const election of elections) await election.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  let wokenPerChange = 0;
  let requestsPerChange = 0;
  for (let change = 0; change < changes; change++) {
    const before = sessions.map(recipeRequests);
    const elected = new Promise((resolve) => elections[change + 1]!.once('elected', resolve));
    await elections[change]!.stop();
    await elected;
    await new Promise((resolve) => setTimeout(resolve, 300)); // let any stray watch land
    const deltas = sessions.map((session, index) => (index > change ? recipeRequests(session) - before[index]! : 0));
    wokenPerChange = Math.max(wokenPerChange, deltas.filter((delta) => delta > 0).length);
    requestsPerChange = Math.max(
      requestsPerChange,
      deltas.reduce((a, b) => a + b, 0),
    );
  }
  await Promise.all(elections.map((election) => election.stop()));
  await Promise.all(sessions.map((session) => session.close()));
  return { participants, changes, wokenPerChange, requestsPerChange };
}
