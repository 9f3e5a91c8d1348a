// What the dashboard pushes to its pages, as plain JSON. Shared by the server (view.ts) and
// the page's script (browser/app.ts), which is compiled on its own: so no imports here.

/**
 * What the servers' `cons` say of a session's connection. `connected`: a server holds it and
 * has answered it within its timeout; `listed`: a server holds it, not yet seen answering
 * (the dashboard has just started); `none`: no server holds a connection for it, or only one
 * it has not answered for its timeout (a crashed or partitioned process: its nodes stay until
 * the session expires), `since` when; `unknown`: not every server answers `cons`.
 */
export type ConnectionView = { state: 'connected' | 'listed' | 'unknown' } | { state: 'none'; since: number };

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
  /** Its session's connection, from the servers' `cons`. */
  connection: ConnectionView;
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
  /** Its session's connection, from the servers' `cons`. */
  connection: ConnectionView;
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

/**
 * How a term ended, as far as ZooKeeper shows it. `released`: the leader's node went while its
 * session was connected and the session closed right after (a stop: zk-leader deletes its node,
 * then closes its session). `deleted`: the node went while its session lived on (a resign, or
 * another client deleted it: ZooKeeper does not record who deletes a node). `expired`: the
 * node went with a session no server held a connection for (a crash or a partition: the
 * server expired it). `election-removed`: the election's node itself went. `unknown`: the
 * dashboard could not tell (the servers do not allow `cons`, say); `causeDetail` says why.
 */
export type TermCause = 'released' | 'deleted' | 'expired' | 'election-removed' | 'unknown';

/** One leader's term, as the dashboard process saw it. */
export interface TermView {
  leader: string;
  node: string;
  sessionId: string;
  /** Its fencing token (the node's czxid), as a string. */
  token: string;
  /** When it began to lead (ms since the epoch). */
  startedAt: number;
  /** `seen`: when the dashboard saw it take over; `leader-record`: the time its leader record gives (a term under way when the dashboard started). */
  startSource: 'seen' | 'leader-record';
  /** When its node went, or null while it leads. */
  endedAt: number | null;
  /** Null while it leads; `pending` for the second or so the dashboard looks at the servers. */
  cause: TermCause | 'pending' | null;
  /** What the cause rests on, in words. */
  causeDetail: string | null;
  /** For an expiry: since when no server held the leader's connection (it could not act, yet held its node). */
  unreachableSince: number | null;
}

/** One election's terms since the dashboard started, oldest first (at most `historyLength`). */
export interface ElectionHistory {
  path: string;
  terms: TermView[];
  /** Terms dropped from the front to keep the bound. */
  dropped: number;
}

/** `ok`, or the server answered that `4lw.commands.whitelist` does not name the word, or nothing answered. */
export type FourLetterWordState = 'ok' | 'not-allowed' | 'no-answer';

/** One server of the connect string, from its four-letter words. */
export interface ServerView {
  /** host:port as in the connect string. */
  address: string;
  /** When the dashboard last asked (ms since the epoch), null before the first round. */
  checkedAt: number | null;
  words: { srvr: FourLetterWordState; mntr: FourLetterWordState; cons: FourLetterWordState };
  version: string | null;
  /** standalone, leader, follower, observer; null when unknown. */
  mode: string | null;
  latencyMs: { min: number; avg: number; max: number } | null;
  outstanding: number | null;
  connections: number | null;
  nodeCount: number | null;
  zxid: string | null;
  /** On a leader (mntr): followers in sync. */
  followers: number | null;
  /** What the server did not tell, in words, or null. */
  problem: string | null;
}

/** Everything a page shows. */
export interface ClusterSnapshot {
  root: string;
  /** When the dashboard process started watching (ms since the epoch): the history begins here. */
  startedAt: number;
  /** Per election (also ones that are gone), the last terms. */
  history: ElectionHistory[];
  /** The connect string's servers; empty when the dashboard was not given them. */
  ensemble: { servers: ServerView[]; pollMs: number };
  connected: boolean;
  /** Since when the dashboard has had no connection to ZooKeeper, or null. */
  disconnectedSince: number | null;
  elections: ElectionView[];
  groups: GroupView[];
  /** The latest changes since the dashboard started, oldest first. */
  timeline: TimelineEntry[];
  /** How many nodes under the root the dashboard watches. */
  nodes: number;
  /** Members whose record is older than this are shown as stale. */
  staleAfterMs: number;
}
