import type { NodeData, Watcher } from './client/types.js';
import { InvalidArgumentError, isZooKeeperError } from './errors.js';
import { joinPath } from './paths.js';
import { nameStem, parseName, type RecipeName, type SequentialRecipe } from './recipes.js';
import { parseSequence, trailingSequence } from './sequence.js';

/**
 * Election candidates: how a candidate's znode is named, what it holds, and how the queue of
 * candidates under an election path is read and ordered. Everything that reads or writes a
 * candidate name goes through here.
 */

/** A candidate's znode name, in any recipe's format, taken apart. */
export interface CandidateName {
  name: string;
  /** Which library's format the name is in (and so who may have created it). */
  recipe: RecipeName;
  /** ZooKeeper's sequence: a signed 32-bit counter, printed with at least 10 digits. */
  sequence: number;
  /** The sequence as printed: the peers sort on this text. */
  sequenceText: string;
}

/** A child with a ZooKeeper sequence suffix that no known recipe's format parses. */
export interface ForeignChild {
  name: string;
  /** Its sequence as read by `trailingSequence` (negative after the counter's wrap). */
  sequence: number;
  /** The sequence as printed. */
  sequenceText: string;
}

/** What every candidate's znode holds: who it is, and the data it chose to publish. */
export interface CandidatePayload {
  id: string;
  data: unknown;
}

/** ZooKeeper's default jute.maxbuffer: a node's data may not be larger. */
export const maxNodeDataBytes = 1024 * 1024;

/** The name to pass to an ephemeral-sequential create; ZooKeeper appends the sequence. */
export function candidateNameStem(prefix: string, guid: string, recipe: SequentialRecipe = 'zk-leader'): string {
  return nameStem(recipe, prefix, guid);
}

/**
 * Names already parsed, by name. Every session of a process lists the same election, so the
 * same names come back in every listing: 1,000 sessions x 10,000 candidates is 10M parses per
 * leader change (four regular expressions each, and an object), where a lookup costs a hash.
 * That parsing was half the CPU of one election over 1,000 sessions x 10 (bench/crowd.ts), and
 * the stalls it made let sessions expire. Bounded: a long-lived process sees names come and go.
 * Only long listings' names are kept: those are what many sessions list again, while the one or
 * two names of each of ten thousand small elections would only add to every idle election's heap.
 */
const parsedNames = new Map<string, CandidateName | null>();
const parsedNamesLimit = 1 << 16;
/** A listing at least this long has its names kept (see parsedNames). */
const rememberedListing = 1000;

/**
 * Parses a child name in any recipe's format; null for other programs' nodes.
 * @param remember keep the result for the next listing that holds the name (see parsedNames).
 */
export function parseCandidateName(name: string, remember = false): CandidateName | null {
  const known = parsedNames.get(name);
  if (known !== undefined) return known;
  const parsed = parseName(name);
  // Frozen: one object serves every listing that holds the name.
  const candidate = parsed
    ? Object.freeze({ name, recipe: parsed.recipe, sequence: parseSequence(parsed.sequenceText)!, sequenceText: parsed.sequenceText })
    : null;
  if (!remember) return candidate;
  if (parsedNames.size >= parsedNamesLimit) parsedNames.clear();
  parsedNames.set(name, candidate);
  return candidate;
}

/** True for a candidate name of any recipe. */
export function isCandidateName(name: string): boolean {
  return parseName(name) !== null;
}

const wrapSpan = 2 ** 32;
const quarter = 2 ** 30;

/**
 * Sort keys that keep creation order across the sequence counter's wrap from 2^31 - 1 to
 * -2^31: when the live sequences straddle it (some near the top, some near the bottom), the
 * negative ones came later. Live queues span far less than 2^30 creates.
 */
function orderKeys(entries: readonly (CandidateName | ForeignChild)[][]): (sequence: number) => number {
  let high = false;
  let low = false;
  for (const list of entries) {
    for (const { sequence } of list) {
      if (sequence >= quarter) high = true;
      else if (sequence < -quarter) low = true;
    }
  }
  return high && low ? (s) => (s < 0 ? s + wrapSpan : s) : (s) => s;
}

/**
 * How a queue is ordered. `creation`: by when ZooKeeper created each node, across the
 * sequence counter's wrap (zk-leader's own order). `peer`: by the printed sequence as text,
 * as Curator (`StandardLockInternalsDriver.standardFixForSorting`, then String.compareTo)
 * and kazoo (`sorted(..., key=m.groups())` on the sequence text) compute it; the two differ
 * only after the counter wrapped, where '-' sorts before the digits.
 */
export type QueueOrder = 'creation' | 'peer';

/** The order a participant of `recipe` must agree with: its peers'. */
export function orderFor(recipe: RecipeName): QueueOrder {
  return recipe === 'zk-leader' ? 'creation' : 'peer';
}

/**
 * The election queue in order: candidates sorted by the sequence ZooKeeper gave them, not by
 * the whole name (GUIDs and prefixes would break plain string order).
 */
export function electionOrder(children: readonly string[]): CandidateName[] {
  return queueOrder(children).candidates;
}

/** An ordered queue: the candidates, and every sequential child in one order (`entries`). */
export interface Queue {
  candidates: CandidateName[];
  /** Sequential children no recipe parses: they may be another program's candidates. */
  foreign: ForeignChild[];
  /** Candidates and foreign children together, in queue order. */
  entries: (CandidateName | ForeignChild)[];
  /** A name's index in `entries`; undefined when it is not there. */
  positionOf(name: string): number | undefined;
  /** The recipes of the candidates present. */
  recipes: ReadonlySet<RecipeName>;
}

const emptyQueue: Queue = { candidates: [], foreign: [], entries: [], positionOf: () => undefined, recipes: new Set() };

/**
 * Orders `children`. Without `order`, a queue that holds only zk-leader candidates is in
 * creation order and any other in the peers' order: what its participants compute.
 */
export function queueOrder(children: readonly string[], order?: QueueOrder): Queue {
  const candidates: CandidateName[] = [];
  const foreign: ForeignChild[] = [];
  const remember = children.length >= rememberedListing;
  for (const name of children) {
    const candidate = parseCandidateName(name, remember);
    if (candidate) {
      candidates.push(candidate);
      continue;
    }
    // Other programs' names ('lock-0000000003'): the stem is unknown, the suffix is read alone.
    const sequence = trailingSequence(name);
    if (sequence) foreign.push({ name, ...sequence });
  }
  const chosen = order ?? (candidates.every((candidate) => candidate.recipe === 'zk-leader') ? 'creation' : 'peer');
  let compare: (a: CandidateName | ForeignChild, b: CandidateName | ForeignChild) => number;
  let sort: <T extends CandidateName | ForeignChild>(list: T[]) => T[];
  if (chosen === 'creation') {
    const key = orderKeys([candidates, foreign]);
    compare = (a, b) => key(a.sequence) - key(b.sequence);
    sort = (list) => sortByKey(list, key, compare);
  } else {
    compare = (a, b) => (a.sequenceText < b.sequenceText ? -1 : a.sequenceText > b.sequenceText ? 1 : 0);
    sort = (list) => list.sort(compare);
  }
  sort(candidates);
  sort(foreign);
  // Without foreign children (the usual queue) the candidates are the entries, already sorted.
  const entries: (CandidateName | ForeignChild)[] = foreign.length === 0 ? candidates.slice() : sort([...candidates, ...foreign]);
  const recipes = new Set<RecipeName>();
  for (const candidate of candidates) recipes.add(candidate.recipe);
  return { candidates, foreign, entries, positionOf: (name) => positionIn(entries, compare, name), recipes };
}

/** Room for an index below the key in one double: keys span under 2^33, so 2^20 entries fit in 2^53. */
const indexSpan = 2 ** 20;

/**
 * Sorts `list` in place by `key(sequence)`. A listing comes in the server's hash order, and a
 * comparator called N log N times was most of ordering one (10,000 names, for every session's
 * listing): key and index packed into one number sort natively, without a call per comparison.
 */
function sortByKey<T extends CandidateName | ForeignChild>(list: T[], key: (sequence: number) => number, compare: (a: T, b: T) => number): T[] {
  if (list.length >= indexSpan) return list.sort(compare);
  const packed = new Float64Array(list.length);
  // Keys are integers from -2^31 up to 2^32 (past the wrap): shifted to start at 0.
  for (let index = 0; index < list.length; index += 1) packed[index] = (key(list[index]!.sequence) + 2 ** 31) * indexSpan + index;
  packed.sort();
  const unsorted = list.slice();
  for (let index = 0; index < packed.length; index += 1) list[index] = unsorted[packed[index]! % indexSpan]!;
  return list;
}

/**
 * Where `name` is in `entries` (sorted by `compare`), found by its sequence in log N steps: a
 * map of every name to its index cost more than the sort itself, for each session's listing
 * (10,000 inserts to answer one participant's question, or ten).
 */
function positionIn(
  entries: readonly (CandidateName | ForeignChild)[],
  compare: (a: CandidateName | ForeignChild, b: CandidateName | ForeignChild) => number,
  name: string,
): number | undefined {
  const sequence = parseCandidateName(name) ?? trailingSequence(name);
  if (!sequence) return undefined;
  const target = { name, ...sequence };
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compare(entries[middle]!, target) < 0) low = middle + 1;
    else high = middle;
  }
  // Equal sequences are possible only between a candidate and a foreign name read another way.
  for (let index = low; index < entries.length && compare(entries[index]!, target) === 0; index += 1) {
    if (entries[index]!.name === name) return index;
  }
  return undefined;
}

/**
 * Queues already ordered, by the listing they came from: participants of one election on one
 * session share listings (SessionScope.getChildren), and ordering N names for each of N
 * participants would cost N^2 where one ordering per listing costs N.
 */
const ordered = new WeakMap<readonly string[], Map<QueueOrder | 'auto', Queue>>();

function orderedOnce(children: readonly string[], order?: QueueOrder): Queue {
  let byOrder = ordered.get(children);
  if (!byOrder) ordered.set(children, (byOrder = new Map<QueueOrder | 'auto', Queue>()));
  let queue = byOrder.get(order ?? 'auto');
  if (!queue) byOrder.set(order ?? 'auto', (queue = queueOrder(children, order)));
  return queue;
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
  // Its size is checked against the server's request limit where the node's path is known.
  return Buffer.from(json, 'utf8');
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
  /** The recipe its node is named in (`zk-leader`, `kazoo`, `curator-latch`, ...), null for another program's node. */
  recipe: RecipeName | null;
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
export async function readQueue(
  reader: Pick<QueueReader, 'getChildren'>,
  path: string,
  options: { watcher?: Watcher; order?: QueueOrder } = {},
): Promise<Queue> {
  try {
    return orderedOnce(await reader.getChildren(path, options.watcher), options.order);
  } catch (error) {
    if (isZooKeeperError(error, 'NO_NODE')) return emptyQueue;
    throw error;
  }
}

/** A participant from its node's name, data and stat, as its recipe wrote them. */
export function participantFrom(name: string, { data, stat }: NodeData, recipe: RecipeName | null, sequence = Number.NaN): Participant {
  // The peers' recipes hold the participant's id as text (Curator's id bytes, kazoo's identifier).
  const text = data.toString('utf8');
  const payload = recipe === 'zk-leader' || recipe === null ? decodePayload(data, name) : { id: text === '' ? name : text, data: null };
  return {
    id: payload.id,
    data: payload.data,
    recipe,
    node: name,
    sequence,
    sessionId: stat.ephemeralOwner,
    fencingToken: stat.czxid,
    createdAtMs: stat.createdAtMs,
  };
}

/** One participant's id, data and token; null when its node is gone. */
export async function readParticipant(
  reader: QueueReader,
  path: string,
  candidate: CandidateName | string,
  /** The recipe of a node whose name does not tell (the single-node recipe's fixed name). */
  knownRecipe?: RecipeName,
  /** Hears of the node's next change (a leader's `proclaim`) or deletion. */
  watcher?: Watcher,
): Promise<Participant | null> {
  const name = typeof candidate === 'string' ? candidate : candidate.name;
  const parsed = typeof candidate === 'string' ? parseCandidateName(candidate) : candidate;
  try {
    const { data, stat } = await reader.getData(joinPath(path, name), watcher);
    return participantFrom(name, { data, stat }, knownRecipe ?? parsed?.recipe ?? null, parsed?.sequence ?? Number.NaN);
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

/** The single-node recipe's node name that readers recognise without being told. */
export const singleNodeName = 'lock';

/**
 * The holder of a single-node election's node, or null: only an ephemeral node counts (a
 * persistent child that happens to be called `lock` is not a claim).
 */
export async function readSingleNode(reader: QueueReader, path: string, name = singleNodeName): Promise<Participant | null> {
  const holder = await readParticipant(reader, path, name, 'single-node');
  return holder && holder.sessionId !== '0000000000000000' ? holder : null;
}
