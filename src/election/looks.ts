import type { Candidacy } from '../candidacy.js';

/**
 * One look at the election, begun for a candidacy: what it learns (a listing, a read, a watch
 * set) may be acted on only while `Looks.isStale` says it is not stale.
 * @internal
 */
export interface Look {
  /** The candidacy the look was taken for. */
  readonly candidacy: Candidacy;
  /** The decisions taken when it began. */
  readonly decisions: number;
  /** The joins and leaves heard when its listing was answered (see `Looks.listed`). */
  joinsHeard: number;
}

/**
 * When what an evaluation learned may still be acted on: the election's one notion of
 * staleness. A look is stale once the candidacy it was taken for is no longer the one in
 * charge (the election stopped, the candidacy ended or was replaced) or a decision was taken
 * since it began (a grant on a predecessor's deletion, a resign, a stop) that a listing
 * already in flight could contradict. Separately, a join or leave heard since a listing was
 * answered makes that listing too old to take over on without listing again.
 * @internal
 */
export class Looks {
  /** Bumped when a decision was taken that a listing already in flight could contradict. */
  private decisions = 0;
  /** Children-watch events heard: a listing older than the last one is stale. */
  private joins = 0;
  /**
   * Set when something may have been missed (an interrupted evaluation, a term ended by a
   * suspension, an evaluation that could not run): a look is owed to whoever comes next.
   */
  owed = false;

  /** @param host the election: `inCharge(candidacy)` says whether it is the running election's current candidacy, its node not gone. */
  constructor(private readonly host: { inCharge(candidacy: Candidacy): boolean }) {}

  /** A look at the election for `candidacy`, begun now. */
  begin(candidacy: Candidacy): Look {
    return { candidacy, decisions: this.decisions, joinsHeard: this.joins };
  }

  /**
   * Whether what was learned for `candidacy` may no longer be acted on: it is no longer in
   * charge, or (given `since`, the look that learned it) a decision was taken since that look
   * began. A watch's callback, which belongs to no look, asks about its candidacy alone.
   */
  isStale(candidacy: Candidacy, since?: Look): boolean {
    return !this.host.inCharge(candidacy) || (since !== undefined && since.decisions !== this.decisions);
  }

  /** A decision was taken: every look begun before it is stale. */
  decided(): void {
    this.decisions += 1;
  }

  /** The children watch fired: someone joined or left. */
  heardJoin(): void {
    this.joins += 1;
  }

  /** `look`'s listing was answered now: joins heard from here on make it too old. */
  listed(look: Look): void {
    look.joinsHeard = this.joins;
  }

  /** Whether a join or leave was heard since `look`'s listing was answered. */
  joinHeardSince(look: Look): boolean {
    return this.joins !== look.joinsHeard;
  }
}
