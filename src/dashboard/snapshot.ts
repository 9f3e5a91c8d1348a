// What the dashboard pushes to its pages, as plain JSON. Shared by the server (view.ts) and
// the page's script (browser/app.ts), which is compiled on its own: so no imports here.

/** A participant of an election (its token as a string: JSON has no bigint). */
export interface ParticipantView {
  id: string;
  data: unknown;
  /** `zk-leader`, `kazoo`, `curator-latch`, ...; null for another program's node. */
  recipe: string | null;
  node: string;
  sequence: number;
  sessionId: string;
  fencingToken: string;
  /** When its node was created (the server's clock, ms since the epoch). */
  createdAtMs: number;
}

/** One election as the dashboard shows it. */
export interface ElectionView {
  path: string;
  /** The queue, leader first; empty when nobody leads. */
  participants: ParticipantView[];
  /** When the current leader's term began (its leader record, else when the dashboard first saw it), ms since the epoch. */
  termSince: number | null;
  /** Since when the election has had no leader, while it has none (null before a first leader was seen). */
  leaderlessSince: number | null;
}

/** A group member as Membership reads it. */
export interface MemberView {
  id: string;
  data: unknown;
  status: string;
  details?: unknown;
  health?: { pid: number; heapUsedBytes: number; uptimeSeconds: number; load: number };
  /** When the member last wrote its record (ms since the epoch). */
  updatedAt: number;
  sessionId: string;
  joinedAt: number;
}

/** One group's members. */
export interface GroupView {
  path: string;
  members: MemberView[];
  /** Why the group cannot be read right now (no such node, no access), or null. */
  problem: string | null;
}

/**
 * A leader or membership change, in the order the dashboard saw them: `seq` counts from 1 in
 * the dashboard process, `at` is its wall clock (ms since the epoch).
 */
export type TimelineEntry = { seq: number; at: number } & (
  | { kind: 'leader'; path: string; from: string | null; to: string; token: string; gapMs: number | null }
  | { kind: 'leaderless'; path: string; from: string }
  | { kind: 'joined' | 'left'; group: string; id: string }
  | { kind: 'status'; group: string; id: string; status: string }
);

/** Everything a page shows. */
export interface ClusterSnapshot {
  root: string;
  connected: boolean;
  /** Since when the dashboard has had no connection to ZooKeeper, or null. */
  disconnectedSince: number | null;
  elections: ElectionView[];
  groups: GroupView[];
  /** The latest changes, oldest first. */
  timeline: TimelineEntry[];
  /** How many nodes under the root the dashboard watches. */
  nodes: number;
  /** Members whose record is older than this are shown as stale. */
  staleAfterMs: number;
}
