import type { Candidacy } from '../candidacy.js';
import { readParticipant, type LeaderInfo } from '../candidate.js';
import { isConnectionError, isZooKeeperError, toZkLeaderError, type ZkLeaderError } from '../errors.js';
import { parseLeaderRecord, publishLeaderRecord } from '../leader-record.js';
import type { Logger } from '../logger.js';
import type { Term } from './term.js';

/**
 * The leader's side of the leader record (see src/leader-record.ts): each announced term
 * writes it once, unless the record already holds the term's token.
 * @internal
 */
export class LeaderRecordWriter {
  /** The token whose leader record is in place (written by us, or one at least as new found there). */
  private recordToken: bigint | null = null;

  /** @param host the election. */
  constructor(private readonly host: RecordWriterHost) {}

  /** `term` was announced: write the record naming its node, unless it is there already. */
  publish(term: Term): void {
    const { candidacy, fencingToken } = term;
    const node = candidacy.node;
    if (!node) return;
    // A term granted again to the same node (after a suspension) has its record already: a
    // record is never rewritten for a token it holds, so reading it again is one request
    // per election on every reconnect for nothing.
    if (this.recordToken === fencingToken) return;
    const { host } = this;
    const record = { node: node.name, id: host.id, token: fencingToken, since: Date.now() };
    publishLeaderRecord(candidacy.scope, host.path, record, () => host.isCurrent(term)).then(
      (written) => {
        if (written || host.isCurrent(term)) this.recordToken = fencingToken;
      },
      (error: unknown) => {
        // Lost to the connection or the session (the next term on this node writes it again),
        // or the election node is gone (our node went with it, and its candidacy with that).
        if (isConnectionError(error) || isZooKeeperError(error, 'NO_NODE')) {
          return host.logger.debug({ err: error }, 'zk-leader: could not publish the leader record');
        }
        // Refused (the election node's ACL): the term goes on, observers just cannot see it.
        host.error(toZkLeaderError(error, `publishing the leader record on ${host.path} (trackLeader followers and observers read it)`));
      },
    );
  }
}

/** What the leader's record writer needs of its election. @internal */
export interface RecordWriterHost {
  /** The election's znode, whose data the record is. */
  readonly path: string;
  /** This participant's id, named in the record. */
  readonly id: string;
  /** For a write lost to the connection. */
  readonly logger: Logger;
  /** Whether `term` is still the election's current term. */
  isCurrent(term: Term): boolean;
  /** A write the server refused. */
  error(error: ZkLeaderError): void;
}

/** What a trackLeader follower's watch on the record needs of its election. @internal */
export interface RecordWatchHost {
  /** The election's znode. */
  readonly path: string;
  /** Whether this participant leads now (it then watches nothing). */
  isLeader(): boolean;
  /** The election's one staleness check (`Looks.isStale`). */
  isStale(candidacy: Candidacy): boolean;
  /** A later read of the record failed. */
  failed(error: unknown): void;
  /** The record names a newer leader (null: its node is gone already). */
  found(leader: LeaderInfo | null): void;
}

/**
 * The trackLeader follower's side of the leader record: one data watch on the election node,
 * read again on every change; a record is news only when its token is newer than the last.
 * @internal
 */
export class LeaderRecordWatch {
  private lastLeaderToken: bigint | null = null;

  /** @param host the election. */
  constructor(private readonly host: RecordWatchHost) {}

  /** Reads the record with a watch, for `candidacy`, and reports a newer leader. */
  async watch(candidacy: Candidacy): Promise<void> {
    const { host } = this;
    if (host.isLeader()) return;
    const read = await candidacy.watch(host.path, (event) => {
      if (event.type === 'data-changed' && !host.isLeader() && !host.isStale(candidacy)) {
        void this.watch(candidacy).catch((error: unknown) => host.failed(error));
      }
    });
    if (!read || host.isStale(candidacy)) return;
    const record = parseLeaderRecord(read.data);
    if (!record || (this.lastLeaderToken !== null && record.token <= this.lastLeaderToken)) return;
    this.lastLeaderToken = record.token;
    const leader = await readParticipant(candidacy.scope, host.path, record.node);
    if (host.isStale(candidacy)) return;
    host.found(leader);
  }
}
