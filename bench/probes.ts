import { channel } from 'node:diagnostics_channel';
import type { LeaderElection, Session } from './library.js';

// What the benchmarks read off the library the same way everywhere: who a participant takes
// for the leader, the requests the recipes sent, and a bounded wait for cleanup.

/** Resolves with the leader's node name as this participant first knows it. */
export function settled(election: LeaderElection): Promise<string> {
  return new Promise((resolve) => {
    election.once('elected', () => resolve(election.nodeName!));
    election.once('follower', ({ leader }) => resolve(leader.node));
  });
}

/** Requests the sessions sent for the recipes, by operation (heartbeats left out). */
export function requestsByOperation(sessions: readonly Session[]): Record<string, number> {
  const byOperation: Record<string, number> = {};
  for (const session of sessions) {
    for (const [operation, count] of Object.entries(session.requestCounts)) {
      if (operation !== 'heartbeat') byOperation[operation] = (byOperation[operation] ?? 0) + count;
    }
  }
  return byOperation;
}

/** Requests the sessions sent for the recipes, heartbeats left out. */
export function requestTotal(sessions: readonly Session[]): number {
  return Object.values(requestsByOperation(sessions)).reduce((a, b) => a + b, 0);
}

/**
 * Counts the requests that have finished (answered or failed), heartbeats left out, from the
 * library's request channel: with `requestTotal`, whether anything sent is still unanswered.
 * `close()` unsubscribes.
 */
export function finishedRequests(): { readonly count: number; close(): void } {
  const requests = channel('zk-leader:request');
  let count = 0;
  const onMessage = (message: unknown) => {
    if ((message as { operation?: string }).operation !== 'heartbeat') count += 1;
  };
  requests.subscribe(onMessage);
  return {
    get count() {
      return count;
    },
    close: () => requests.unsubscribe(onMessage),
  };
}

/** Waits for `promise` (its failure ignored) at most `ms`: cleanup after a shape that never settled. */
export function within(promise: Promise<unknown>, ms = 10_000): Promise<unknown> {
  return Promise.race([promise.catch(() => {}), new Promise((resolve) => setTimeout(resolve, ms).unref())]);
}
