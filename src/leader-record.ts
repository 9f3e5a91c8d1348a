import { isZooKeeperError } from './errors.js';
import type { SessionScope } from './session.js';

/**
 * The leader record: the election node's data names the current leader, so that followers
 * with `trackLeader` learn of a new leader with one data watch each, without listing the
 * queue. Only ever moves forward: a record is replaced only by one with a larger token.
 */
export interface LeaderRecord {
  /** The leader's znode name. */
  node: string;
  id: string;
  token: bigint;
  /** When the leader wrote it (ms since the epoch). */
  since: number;
}

export function parseLeaderRecord(data: Buffer): Pick<LeaderRecord, 'node' | 'token'> | null {
  try {
    const record = JSON.parse(data.toString('utf8')) as { node?: unknown; token?: unknown };
    if (typeof record.node === 'string' && typeof record.token === 'string') return { node: record.node, token: BigInt(record.token) };
  } catch {
    // empty or foreign data: no record yet
  }
  return null;
}

/** When the record's leader began (`since`), if the record names `leader`; otherwise null. */
export function leaderRecordSince(data: Buffer, leader: Pick<LeaderRecord, 'node' | 'token'>): number | null {
  const record = parseLeaderRecord(data);
  if (record?.node !== leader.node || record.token !== leader.token) return null;
  const { since } = JSON.parse(data.toString('utf8')) as { since?: unknown };
  return typeof since === 'number' ? since : null;
}

function encodeLeaderRecord(record: LeaderRecord): Buffer {
  return Buffer.from(JSON.stringify({ node: record.node, id: record.id, token: record.token.toString(), since: record.since }));
}

/**
 * Writes `record` unless a record with a token at least as large is there already, by a
 * versioned write: a leader whose write is late (held through a partition, say) can never
 * overwrite its successor's record. Runs in the leader's session scope, so a write still
 * waiting when that session ends is never sent in the next one; `stillLeading` is asked
 * before the write, so a term that ended meanwhile writes nothing.
 */
export async function publishLeaderRecord(scope: SessionScope, path: string, record: LeaderRecord, stillLeading: () => boolean = () => true): Promise<boolean> {
  for (;;) {
    const { data, stat } = await scope.getData(path);
    const current = parseLeaderRecord(data);
    // A term that ended while the record was read (a stop, say) writes nothing.
    if ((current && current.token >= record.token) || !stillLeading()) return false;
    try {
      await scope.setData(path, encodeLeaderRecord(record), stat.version);
      return true;
    } catch (error) {
      // Someone wrote in between: look again.
      if (!isZooKeeperError(error, 'BAD_VERSION')) throw error;
    }
  }
}
