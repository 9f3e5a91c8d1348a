import { LeaderElection } from './library.js';
import type { BackendName } from '../src/client/types.js';
import { startWorker, type ExampleProcess } from '../examples/support/processes.js';

const now = () => performance.now();

function electedOnce(election: LeaderElection): Promise<number> {
  return new Promise((resolve) => election.once('elected', () => resolve(now())));
}

/**
 * Graceful failover in one process: the leader calls stop(), we time until the next
 * participant's `elected`. A fresh participant re-fills the queue between rounds.
 */
export async function gracefulFailover(connect: string, backend: BackendName, rounds: number): Promise<number[]> {
  const path = `/zk-leader-bench/graceful-${backend}-${process.pid}`;
  // Resolves once the participant has settled: leading, or watching its predecessor.
  const join = async () => {
    const election = new LeaderElection({ connect, path, backend, sessionTimeoutMs: 10_000 });
    const settled = new Promise((resolve) => {
      election.once('elected', resolve);
      election.once('follower', resolve);
    });
    await election.start();
    await settled;
    return election;
  };
  let leader = await join();
  let next = await join();
  const latencies: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const elected = electedOnce(next);
    const stoppedAt = now();
    const stopping = leader.stop();
    latencies.push((await elected) - stoppedAt);
    await stopping;
    leader = next;
    next = await join();
  }
  await Promise.all([leader.stop(), next.stop()]);
  return latencies;
}

/** Starts a worker.ts process and resolves once it has joined (leading or following). */
async function joinedWorker(connect: string, path: string, id: string, sessionTimeoutMs: number): Promise<ExampleProcess> {
  const worker = startWorker({ connect, path, id, sessionTimeoutMs });
  await worker.waitForLine((line) => /"event":"(elected|follower)"/.test(line));
  return worker;
}

/**
 * Handover between processes: SIGTERM (releaseOnSignals) or kill -9 to the leading
 * worker.ts, wall-clock time until the next process prints `elected`.
 */
export async function processHandover(connect: string, signal: 'SIGTERM' | 'SIGKILL', rounds: number, sessionTimeoutMs: number): Promise<number[]> {
  const path = `/zk-leader-bench/${signal.toLowerCase()}-${process.pid}`;
  const latencies: number[] = [];
  let leader = await joinedWorker(connect, path, 'bench-0', sessionTimeoutMs);
  let next = await joinedWorker(connect, path, 'bench-1', sessionTimeoutMs);
  for (let round = 0; round < rounds; round++) {
    const signalledAt = performance.timeOrigin + performance.now();
    leader.signal(signal);
    const elected = await next.waitForEvent('elected', undefined, sessionTimeoutMs * 3);
    latencies.push((elected.ts as number) - signalledAt);
    await leader.exited;
    leader = next;
    next = await joinedWorker(connect, path, `bench-${round + 2}`, sessionTimeoutMs);
  }
  leader.signal('SIGKILL');
  next.signal('SIGKILL');
  return latencies;
}
