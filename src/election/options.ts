import type { LeaderInfo } from '../candidate.js';
import type { AclEntry, BackendName, DigestAuth, SaslOption, TlsOption } from '../client/types.js';
import type { RetryOptions } from '../backoff.js';
import type { LossReason, ZkLeaderError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RecipeName } from '../recipes.js';
import type { Runtime } from '../runtime.js';
import { sessionOptionNames, type Session } from '../session.js';

/** A leadership term: what `elected` carries and `waitForLeadership()` resolves with. */
export interface ElectedEvent {
  /**
   * The term's fencing token (the leader znode's czxid): strictly greater than every earlier
   * term's. Pass it to what the leader writes, so a store can refuse a deposed leader.
   */
  fencingToken: bigint;
  /** Aborts the moment this leadership term ends, for any reason. */
  signal: AbortSignal;
}

/** A follower's place: what `follower` carries. */
export interface FollowerEvent {
  /** The participant at the head of the queue. */
  leader: LeaderInfo;
  /** This participant's place behind it: 1 is next in line. */
  position: number;
}

/** Why a term ended: what `lost` carries. */
export interface LostEvent {
  /** `stopped`, `resigned`, `suspended`, `expired`, `node-deleted`, `superseded`, ... */
  reason: LossReason;
}

/** The events of a LeaderElection and their payloads. */
export interface LeaderElectionEvents {
  /** This participant leads: a new term, with its fencing token and AbortSignal. */
  elected: [event: ElectedEvent];
  /** The term ended (after `elected`), with the reason. */
  lost: [event: LostEvent];
  /**
   * This participant follows: emitted when its own listing of the queue shows a new leader or
   * position, that is when it joins, when its predecessor leaves, and after a reconnect. A
   * follower watches only its predecessor, so one further back hears of a leader change only
   * when its own place changes: use `trackLeader` (and the `leader` event) to hear of every one.
   */
  follower: [event: FollowerEvent];
  /** With `trackLeader`: the leader changed (null while nobody leads). */
  leader: [leader: LeaderInfo | null];
  /** The connection dropped or went silent; under `onSuspend: 'release'` the term ended. */
  suspended: [];
  /** The same session is back after a suspension. */
  reconnected: [];
  /** The ZooKeeper session was lost; the election rejoins on a new one by itself. */
  expired: [];
  /** `stop()` finished (or a shared session was closed): the election is done. */
  stopped: [];
  /** Something went wrong that the election carries on through (a listener threw, a step failed). */
  error: [error: ZkLeaderError];
}

/**
 * One change of `changes()`: the events `elected`, `lost`, `follower` and `leader` as a
 * discriminated union on `type`, with the same fields.
 */
export type ElectionChange =
  | ({
      /** This participant leads: a new term. */
      type: 'elected';
    } & ElectedEvent)
  | ({
      /** The term ended. */
      type: 'lost';
    } & LostEvent)
  | ({
      /** This participant follows; the leader or its position changed. */
      type: 'follower';
    } & FollowerEvent)
  | {
      /** With `trackLeader`: the leader changed. */
      type: 'leader';
      /** The new leader, or null while nobody leads. */
      leader: LeaderInfo | null;
    };

/** Options of `new LeaderElection()`: `path`, and `connect` or `session`; the rest is optional. */
export interface LeaderElectionOptions {
  /** The election's znode; created with its parents if missing. */
  path: string;
  /** A connect string: the election owns a session of its own and closes it on `stop()`. */
  connect?: string;
  /** Or a shared Session, left open on `stop()`. */
  session?: Session;
  /** This participant's id. Default `<hostname>-<pid>`. */
  id?: string;
  /** JSON published with the candidacy (at most 1 MB), e.g. the address to reach the leader. */
  data?: unknown;
  /** For an own session. Default 10 000 ms. */
  sessionTimeoutMs?: number;
  /** For an own session. Default 15 000 ms. */
  connectTimeoutMs?: number;
  /** For an own session. Default 'builtin'. */
  backend?: BackendName;
  /** For an own session: digest credentials. */
  auth?: DigestAuth | DigestAuth[];
  /** For an own session: TLS to the servers' secureClientPort (see `SessionOptions.tls`). Builtin backend only. */
  tls?: TlsOption;
  /** For an own session: a SASL DIGEST-MD5 login (see `SessionOptions.sasl`). Builtin backend only. */
  sasl?: SaslOption;
  /**
   * For an own session: the servers' `jute.maxbuffer`, if raised (a shared session has its
   * own). `data` that would make our node's create larger is refused at construction.
   * Default 1,048,575, ZooKeeper's default.
   */
  juteMaxBufferBytes?: number;
  /** ACL of the nodes this election creates. Default open (world:anyone). */
  acl?: readonly AclEntry[];
  /**
   * `release` (default): leadership ends as soon as the connection is suspended, so the old
   * leader has stopped before the server can expire its session and elect another.
   * `hold`: leadership ends only when the session is known to be lost.
   */
  onSuspend?: 'release' | 'hold';
  /**
   * Backoff for retrying a failed election step, and for an own session's attempts at a new
   * session: exponential with full jitter. Default `{ initialMs: 200, maxMs: 5000 }`.
   */
  retry?: RetryOptions;
  /**
   * Wait this long after winning before `elected`, so an old leader can finish. The wait ends
   * with one `exists` of our node: a node deleted meanwhile is never announced. Default 0.
   */
  takeoverDelayMs?: number;
  /** Followers emit `leader` on every change: one extra watch (on the election node's data) each. */
  trackLeader?: boolean;
  /** Stop cleanly (hand over at once) on these signals, e.g. `['SIGTERM']`; `true` means SIGTERM and SIGINT. Not SIGKILL or SIGSTOP. */
  releaseOnSignals?: boolean | NodeJS.Signals[];
  /**
   * How this participant's node is named and what it holds, so that other libraries'
   * participants on the same path count it as one of theirs: `zk-leader` (default),
   * `curator-latch` (Curator's LeaderLatch), `curator-selector` (Curator's LeaderSelector),
   * `kazoo` (kazoo's Election), `single-node` (one ephemeral node at `lockName` that every
   * participant races to create). Every recipe's nodes are read whatever this one is; a
   * participant never leads while the path holds a candidate of another recipe, which would
   * not see it (error RECIPE_MISMATCH). The peers' recipes publish only the id, not `data`.
   */
  recipe?: RecipeName;
  /** The `single-node` recipe's node name under `path`. Default `lock`. */
  lockName?: string;
  /** Prefix of this participant's znode name (letters, digits, '_', '.'); zk-leader recipe only. Default ''. */
  prefix?: string;
  /** Where the election logs (pino-compatible: debug/info/warn/error). Default: silent. */
  logger?: Logger;
  /**
   * For an own session: time, randomness and the client library, for simulations.
   * @internal
   */
  runtime?: Partial<Runtime>;
}

/** Every option name of `LeaderElectionOptions` (the compiler keeps it complete), for the unknown-name check. @internal */
const { connect: connectOption, ...otherSessionOptionNames } = sessionOptionNames;
export const electionOptionNames: Record<keyof LeaderElectionOptions, true> = {
  path: true,
  connect: connectOption,
  session: true,
  id: true,
  data: true,
  // For an own session: every Session option is one of ours too.
  ...otherSessionOptionNames,
  acl: true,
  onSuspend: true,
  takeoverDelayMs: true,
  trackLeader: true,
  releaseOnSignals: true,
  recipe: true,
  lockName: true,
  prefix: true,
};

/** What the constructor takes: the options, with `connect` or `session` (one of them) required. */
export type LeaderElectionInit = LeaderElectionOptions &
  (
    | {
        /** A connect string: the election owns a session of its own. */
        connect: string;
        /** Not with `connect`. */
        session?: undefined;
      }
    | {
        /** A shared Session, left open on `stop()`. */
        session: Session;
        /** Not with `session`. */
        connect?: undefined;
      }
  );

/** Where a LeaderElection is in its life. @internal */
export type ElectionState = 'idle' | 'running' | 'stopping' | 'stopped';
