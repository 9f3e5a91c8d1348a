import type { SessionState } from './session-state.js';

/**
 * What a readiness probe needs from one object, as plain JSON (no bigint, no Date): `ok`,
 * and when it is not, `reason` in words. Every `health()` returns at least this.
 */
export interface Health {
  /** True when the object does its job right now. */
  ok: boolean;
  /** Why `ok` is false, in words (`'session suspended'`, `'stopped'`), or null. */
  reason: string | null;
  /** The ZooKeeper session's state, or null before there is a session. */
  sessionState: SessionState | null;
  /** Milliseconds since the server last answered this session, or null with no live session. */
  lastHeardMs: number | null;
}

/** `Session.health()`. */
export interface SessionHealth extends Health {
  /** The session's state (the same as `sessionState`). */
  state: SessionState;
  /** The session id (16 hex digits), or null while there is none. */
  sessionId: string | null;
  /** The session timeout the server granted (the requested one before the first connect). */
  sessionTimeoutMs: number;
  /** Suspensions (a dropped or silent connection) since this Session was made. */
  suspensions: number;
  /** Sessions lost (expired at the server or by the local clock) since this Session was made. */
  expiries: number;
}

/** `LeaderElection.health()`. */
export interface ElectionHealth extends Health {
  /** `idle` before `start()`, `running`, `stopping`, `stopped`. */
  state: 'idle' | 'running' | 'stopping' | 'stopped';
  /** `leader` while it leads, `follower` while it has a node in the queue, else `none`. */
  role: 'leader' | 'follower' | 'none';
  /** This participant's znode name, while it holds one. */
  node: string | null;
  /** The current term's fencing token as a decimal string, while leading. */
  fencingToken: string | null;
  /** The leader as this participant last learned it (itself while leading), or null. */
  leader: {
    /** The leader's id. */
    id: string;
    /** Its znode name. */
    node: string;
  } | null;
}

/** `LeaderObserver.health()`. */
export interface ObserverHealth extends Health {
  /** `idle` before `start()`, `running`, `closed`. */
  state: 'idle' | 'running' | 'closed';
  /** The leader as last seen, or null while nobody leads. */
  leader: {
    /** The leader's id. */
    id: string;
    /** Its znode name. */
    node: string;
    /** Its fencing token, as a decimal string. */
    fencingToken: string;
  } | null;
}

/** `Membership.health()`. */
export interface MembershipHealth extends Health {
  /** `idle` before `join()`/`watch()`, `running`, `closed`. */
  state: 'idle' | 'running' | 'closed';
  /** The group this member joined or watches, or null. */
  group: string | null;
  /** Whether this process's own member node is in place (false when it only watches). */
  joined: boolean;
  /** Members seen at the last read. */
  members: number;
}

/** The `sessionState`/`lastHeardMs` part of a health report, from a session's own. */
export function sessionPart(session: { health(): SessionHealth } | null): Pick<Health, 'sessionState' | 'lastHeardMs'> {
  const health = session?.health() ?? null;
  return { sessionState: health?.state ?? null, lastHeardMs: health?.lastHeardMs ?? null };
}
