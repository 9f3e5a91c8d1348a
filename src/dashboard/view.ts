import { EventEmitter } from 'eventemitter3';
import { isCandidateName, singleNodeName, type Participant } from '../candidate.js';
import { readElection, type ElectionKind } from '../election-reader.js';
import { isZooKeeperError } from '../errors.js';
import { Membership, type Member } from '../membership.js';
import { leaderRecordSince } from '../leader-record.js';
import { validateMs } from '../options.js';
import { joinPath } from '../paths.js';
import type { Session } from '../session.js';
import type { EnsembleMonitor, SessionSighting } from './ensemble.js';
import { causeOf, TermHistory } from './history.js';
import type { ClusterSnapshot, ConnectionView, ElectionView, GroupView, MemberView, TermView, TimelineEntry } from './snapshot.js';

export type {
  ClusterSnapshot,
  ConnectionView,
  ElectionHistory,
  ElectionView,
  GroupView,
  MemberView,
  ParticipantView,
  ServerView,
  TermCause,
  TermView,
  TimelineEntry,
} from './snapshot.js';

/** A member as read, before `snapshot()` adds what `cons` says of its session. */
const unseen = (member: Member): MemberView => ({ ...member, connection: { state: 'unknown' } });

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface ClusterViewOptions {
  session: Session;
  root: string;
  groups?: readonly string[];
  /** Most nodes under the root to watch (default 10,000, as `zk-leader list`). */
  maxNodes?: number;
  /** Timeline entries kept (default 500). */
  timelineLength?: number;
  /** Reports a read that failed; the view carries on and reads again on the next change. */
  onError?: (error: unknown) => void;
  /** A member whose record is older than this shows as stale (default 30 s). */
  staleAfterMs?: number;
  /** Wall clock, ms since the epoch (injected in tests). */
  now?: () => number;
  /** Terms kept per election (default 50). */
  historyLength?: number;
  /** The servers' four-letter words: how a term ended (without it, `unknown`), and the ensemble panel. */
  ensemble?: EnsembleMonitor;
  /** How long after a leader's node went the servers are asked whether its session lives on (default 1000 ms). */
  settleMs?: number;
}

interface Tracked {
  /** The children as last read, while a children watch on the node is set. */
  children: string[];
  watching: boolean;
}

/**
 * A live picture of every election under a root and of some groups, held with ZooKeeper
 * watches on one session: a children watch on every node under the root (so elections that
 * appear are found), and Membership's watches for groups. Each watch that fires re-reads only
 * its own node. Emits `change` with nothing: call `snapshot()`. State is kept per session: a
 * new session (after an expiry) starts the walk again, since the old one's watches are gone.
 */
export class ClusterView extends EventEmitter<{ change: [] }> {
  private readonly session: Session;
  private readonly root: string;
  private readonly maxNodes: number;
  private readonly timelineLength: number;
  private readonly onError: (error: unknown) => void;
  private readonly now: () => number;
  private readonly staleAfterMs: number;
  /** Nodes under the root, by path. */
  private readonly tracked = new Map<string, Tracked>();
  private readonly elections = new Map<string, ElectionView>();
  private readonly groups = new Map<string, { membership: Membership; view: GroupView }>();
  private readonly timeline: TimelineEntry[] = [];
  private readonly history: TermHistory;
  private readonly ensemble: EnsembleMonitor | null;
  private readonly settleMs: number;
  private readonly startedAt: number;
  /** Timers that settle how a term ended: owned, cleared on close. */
  private readonly settling = new Set<NodeJS.Timeout>();
  /** The latest read of each election, so an overlapping older one is dropped. */
  private readonly reads = new Map<string, number>();
  private sequence = 0;
  /** Bumped on every new session: watches of an older walk are ignored. */
  private walk = 0;
  private disconnectedSince: number | null = null;
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(options: ClusterViewOptions) {
    super();
    this.session = options.session;
    this.root = options.root;
    this.maxNodes = options.maxNodes ?? 10_000;
    this.timelineLength = options.timelineLength ?? 500;
    this.onError = options.onError ?? (() => {});
    this.now = options.now ?? Date.now;
    this.staleAfterMs = validateMs(options.staleAfterMs, 'staleAfterMs', 30_000, 'positive');
    this.history = new TermHistory(options.historyLength ?? 50);
    this.ensemble = options.ensemble ?? null;
    this.settleMs = validateMs(options.settleMs, 'settleMs', 1000, 'zero');
    this.startedAt = this.now();
    for (const path of options.groups ?? []) {
      const membership = new Membership({ session: this.session });
      const view: GroupView = { path, members: [], problem: null };
      membership.on('joined', (member) => this.record({ kind: 'joined', group: path, id: member.id }));
      membership.on('left', (member) => this.record({ kind: 'left', group: path, id: member.id }));
      membership.on('updated', (member) => {
        const before = view.members.find((known) => known.id === member.id);
        if (before && before.status !== member.status) this.record({ kind: 'status', group: path, id: member.id, status: member.status });
      });
      membership.on('members', (members) => {
        view.members = members.map(unseen);
        view.problem = null;
        this.changed();
      });
      membership.on('error', (error) => {
        view.problem = error.message;
        this.onError(error);
        this.changed();
      });
      this.groups.set(path, { membership, view });
    }
    this.unsubscribe = this.session.subscribe({
      connected: () => {
        // A new session: every watch of the last one is gone.
        this.disconnectedSince = null;
        void this.restart();
      },
      reconnected: () => {
        this.disconnectedSince = null;
        this.changed();
      },
      suspended: () => this.lostConnection(),
      expired: () => this.lostConnection(),
    });
  }

  /** Reads everything once and sets the watches; resolves when the first picture is complete. */
  async start(): Promise<void> {
    await this.session.whenConnected();
    await Promise.all([this.restart(), ...[...this.groups.entries()].map(([path, group]) => this.watchGroup(path, group.membership, group.view))]);
  }

  private async watchGroup(path: string, membership: Membership, view: GroupView): Promise<void> {
    try {
      view.members = (await membership.watch(path)).map(unseen);
    } catch (error) {
      view.problem = (error as Error).message;
      this.onError(error);
    }
    this.changed();
  }

  /** The picture now, as plain JSON. */
  snapshot(): ClusterSnapshot {
    return {
      root: this.root,
      startedAt: this.startedAt,
      history: this.history.snapshot(),
      ensemble: { servers: this.ensemble?.servers() ?? [], pollMs: this.ensemble?.intervalMs ?? 0 },
      connected: this.disconnectedSince === null && this.session.state === 'connected',
      disconnectedSince: this.disconnectedSince,
      elections: [...this.elections.values()]
        .sort((a, b) => a.path.localeCompare(b.path))
        .map((election) => ({
          ...election,
          participants: election.participants.map((participant) => ({ ...participant, connection: this.connectionOf(participant.sessionId) })),
        })),
      groups: [...this.groups.values()].map(({ view }) => ({
        ...view,
        members: view.members.map((member) => ({ ...member, connection: this.connectionOf(member.sessionId) })),
      })),
      timeline: [...this.timeline],
      nodes: this.tracked.size,
      staleAfterMs: this.staleAfterMs,
    };
  }

  /** Stops watching (the session is the caller's). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.walk += 1;
    this.unsubscribe();
    for (const timer of this.settling) clearTimeout(timer);
    this.settling.clear();
    await Promise.all([...this.groups.values()].map((group) => group.membership.stop()));
    this.removeAllListeners();
  }

  private lostConnection(): void {
    this.disconnectedSince ??= this.now();
    this.changed();
  }

  private async restart(): Promise<void> {
    this.walk += 1;
    this.tracked.clear();
    await this.visit(this.root, this.walk);
  }

  /** Reads `path`'s children with a watch (unless one is set), then its subtree and its election. */
  private async visit(path: string, walk: number): Promise<void> {
    if (this.closed || walk !== this.walk) return;
    const known = this.tracked.get(path);
    if (known?.watching) return;
    if (!known && this.tracked.size >= this.maxNodes) return;
    const node: Tracked = known ?? { children: [], watching: false };
    this.tracked.set(path, node);
    node.watching = true;
    let children: string[];
    try {
      children = await this.session.getChildren(path, () => {
        node.watching = false;
        void this.visit(path, walk);
      });
    } catch (error) {
      node.watching = false;
      if (isZooKeeperError(error, 'NO_NODE', 'NO_AUTH')) {
        this.forget(path);
        // No root yet: be told when it appears.
        if (path === this.root && isZooKeeperError(error, 'NO_NODE')) await this.awaitRoot(walk);
        return;
      }
      // Connection trouble: the next connect or reconnect reads again.
      this.onError(error);
      if (isZooKeeperError(error, 'CONNECTION_LOSS', 'OPERATION_TIMEOUT')) void this.session.whenConnected().then(() => this.visit(path, walk));
      return;
    }
    if (walk !== this.walk) return;
    const before = new Set(node.children);
    node.children = children;
    const subtrees = children.filter((child) => !isCandidateName(child) && child !== singleNodeName).map((child) => joinPath(path, child));
    for (const gone of [...before].filter((child) => !children.includes(child))) {
      const childPath = joinPath(path, gone);
      if (this.tracked.has(childPath)) this.forget(childPath);
    }
    await Promise.all([this.readElection(path, children, walk), ...subtrees.map((child) => this.visit(child, walk))]);
  }

  private async awaitRoot(walk: number): Promise<void> {
    try {
      const stat = await this.session.exists(this.root, () => void this.visit(this.root, walk));
      if (stat) await this.visit(this.root, walk);
    } catch (error) {
      this.onError(error);
    }
  }

  /** A node and everything below it are gone. */
  private forget(path: string): void {
    for (const known of [...this.tracked.keys()]) if (known === path || known.startsWith(`${path}/`)) this.tracked.delete(known);
    for (const known of [...this.elections.keys()]) {
      if (known === path || known.startsWith(`${path}/`)) {
        this.elections.delete(known);
        const term = this.history.current(known);
        if (term) this.history.end(term, this.now(), { cause: 'election-removed', detail: "the election's node was deleted" });
        this.changed();
      }
    }
  }

  private async readElection(path: string, children: string[], walk: number): Promise<void> {
    // Reads of one election may overlap (a watch fired during the last read): the latest wins.
    const read = (this.reads.get(path) ?? 0) + 1;
    this.reads.set(path, read);
    const superseded = () => walk !== this.walk || this.reads.get(path) !== read;
    let participants: Participant[] = [];
    let kind: ElectionKind = 'empty';
    try {
      // A single-node handover deletes and creates the node: the children watch hears both.
      const reading = await readElection(this.session, path, { children });
      if (!reading) return;
      participants = reading.participants;
      kind = reading.kind;
    } catch (error) {
      if (!isZooKeeperError(error, 'NO_NODE')) this.onError(error);
      return;
    }
    if (superseded()) return;
    const existing = this.elections.get(path);
    if (!existing && participants.length === 0 && kind !== 'queue' && !children.includes(singleNodeName)) return;
    const view: ElectionView = existing ?? { path, participants: [], termSince: null, leaderlessSince: null };
    const previous = view.participants[0];
    const leader = participants[0];
    view.participants = participants.map((participant) => ({
      ...participant,
      fencingToken: participant.fencingToken.toString(),
      connection: { state: 'unknown' },
    }));
    this.elections.set(path, view);
    const now = this.now();
    const sameLeader = previous && leader && previous.node === leader.node && previous.fencingToken === leader.fencingToken.toString();
    const term = this.history.current(path);
    if (term && (!leader || term.node !== leader.node)) this.endTerm(term, participants, now);
    if (leader && !sameLeader) {
      // A leader there at the dashboard's first read was leading before it started: its
      // leader record says since when. A takeover the dashboard saw starts when it saw it.
      const underWay = !existing && this.history.last(path) === null;
      const started = this.history.begin(path, {
        leader: leader.id,
        node: leader.node,
        sessionId: leader.sessionId,
        token: leader.fencingToken.toString(),
        startedAt: now,
        startSource: 'seen',
      });
      view.termSince = now;
      if (underWay) {
        void this.termStart(path, leader).then((since) => {
          if (since !== null && since < started.startedAt) {
            started.startedAt = since;
            started.startSource = 'leader-record';
            if (view.participants[0]?.node === leader.node) view.termSince = since;
            this.changed();
          }
        });
      }
      this.record({
        kind: 'leader',
        path,
        from: previous?.id ?? null,
        to: leader.id,
        token: leader.fencingToken.toString(),
        gapMs: view.leaderlessSince === null ? (previous ? 0 : null) : now - view.leaderlessSince,
      });
      view.leaderlessSince = null;
    } else if (!leader) {
      if (previous) this.record({ kind: 'leaderless', path, from: previous.id });
      view.termSince = null;
      view.leaderlessSince ??= now;
    }
    this.changed();
  }

  /**
   * The leader of `term` no longer leads. If its node is gone, how it went is settled a moment
   * later, from what the servers' `cons` said of its session before and after, and from whether
   * the session still holds another node the dashboard sees.
   */
  private endTerm(term: TermView, participants: Participant[], at: number): void {
    if (participants.some((participant) => participant.node === term.node)) {
      this.history.end(term, at, { cause: 'unknown', detail: 'its node is still there, no longer first in the queue' });
      return;
    }
    const noServers: SessionSighting = { state: 'unknown', why: 'the dashboard was not given the servers to ask' };
    const before = this.ensemble?.sighting(term.sessionId) ?? noServers;
    this.history.end(term, at);
    const timer = setTimeout(() => {
      this.settling.delete(timer);
      void (async () => {
        await this.ensemble?.pollAfterNow();
        if (this.closed) return;
        const after = this.ensemble?.sighting(term.sessionId) ?? noServers;
        this.history.settle(term, causeOf({ before, after, livesOn: this.holdsNodes(term.sessionId), settleMs: this.settleMs, endedAt: at }));
        this.changed();
      })();
    }, this.settleMs);
    this.settling.add(timer);
  }

  private connectionOf(sessionId: string): ConnectionView {
    const sighting = this.ensemble?.sighting(sessionId) ?? null;
    if (!sighting || sighting.state === 'unknown') return { state: 'unknown' };
    if (sighting.state === 'absent') return { state: 'none', since: sighting.since };
    return { state: sighting.answeredAfter === null ? 'listed' : 'connected' };
  }

  /** Whether `sessionId` owns a node the dashboard sees: a candidate in any election, or a group member. */
  private holdsNodes(sessionId: string): boolean {
    for (const election of this.elections.values()) if (election.participants.some((participant) => participant.sessionId === sessionId)) return true;
    for (const group of this.groups.values()) if (group.view.members.some((member) => member.sessionId === sessionId)) return true;
    return false;
  }

  /** The leader record's time, when the record names this leader (zk-leader elections write one). */
  private async termStart(path: string, leader: Participant): Promise<number | null> {
    try {
      return leaderRecordSince((await this.session.getData(path)).data, { node: leader.node, token: leader.fencingToken });
    } catch {
      return null; // the election is gone: the dashboard's own time stands in
    }
  }

  private record(change: DistributiveOmit<TimelineEntry, 'seq' | 'at'>): void {
    this.sequence += 1;
    this.timeline.push({ ...change, seq: this.sequence, at: this.now() });
    if (this.timeline.length > this.timelineLength) this.timeline.splice(0, this.timeline.length - this.timelineLength);
    this.changed();
  }

  private changed(): void {
    if (!this.closed) this.emit('change');
  }
}
