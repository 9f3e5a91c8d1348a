// The dashboard's memory of terms: per election, the last N leaders with how each term ended.
// Kept by the dashboard process from when it started (a page reload loses nothing); nothing of
// it is written to ZooKeeper.
import type { SessionSighting } from './ensemble.js';
import type { ElectionHistory, TermCause, TermView } from './snapshot.js';

/** What the dashboard knew of a leader's session around the moment its node went. */
export interface EndEvidence {
  /** What `cons` said in the last round before the node went. */
  before: SessionSighting;
  /** What `cons` said in a round a moment (`settleMs`) after. */
  after: SessionSighting;
  /** Whether the session still held another node the dashboard sees (a re-queued candidate, a group member, another election). */
  livesOn: boolean;
  settleMs: number;
  /** When the dashboard saw the node go. */
  endedAt: number;
}

/**
 * How a term ended, from what ZooKeeper shows: which sessions each server holds a connection
 * for (`cons`), before and just after the node went, and which nodes the session still owns.
 * A session closes only when its owner closes it or the server expires it, and the server
 * expires only a session it has not heard from for its timeout; ZooKeeper records nowhere who
 * deleted a node, so a delete while the session lives on is one cause (`deleted`), not a guess.
 */
export function causeOf(evidence: EndEvidence): { cause: TermCause; detail: string; unreachableSince: number | null } {
  const { before, after, livesOn } = evidence;
  const livedOn = 'its node was deleted while its session lived on: a resign, or another client deleted it (ZooKeeper does not record who deletes a node)';
  if (before.state === 'absent') {
    return {
      cause: 'expired',
      detail: `its session expired: no server had held a connection for it since ${new Date(before.since).toISOString()} (a crash or a partition)`,
      unreachableSince: before.since,
    };
  }
  if (livesOn || after.state === 'connected') return { cause: 'deleted', detail: livedOn, unreachableSince: null };
  if (before.state === 'connected' && after.state === 'absent') {
    // The server expires a session only after its timeout without a word from it: answered
    // less than that before the node went, it cannot have expired.
    const answered = before.answeredAfter;
    if (answered === null || before.timeoutMs === null || evidence.endedAt - answered >= before.timeoutMs) {
      return {
        cause: 'unknown',
        detail: `its node went and its session closed; it was connected, but the server may not have heard from it for its timeout: released, or expired after a partition`,
        unreachableSince: null,
      };
    }
    return {
      cause: 'released',
      detail: `released: its node went while its session was connected, and the session closed within ${evidence.settleMs} ms (a stop)`,
      unreachableSince: null,
    };
  }
  const why = before.state === 'unknown' ? before.why : after.state === 'unknown' ? after.why : 'no round of cons answered';
  return {
    cause: 'unknown',
    detail: `its node went; whether it was released, its session expired or another client deleted it is not known: ${why}`,
    unreachableSince: null,
  };
}

/** Per election, the last `length` terms, oldest first. */
export class TermHistory {
  private readonly elections = new Map<string, ElectionHistory>();

  constructor(private readonly length = 50) {}

  /** The term under way in `path`, if any. */
  current(path: string): TermView | null {
    const last = this.elections.get(path)?.terms.at(-1);
    return last && last.endedAt === null ? last : null;
  }

  /** The last term of `path`, ended or not. */
  last(path: string): TermView | null {
    return this.elections.get(path)?.terms.at(-1) ?? null;
  }

  begin(path: string, term: Omit<TermView, 'endedAt' | 'cause' | 'causeDetail' | 'unreachableSince'>): TermView {
    let election = this.elections.get(path);
    if (!election) {
      election = { path, terms: [], dropped: 0 };
      this.elections.set(path, election);
    }
    const started: TermView = { ...term, endedAt: null, cause: null, causeDetail: null, unreachableSince: null };
    election.terms.push(started);
    if (election.terms.length > this.length) {
      const excess = election.terms.length - this.length;
      election.terms.splice(0, excess);
      election.dropped += excess;
    }
    return started;
  }

  /** Ends `term` at `at`; its cause is `pending` until `settle`, unless given now. */
  end(term: TermView, at: number, cause?: { cause: TermCause; detail: string }): void {
    if (term.endedAt !== null) return;
    term.endedAt = at;
    term.cause = cause?.cause ?? 'pending';
    term.causeDetail = cause?.detail ?? 'looking at the servers';
  }

  settle(term: TermView, found: ReturnType<typeof causeOf>): void {
    term.cause = found.cause;
    term.causeDetail = found.detail;
    term.unreachableSince = found.unreachableSince;
  }

  /** Every election's terms, by path; copies, so a snapshot does not change afterwards. */
  snapshot(): ElectionHistory[] {
    return [...this.elections.values()]
      .sort((a, b) => a.path.localeCompare(b.path))
      .map((election) => ({ ...election, terms: election.terms.map((term) => ({ ...term })) }));
  }
}
