import { channel } from 'node:diagnostics_channel';

// What the library reports for metrics, through Node's diagnostics channels (as undici
// does): publishing costs one `hasSubscribers` check while nobody listens, so a process that
// never imports `zk-leader/metrics` pays nothing, and any tool can subscribe by name.

/** A request finished: `outcome` is 'ok' or the error code (`NO_NODE`, `CONNECTION_LOSS`...). */
export interface RequestMessage {
  operation: string;
  durationMs: number;
  outcome: string;
}

/** A Session changed state, or was suspended or expired (with `reason`: why). */
export interface SessionMessage {
  session: object;
  state: 'connecting' | 'connected' | 'suspended' | 'closed';
  event?: 'suspended' | 'expired';
  reason?: string;
}

/** A participant's term began or ended, or a follower/observer saw the leader change. */
export type ElectionMessage =
  | { path: string; event: 'elected'; waitedMs: number }
  | { path: string; event: 'lost'; reason: string; heldMs: number }
  | { path: string; event: 'leader'; present: boolean; observer: object };

export const requestChannel = channel('zk-leader:request');
export const sessionChannel = channel('zk-leader:session');
export const electionChannel = channel('zk-leader:election');

/** Publishes `message` built only when someone listens. */
export function publish<T>(target: typeof requestChannel, message: () => T): void {
  if (target.hasSubscribers) target.publish(message());
}
