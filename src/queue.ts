import { decodePayload } from './candidate.js';
import type { Watcher } from './client/types.js';
import { isZooKeeperError } from './errors.js';
import { electionOrder, joinPath, parseCandidateName, type CandidateName } from './paths.js';
import type { Session } from './session.js';

/** A participant of an election, as read from ZooKeeper. */
export interface Participant {
  id: string;
  data: unknown;
  /** The znode name, e.g. "5f0c...-n_0000000007". */
  node: string;
  sequence: number;
  /** The owning session, 16 hex digits. */
  sessionId: string;
  /** The czxid of the participant's znode: its fencing token while it leads. */
  fencingToken: bigint;
  createdAtMs: number;
}

export type LeaderInfo = Participant;

/** The candidates under an election path in queue order; [] when the path does not exist. */
export async function readQueue(session: Session, path: string, watcher?: Watcher): Promise<CandidateName[]> {
  try {
    return electionOrder(await session.getChildren(path, watcher));
  } catch (error) {
    if (isZooKeeperError(error, 'NO_NODE')) return [];
    throw error;
  }
}

/** One participant's id, data and token; null when its node is gone. */
export async function readParticipant(session: Session, path: string, candidate: CandidateName | string): Promise<Participant | null> {
  const name = typeof candidate === 'string' ? candidate : candidate.name;
  const parsed = typeof candidate === 'string' ? parseCandidateName(candidate) : candidate;
  try {
    const { data, stat } = await session.getData(joinPath(path, name));
    const payload = decodePayload(data, name);
    return {
      id: payload.id,
      data: payload.data,
      node: name,
      sequence: parsed?.sequence ?? Number.NaN,
      sessionId: stat.ephemeralOwner,
      fencingToken: stat.czxid,
      createdAtMs: stat.createdAtMs,
    };
  } catch (error) {
    if (isZooKeeperError(error, 'NO_NODE')) return null;
    throw error;
  }
}

/** The current leader, read now: retries when the head of the queue vanishes mid-read. */
export async function readLeader(session: Session, path: string): Promise<LeaderInfo | null> {
  for (;;) {
    const [head] = await readQueue(session, path);
    if (!head) return null;
    const leader = await readParticipant(session, path, head);
    if (leader) return leader;
  }
}

/** Every participant in queue order, the leader first. */
export async function readParticipants(session: Session, path: string): Promise<Participant[]> {
  const queue = await readQueue(session, path);
  const read = await Promise.all(queue.map((candidate) => readParticipant(session, path, candidate)));
  return read.filter((participant): participant is Participant => participant !== null);
}
