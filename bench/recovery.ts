import { LeaderElection, Session } from './library.js';
import type { BackendName } from '../src/client/types.js';
import { finishedRequests, requestTotal, within } from './probes.js';
import { fourLetterWord, type ZooKeeperHandle } from '../src/testing/index.js';

export interface RecoveryResult {
  fault: 'server restart' | 'ensemble leader killed';
  shape: string;
  elections: number;
  /** From the fault until every election has a leader that its participants agree on again. */
  recoveredMs: number;
  /** Requests the recipes sent after the fault (heartbeats not counted), per election. */
  requestsPerElection: number;
  /** Whether any session expired (then every participant joins again, by design). */
  expired: number;
  /** Why the run could not be made (its sessions never connected, say). */
  failed?: string;
  /** When recovery took longer than the limit: elections with a leader then. */
  leadingAtLimit?: number;
}

/**
 * `sessionCount` sessions each in `perSession` elections (two participants per election, on
 * two sessions, so each election has a leader and a follower), then a fault: the standalone
 * server restarted, or the ensemble's leader killed. Times until every election has a leader
 * again and counts what the recipes sent to get there.
 */
export async function recovery(
  zookeeper: ZooKeeperHandle,
  backend: BackendName,
  fault: RecoveryResult['fault'],
  sessionCount: number,
  electionCount: number,
  shape: string,
  /** Give up after this long (recoveredMs NaN). */
  limitMs = 60_000,
): Promise<RecoveryResult> {
  const connect = zookeeper.connectString;
  const root = `/zk-leader-bench/recovery-${backend}-${sessionCount}x${electionCount}-${process.pid}-${Date.now()}`;
  const sessions = Array.from({ length: sessionCount }, () => new Session({ connect, backend, sessionTimeoutMs: 20_000 }));
  // Every request these sessions send, answered or failed (nothing else runs meanwhile).
  const finished = finishedRequests();
  try {
    await Promise.all(sessions.map((session) => session.ready()));
  } catch (error) {
    // Leave nothing connecting behind to slow the shapes after this one.
    finished.close();
    await within(Promise.all(sessions.map((session) => session.close())));
    throw error;
  }
  await sessions[0]!.ensurePath(root);
  let expired = 0;
  for (const session of sessions) session.on('expired', () => (expired += 1));
  // With one session, each election's participants share it; otherwise session i holds
  // election i mod electionCount's participant.
  const elections = sessions.flatMap((session) =>
    Array.from({ length: electionCount }, (_, index) => new LeaderElection({ session, path: `${root}/e${index}` })),
  );
  for (const election of elections) election.on('error', () => {});
  await Promise.all(elections.map((election) => election.start()));
  const led = () => {
    const leading = new Set<number>();
    elections.forEach((election, index) => election.isLeader && leading.add(index % electionCount));
    return leading.size;
  };
  while (led() < electionCount) await new Promise((resolve) => setTimeout(resolve, 20));
  // The fault comes once every request is answered. Each new leader writes its leader record
  // after it leads, and those writes can take a few hundred milliseconds for 1,000 elections: a
  // fault while some are still unanswered costs their terms a second write after the
  // reconnect, on a backend that had sent them, and nothing on one that still held them unsent
  // (node-zookeeper-client sends such requests in the next connection). That measured where
  // the fault fell, not the recovery: 1.0 to 2.6 requests per election on builtin, run to run.
  const answeredBy = performance.now() + 10_000;
  while (finished.count < requestTotal(sessions) && performance.now() < answeredBy) await new Promise((resolve) => setTimeout(resolve, 20));
  finished.close();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = requestTotal(sessions);
  const faultAt = performance.now();
  if (fault === 'server restart') await zookeeper.servers[0]!.restart();
  else {
    const leader = await ensembleLeader(zookeeper);
    await leader.kill();
    void leader.restart();
  }
  // Every session has noticed (suspended) and come back, and every election leads again.
  await new Promise((resolve) => setTimeout(resolve, 50));
  while (sessions.some((session) => session.state !== 'connected') || led() < electionCount) {
    if (performance.now() - faultAt > limitMs) {
      // Not recovered: report it, and leave without waiting on what may never answer.
      const requestsPerElection = (requestTotal(sessions) - before) / electionCount;
      await within(Promise.all(elections.map((election) => election.stop())));
      await within(Promise.all(sessions.map((session) => session.close())));
      return { fault, shape, elections: electionCount, recoveredMs: Number.NaN, requestsPerElection, expired, leadingAtLimit: led() };
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const recoveredMs = performance.now() - faultAt;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const requestsPerElection = (requestTotal(sessions) - before) / electionCount;
  await Promise.all(elections.map((election) => election.stop()));
  await Promise.all(sessions.map((session) => session.close()));
  return { fault, shape, elections: electionCount, recoveredMs, requestsPerElection, expired };
}

async function ensembleLeader(zookeeper: ZooKeeperHandle) {
  for (const server of zookeeper.servers) {
    const reply = await fourLetterWord(server.host, server.clientPort, 'srvr');
    if (reply?.includes('Mode: leader')) return server;
  }
  throw new Error('no server of the ensemble says it leads');
}
