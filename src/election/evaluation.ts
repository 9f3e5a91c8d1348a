import type { Candidacy } from '../candidacy.js';
import { orderFor, participantFrom, readParticipant, readQueue, type CandidateName, type Queue } from '../candidate.js';
import { isZooKeeperError } from '../errors.js';
import { joinPath } from '../paths.js';
import type { RecipeName } from '../recipes.js';
import type { AuditItem, WatchAudit } from '../watch-audit.js';
import type { LeaderLease } from './lease.js';
import type { Looks } from './looks.js';
import type { LeaderRecordWatch } from './record.js';
import type { Removals } from './removals.js';
import type { FollowerReports } from './reports.js';
import type { Terms } from './term.js';

/** What the evaluation loop needs of its election: its settings, its parts, and a few acts. @internal */
export interface EvaluationHost {
  readonly path: string;
  readonly recipe: RecipeName;
  /** The single-node recipe's node name. */
  readonly lockName: string;
  readonly trackLeader: boolean;
  readonly looks: Looks;
  readonly terms: Terms;
  readonly reports: FollowerReports;
  readonly recordWatch: LeaderRecordWatch;
  readonly audit: WatchAudit;
  readonly removals: Removals;
  readonly lease: LeaderLease;
  /** Whether the session is connected now. */
  connected(): boolean;
  /** The session's negotiated timeout. */
  sessionTimeoutMs(): number;
  /** The first join is in place: start() may resolve. */
  joined(): void;
  /** Asks for another evaluation (one runs at a time). */
  requestEvaluation(): void;
  /** The leader as this evaluation learned it, for health(). */
  knownLeaderIs(leader: { id: string; node: string }): void;
}

/**
 * The evaluation loop of an election: what one look at the election does for the current
 * candidacy (join, list, grant a term or follow and watch the predecessor), and what the
 * watches it sets do when they fire. Its safety rests on one notion of staleness,
 * `Looks.isStale`, asked after every wait: what a look learned is acted on only while the
 * candidacy it was taken for is still in charge and no decision was taken since it began.
 * @internal
 */
export class Evaluation {
  /**
   * The candidacy that is, or may be, at the head of the queue or right behind it: it leads
   * (or led until a suspension), its predecessor just went, or its last listing put it second.
   * It lists with a children watch, so it hears of every join: the leader steps down for a peer
   * that cannot see it, and the one behind it never takes over on stale news (see
   * onPredecessorEvent).
   */
  mayLead: Candidacy | null = null;

  /** @param host the election. */
  constructor(private readonly host: EvaluationHost) {}

  /**
   * One look at the election for `candidacy` (the election's current one): join, list, and
   * lead, or follow and watch the predecessor. Everything it learns is acted on only while
   * `Looks.isStale` says it is not stale.
   */
  async run(candidacy: Candidacy): Promise<void> {
    await this.host.removals.removeLeftBehind(candidacy.scope);
    if (!candidacy.held && !(await candidacy.join()) && !candidacy.outraced) return;
    if (this.host.looks.isStale(candidacy)) return;
    this.host.joined();
    if (this.host.recipe === 'single-node') return candidacy.held ? this.holdSingleNode(candidacy) : this.followHolder(candidacy);
    const own = candidacy.node!;
    const look = this.host.looks.begin(candidacy);

    // The leader alone hears of every join (one children watch, not one per participant): a
    // kazoo or Curator process that joins behind it does not see our node and leads in its own
    // eyes, so a leader with the wrong recipe must step down as soon as that node appears.
    // A follower further back leaves one stray watch at most, which does nothing (onQueueChanged).
    const watchingJoins = this.nearHead(candidacy);
    const reader = watchingJoins ? this.watchedLister(candidacy) : candidacy.scope;
    // An empty queue also covers an election node deleted by an operator: ours went with it,
    // and our node's own watch ends the candidacy.
    const queue = await readQueue(reader, this.host.path, { order: orderFor(this.host.recipe) });
    this.host.looks.listed(look);
    const noticesSeen = this.host.lease.heard;
    if (this.host.looks.isStale(candidacy, look)) return;
    // Not listed though held: the listing was sent after our node was confirmed, in the same
    // session, so the node is gone; its deletion's notice may still be on its way.
    const place = this.placeIn(queue, own.name);
    if (!place) return candidacy.missingFromListing();
    const { position, blocker, predecessorName, headName } = place;
    if (position === 0 && !blocker) {
      this.grant(candidacy);
      this.host.lease.confirmed(noticesSeen);
      this.auditFor(candidacy, []);
      // Elected from a listing that set no watch (a first join, say): list once more with one.
      if (!watchingJoins) this.host.requestEvaluation();
      return;
    }

    // Someone is ahead of us (or a participant that cannot see us is there): we do not lead.
    this.host.terms.end('superseded');
    // Right behind the leader, with every join since this listing heard: it may take over
    // without listing again when the leader's node goes. Found there by a listing without the
    // watch (joining, or moving up): list once more, with it.
    const nextInLine = position === 1 && !blocker;
    const predecessorLeads = nextInLine && watchingJoins;
    this.mayLead = nextInLine ? candidacy : null;
    // (Before watching or reporting anything: `follower` then means ready to take over at once.)
    if (nextInLine && !watchingJoins) return this.host.requestEvaluation();
    const leader = await readParticipant(candidacy.scope, this.host.path, headName);
    if (this.host.looks.isStale(candidacy, look)) return;
    if (!leader) return this.host.requestEvaluation();
    const watched = await candidacy.watch(
      joinPath(this.host.path, predecessorName),
      (event) => {
        // A join heard since the listing (its evaluation may not have answered yet) makes that listing stale.
        if (!this.host.looks.isStale(candidacy)) this.onPredecessorEvent(candidacy, event.type, predecessorLeads && !this.host.looks.joinHeardSince(look));
        // One predecessor at a time: watching another node (a blocker, say) drops this one, and
        // with it the news it carried.
      },
      'predecessor',
    );
    if (this.host.looks.isStale(candidacy, look)) return;
    // Gone between the listing and the watch: re-list rather than wait for nothing.
    if (!watched) return this.host.requestEvaluation();
    this.auditFor(candidacy, [{ kind: 'node', path: joinPath(this.host.path, predecessorName), mzxid: watched.stat.mzxid }]);
    // Re-evaluations that change nothing (a repeated trigger) stay quiet.
    this.host.knownLeaderIs({ id: leader.id, node: leader.node });
    this.host.reports.follow(`${leader.node}:${position}`, leader, position);
    if (this.host.trackLeader) await this.host.recordWatch.watch(candidacy);
  }

  /**
   * Where our node stands in `queue`, and what we wait on: null when it is not listed. A method
   * of its own so that no closure of an evaluation keeps the queue (N names) alive while it
   * waits: with N participants that would hold N^2.
   */
  private placeIn(queue: Queue, ownName: string): { position: number; blocker: boolean; predecessorName: string; headName: string } | null {
    const position = queue.positionOf(ownName);
    if (position === undefined) return null;
    this.host.reports.foreign(queue.foreign.filter((entry) => queue.positionOf(entry.name)! < position).map((entry) => entry.name));
    // A candidate of another recipe does not see ours (kazoo) or sorts it by another key
    // (Curator): wherever it stands, both could lead. Wait on the nearest one instead.
    const onlyOurs = queue.recipes.size === 0 || (queue.recipes.size === 1 && queue.recipes.has(this.host.recipe));
    const mismatched = onlyOurs ? [] : queue.candidates.filter((candidate) => candidate.recipe !== this.host.recipe);
    this.host.reports.mismatched(mismatched);
    const blocker =
      mismatched.length === 0
        ? null
        : (queue.entries
            .slice(0, position)
            .reverse()
            .find((entry) => mismatched.includes(entry as CandidateName)) ?? mismatched[0]!);
    return {
      position,
      blocker: blocker !== null,
      predecessorName: (blocker ?? queue.entries[position - 1] ?? queue.entries[0]!).name,
      headName: queue.entries[0]!.name,
    };
  }

  /**
   * Single-node: we hold the node. The holder alone hears of every join (a children watch): a
   * kazoo or Curator process that joins the path does not see our node and leads in its own
   * eyes, so the holder does not lead while such a candidate is there (RECIPE_MISMATCH).
   */
  private async holdSingleNode(candidacy: Candidacy): Promise<void> {
    const look = this.host.looks.begin(candidacy);
    this.mayLead = candidacy;
    const queue = await readQueue(this.watchedLister(candidacy), this.host.path);
    const noticesSeen = this.host.lease.heard;
    if (this.host.looks.isStale(candidacy, look)) return;
    // The node's own watch goes silent when an operator takes READ from it: the children watch
    // brought us here, so make sure the node is still the one we made before leading on it.
    if (!(await candidacy.stillHeld()) || this.host.looks.isStale(candidacy, look)) return;
    this.auditFor(candidacy, []);
    if (queue.candidates.length === 0) {
      this.grant(candidacy);
      return this.host.lease.confirmed(noticesSeen);
    }
    this.host.reports.mismatched(queue.candidates);
    this.host.terms.end('superseded');
  }

  /**
   * Single-node: another session holds the node. Watch it; any change (its deletion, above
   * all) sends everyone waiting back to the race: that herd is the protocol's nature.
   */
  private async followHolder(candidacy: Candidacy): Promise<void> {
    this.host.terms.end('superseded');
    const look = this.host.looks.begin(candidacy);
    const path = joinPath(this.host.path, this.host.lockName);
    let heard = false;
    const again = () => {
      if (!this.host.looks.isStale(candidacy)) this.host.requestEvaluation();
    };
    // The holder's node may be unreadable (an operator's ACL), which silences its watch, its
    // deletion's notice included: the path's children watch still hears it go. ZooKeeper sends
    // the node's own notice first, so the children watch adds a race only when that stayed silent.
    await candidacy
      .list(this.host.path, () => {
        if (!heard) again();
      })
      .catch((error: unknown) => {
        if (!isZooKeeperError(error, 'NO_NODE')) throw error;
      });
    const watched = await candidacy.watch(path, () => {
      heard = true;
      again();
    });
    if (this.host.looks.isStale(candidacy, look)) return;
    // Gone between our create and the watch: race again.
    if (!watched) return this.host.requestEvaluation();
    this.auditFor(candidacy, [{ kind: 'node', path, mzxid: watched.stat.mzxid }]);
    const leader = participantFrom(this.host.lockName, watched, 'single-node');
    this.host.knownLeaderIs({ id: leader.id, node: leader.node });
    this.host.reports.follow(`${leader.sessionId}:${leader.fencingToken}`, leader, 1);
  }

  /**
   * Has `audit` check what this participant's watches wait for: `items` (the node it follows),
   * and the path's joins and leaves while it leads or may take over without listing. The
   * leader and the one behind it look every half session timeout (a peer that joined unheard
   * must be found within the notice a peer gets), the others every session timeout (only
   * their turn is late meanwhile).
   */
  private auditFor(candidacy: Candidacy, items: AuditItem[]): void {
    const nearHead = this.nearHead(candidacy);
    const all: AuditItem[] = nearHead ? [{ kind: 'children', path: this.host.path }, ...items] : items;
    const timeoutMs = this.host.sessionTimeoutMs();
    this.host.audit.expect(candidacy, all, nearHead ? timeoutMs / 2 : timeoutMs);
  }

  /**
   * Whether `candidacy` leads, or may lead next (`mayLead`): it lists with the children watch,
   * so it hears of every join and leave, and its watches are audited twice as often.
   */
  private nearHead(candidacy: Candidacy): boolean {
    return this.host.terms.current?.candidacy === candidacy || this.mayLead === candidacy;
  }

  /** Lists the election with the children watch of the leader and the one behind it. */
  private watchedLister(candidacy: Candidacy): { getChildren: (path: string) => Promise<string[]> } {
    return { getChildren: (path: string) => candidacy.list(path, () => this.onQueueChanged(candidacy)) };
  }

  /**
   * The children watch: someone joined or left. It may fire before the answer of the listing
   * that asked for it (the session joins a read to a watch whose event is already on its way),
   * so it counts for whoever may be at the head, not only for a leader; a follower's stray one
   * does nothing.
   */
  private onQueueChanged(candidacy: Candidacy): void {
    if (this.host.looks.isStale(candidacy)) return;
    this.host.looks.heardJoin();
    // A leader is in doubt until the listing this asks for answers (LeaderLease).
    this.host.lease.noticed();
    if (this.nearHead(candidacy)) this.host.requestEvaluation();
  }

  private onPredecessorEvent(candidacy: Candidacy, type: string, predecessorLeads: boolean): void {
    // The predecessor led at our last listing, no join since (our children watch would have
    // made us list again), and its deletion reached us over our own live session, with our own
    // node still watched and held: nobody can be ahead of us (a later node sorts after ours, across the counter's wrap too) and
    // no peer that cannot see us is on the path, so we lead now. The evaluation that follows
    // confirms it.
    if (type === 'deleted') this.mayLead = candidacy;
    if (type === 'deleted' && predecessorLeads && this.host.connected()) {
      // A listing already on its way may predate the deletion (its reply can arrive in the
      // same read): it must not end the term we are granting now.
      this.host.looks.decided();
      this.grant(candidacy);
    }
    // The deletion of a child fires our children watch too, right behind this event: that
    // one asks for the listing (one, not two; it also sets the watch again).
    if (type === 'deleted' && candidacy.listening(this.host.path)) return;
    this.host.requestEvaluation();
  }

  /** A term for `candidacy`, whose node leads, unless one is current or the candidacy is not in charge. */
  grant(candidacy: Candidacy): void {
    if (this.host.terms.current || this.host.looks.isStale(candidacy) || !candidacy.held) return;
    this.mayLead = candidacy;
    this.host.reports.forget();
    this.host.terms.grant(candidacy);
  }
}
