import type { NodeData, Watcher } from './client/types.js';
import { InvalidArgumentError, isZooKeeperError } from './errors.js';
import { joinPath } from './paths.js';

/**
 * Election candidates: how a candidate's znode is named, what it holds, and how the queue of
 * candidates under an election path is read and ordered. Everything that reads or writes a
 * candidate name goes through here.
 */

/** A candidate's znode name, `<prefix><guid>-n_<sequence>`, taken apart. */
export interface CandidateName {
  name: string;
  prefix: string;
  guid: string;
  /** ZooKeeper's sequence: a signed 32-bit counter, printed with at least 10 digits. */
  sequence: number;
}

/** A child with a ZooKeeper sequence suffix that is not one of our candidates. */
export interface ForeignChild {
  name: string;
  sequence: number;
}

/** What every candidate's znode holds: who it is, and the data it chose to publish. */
export interface CandidatePayload {
  id: string;
  data: unknown;
}

/** ZooKeeper's default jute.maxbuffer: a node's data may not be larger. */
export const maxNodeDataBytes = 1024 * 1024;

const sequenceMarker = '-n_';
// ZooKeeper formats the parent's cversion with "%010d": ten digits, or once the counter has
// wrapped past 2^31 - 1, a '-' and nine or ten digits. After our '-n_' a '-' can only be that
// sign. In other programs' names ('lock-0000000003') a '-' is usually a separator, so their
// sequence is read as the last ten digits.
const candidatePattern = /^(.*?)([0-9a-f]{32})-n_(-\d{9,10}|\d{10})$/;
const sequentialPattern = /(\d{10})$/;

/** The name to pass to an ephemeral-sequential create; ZooKeeper appends the sequence. */
export function candidateNameStem(prefix: string, guid: string): string {
  return `${prefix}${guid}${sequenceMarker}`;
}

/** Parses a child name; null for names that are not candidates (other programs' nodes). */
export function parseCandidateName(name: string): CandidateName | null {
  const match = candidatePattern.exec(name);
  if (!match) return null;
  return { name, prefix: match[1]!, guid: match[2]!, sequence: Number(match[3]) };
}

/** True for a name of ours (any prefix). */
export function isCandidateName(name: string): boolean {
  return candidatePattern.test(name);
}

const wrapSpan = 2 ** 32;
const quarter = 2 ** 30;

/**
 * Sort keys that keep creation order across the sequence counter's wrap from 2^31 - 1 to
 * -2^31: when the live sequences straddle it (some near the top, some near the bottom), the
 * negative ones came later. Live queues span far less than 2^30 creates.
 */
function orderKeys(sequences: readonly number[]): (sequence: number) => number {
  const wrapped = sequences.some((s) => s >= quarter) && sequences.some((s) => s < -quarter);
  return wrapped ? (s) => (s < 0 ? s + wrapSpan : s) : (s) => s;
}

/**
 * The election queue in order: our candidates sorted by the sequence ZooKeeper gave them,
 * not by the whole name (GUIDs and prefixes would break plain string order).
 */
export function electionOrder(children: readonly string[]): CandidateName[] {
  return queueOrder(children).candidates;
}

/** An ordered queue: our candidates, and every sequential child in one order (`entries`). */
export interface Queue {
  candidates: CandidateName[];
  /** Sequential children we did not create: they may be another program's candidates. */
  foreign: ForeignChild[];
  /** Candidates and foreign children together, in creation order. */
  entries: (CandidateName | ForeignChild)[];
}

export function queueOrder(children: readonly string[]): Queue {
  const candidates: CandidateName[] = [];
  const foreign: ForeignChild[] = [];
  for (const name of children) {
    const candidate = parseCandidateName(name);
    if (candidate) {
      candidates.push(candidate);
      continue;
    }
    const match = sequentialPattern.exec(name);
    if (match) foreign.push({ name, sequence: Number(match[1]) });
  }
  const key = orderKeys([...candidates, ...foreign].map((entry) => entry.sequence));
  const byKey = (a: { sequence: number }, b: { sequence: number }) => key(a.sequence) - key(b.sequence);
  candidates.sort(byKey);
  foreign.sort(byKey);
  return { candidates, foreign, entries: [...candidates, ...foreign].sort(byKey) };
}

export function validateId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
    throw new InvalidArgumentError(`id must be a non-empty string of at most 256 characters: got ${JSON.stringify(id)}`);
  }
  if (id.includes('/')) throw new InvalidArgumentError(`id must not contain '/': got '${id}'`);
  return id;
}

export function validatePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_.]*$/.test(prefix) || prefix.length > 64) {
    throw new InvalidArgumentError(`prefix must be up to 64 letters, digits, '_' or '.': got ${JSON.stringify(prefix)}`);
  }
  return prefix;
}

/** Serializes a payload, with a clear error for data JSON cannot carry or ZooKeeper cannot hold. */
export function encodePayload(payload: CandidatePayload): Buffer {
  let json: string | undefined;
  try {
    json = JSON.stringify({ id: payload.id, data: payload.data ?? null });
  } catch (error) {
    throw new InvalidArgumentError(`data must be JSON-serializable: ${(error as Error).message}`);
  }
  const bytes = Buffer.from(json, 'utf8');
  if (bytes.length > maxNodeDataBytes) {
    throw new InvalidArgumentError(
      `data is ${bytes.length} bytes as JSON; ZooKeeper nodes hold at most ${maxNodeDataBytes} bytes: publish a reference instead`,
    );
  }
  return bytes;
}

/** Reads a payload written by any program: unparsable data yields the raw text as `data`. */
export function decodePayload(bytes: Buffer, fallbackId: string): CandidatePayload {
  const text = bytes.toString('utf8');
  try {
    const parsed = JSON.parse(text) as Partial<CandidatePayload>;
    if (parsed && typeof parsed === 'object' && typeof parsed.id === 'string') {
      return { id: parsed.id, data: parsed.data ?? null };
    }
  } catch {
    // written by another program: fall through
  }
  return { id: fallbackId, data: text === '' ? null : text };
}

/** A participant of an election, as read from ZooKeeper. */
export interface Participant {
  /** The participant's id (the `id` option), or the node name for data another program wrote. */
  id: string;
  /** The JSON it published (the `data` option), raw text for foreign data, or null. */
  data: unknown;
  /** The znode name, e.g. "5f0c...-n_0000000007". */
  node: string;
  /** The node's sequence number: its place in the queue. */
  sequence: number;
  /** The owning session, 16 hex digits. */
  sessionId: string;
  /** The czxid of the participant's znode: its fencing token while it leads. */
  fencingToken: bigint;
  /** When the node was created (the server's clock, ms since the epoch). */
  createdAtMs: number;
}

/** The participant that leads: the head of the queue. */
export type LeaderInfo = Participant;

/** What reading the queue needs: a Session or one of its scopes. */
export interface QueueReader {
  getChildren(path: string, watcher?: Watcher): Promise<string[]>;
  getData(path: string, watcher?: Watcher): Promise<NodeData>;
}

/** The queue under an election path; empty when the path does not exist. */
export async function readQueue(reader: QueueReader, path: string, watcher?: Watcher): Promise<Queue> {
  try {
    return queueOrder(await reader.getChildren(path, watcher));
  } catch (error) {
    if (isZooKeeperError(error, 'NO_NODE')) return { candidates: [], foreign: [], entries: [] };
    throw error;
  }
}

/** One participant's id, data and token; null when its node is gone. */
export async function readParticipant(reader: QueueReader, path: string, candidate: CandidateName | string): Promise<Participant | null> {
  const name = typeof candidate === 'string' ? candidate : candidate.name;
  const parsed = typeof candidate === 'string' ? parseCandidateName(candidate) : candidate;
  try {
    const { data, stat } = await reader.getData(joinPath(path, name));
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
export async function readLeader(reader: QueueReader, path: string): Promise<LeaderInfo | null> {
  for (;;) {
    const [head] = (await readQueue(reader, path)).candidates;
    if (!head) return null;
    const leader = await readParticipant(reader, path, head);
    if (leader) return leader;
  }
}

/** Every participant in queue order, the leader first. */
export async function readParticipants(reader: QueueReader, path: string): Promise<Participant[]> {
  const { candidates } = await readQueue(reader, path);
  const read = await Promise.all(candidates.map((candidate) => readParticipant(reader, path, candidate)));
  return read.filter((participant): participant is Participant => participant !== null);
}
