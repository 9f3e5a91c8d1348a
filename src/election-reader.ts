import {
  isCandidateName,
  queueOrder,
  readParticipant,
  readSingleNode,
  singleNodeName,
  type CandidateName,
  type Participant,
  type QueueReader,
} from './candidate.js';
import type { Watcher } from './client/types.js';
import { isZooKeeperError } from './errors.js';
import { parseLeaderRecord } from './leader-record.js';

/**
 * What an election path holds: a queue of sequential candidates (any recipe's), the
 * single-node recipe's one node, nothing (an election nobody is in), or children of no
 * election at all.
 */
export type ElectionKind = 'queue' | 'single-node' | 'empty' | 'not-an-election';

/** One reading of an election path. */
export interface ElectionReading {
  kind: ElectionKind;
  /** In queue order, the leader first (all of them, or only the leader: `participants: 'leader'`). */
  participants: Participant[];
  /** The participant that leads, or null. */
  leader: Participant | null;
  /** Sequential children no recipe parses: maybe another program's candidates (nobody behind one leads). */
  foreign: string[];
  /** A single-node election's node name (its `lockName`), when that is what the path holds. */
  lockName: string | null;
  /** The path's children, as listed. */
  children: string[];
}

export interface ReadElectionOptions {
  /**
   * The single-node recipe's node name, if known. Without it, the name the leader record on
   * the election node names is taken (a zk-leader holder writes one), else `lock`.
   */
  lockName?: string;
  /** Read every participant (default), or only the leader (an observer, on every change). */
  participants?: 'all' | 'leader';
  /** Set on the listing and on the leader's node: hears of joins, leaves and a leader's `proclaim`. */
  watcher?: Watcher;
  /** The path's children, when the caller has just listed them (the listing is then not repeated). */
  children?: string[];
}

/**
 * Who leads `path`, and what kind of election it is: the one reading the CLI, the dashboard,
 * LeaderObserver and the election's own `getLeader()` share, so each sees a single-node
 * election whatever its `lockName`, and foreign nodes alike.
 * @returns null when the path does not exist.
 */
export async function readElection(reader: QueueReader, path: string, options: ReadElectionOptions = {}): Promise<ElectionReading | null> {
  let children: string[];
  try {
    children = options.children ?? (await reader.getChildren(path, options.watcher));
  } catch (error) {
    if (isZooKeeperError(error, 'NO_NODE')) return null;
    throw error;
  }
  const queue = queueOrder(children);
  const foreign = queue.foreign.map((child) => child.name);
  if (queue.candidates.length > 0) {
    const participants =
      options.participants === 'leader'
        ? await readHead(reader, path, queue.candidates, options.watcher)
        : await readAll(reader, path, queue.candidates, options.watcher);
    return { kind: 'queue', participants, leader: participants[0] ?? null, foreign, lockName: null, children };
  }
  const lockName = await singleNodeNameOf(reader, path, children, options.lockName, options.watcher);
  const holder = lockName ? await readSingleNode(reader, path, lockName) : null;
  if (holder) return { kind: 'single-node', participants: [holder], leader: holder, foreign, lockName, children };
  return { kind: children.length === 0 ? 'empty' : 'not-an-election', participants: [], leader: null, foreign, lockName, children };
}

/** The first candidate still there (one listed may be gone by its read), its node watched. */
async function readHead(reader: QueueReader, path: string, candidates: CandidateName[], watcher: Watcher | undefined): Promise<Participant[]> {
  for (const candidate of candidates) {
    const participant = await readParticipant(reader, path, candidate, undefined, watcher);
    if (participant) return [participant];
  }
  return [];
}

/** Every candidate still there, in queue order, read together; the head's node watched. */
async function readAll(reader: QueueReader, path: string, candidates: CandidateName[], watcher: Watcher | undefined): Promise<Participant[]> {
  const read = await Promise.all(candidates.map((candidate, index) => readParticipant(reader, path, candidate, undefined, index === 0 ? watcher : undefined)));
  return read.filter((participant): participant is Participant => participant !== null);
}

/**
 * The single-node node among `children`: the name given, else the one the leader record names,
 * else `lock`. The record is read with `watcher`: a holder creates its node before it writes
 * the record, so a reading in between finds no record, and only the record's write tells a
 * watcher that the node it saw is an election's.
 */
async function singleNodeNameOf(
  reader: QueueReader,
  path: string,
  children: string[],
  given: string | undefined,
  watcher: Watcher | undefined,
): Promise<string | null> {
  if (given !== undefined) return children.includes(given) ? given : null;
  const others = children.filter((child) => !isCandidateName(child));
  if (others.length === 0) return null;
  try {
    const record = parseLeaderRecord((await reader.getData(path, watcher)).data);
    if (record && others.includes(record.node)) return record.node;
  } catch (error) {
    if (!isZooKeeperError(error, 'NO_NODE')) throw error;
  }
  return others.includes(singleNodeName) ? singleNodeName : null;
}
