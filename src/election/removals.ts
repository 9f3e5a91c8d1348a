import { Backoff, type RetryOptions } from '../backoff.js';
import type { Candidacy } from '../candidacy.js';
import type { Clock } from '../clock.js';
import { isZooKeeperError } from '../errors.js';
import type { SessionScope } from '../session.js';

/**
 * The removals of an election's own nodes: those of candidacies released (a resign, a stop),
 * which stop() waits for; the hand-over under way, before which no new candidacy joins; and
 * the nodes of ended sessions, which the next session deletes first.
 * @internal
 */
export class Removals {
  /**
   * Removals of our nodes still under way, each with the candidacy it belongs to; made at the
   * first (an idle election has none, and an empty Map costs ~180 B, ten thousand times over).
   */
  private underWay: Map<Promise<void>, Candidacy> | null = null;
  /** A resign's removal of our node still under way: no new candidacy joins before it settles. */
  private handingOverNow: Promise<void> | null = null;
  /**
   * Nodes of our sessions that ended, perhaps only by our own clock: the server drops them
   * when it expires the session; the next session deletes them first, to hand over sooner.
   */
  private readonly leftBehind: string[] = [];

  /**
   * @param retry the election's retry options, for a refused delete tried again.
   * @param host the election: `runtime()` is its session's clock and randomness (there is a session once anything is removed).
   */
  constructor(
    private readonly retry: Required<RetryOptions>,
    private readonly host: { runtime(): { clock: Clock; random: () => number } },
  ) {}

  /** Whether a hand-over's removal is still under way. */
  get handingOver(): boolean {
    return this.handingOverNow !== null;
  }

  /** Releases `candidacy`, remembered until its node is gone; rejects as the removal does. */
  release(candidacy: Candidacy): Promise<void> {
    const removal = candidacy.release();
    const underWay = (this.underWay ??= new Map());
    underWay.set(removal, candidacy);
    const forget = () => {
      underWay.delete(removal);
    };
    removal.then(forget, forget);
    return removal;
  }

  /**
   * Removes the node of a candidacy that no longer leads; until that settles no new candidacy
   * joins (a refused delete leaves the node at the head, and it is adopted again).
   */
  handOver(candidacy: Candidacy): Promise<void> {
    const removal = this.release(candidacy);
    this.handingOverNow = removal;
    const done = () => {
      if (this.handingOverNow === removal) this.handingOverNow = null;
    };
    removal.then(done, done);
    return removal;
  }

  /** Every removal under way with the candidacy it belongs to, read now: a settled removal forgets its candidacy. */
  underWayNow(): [removal: Promise<void>, candidacy: Candidacy][] {
    return this.underWay ? [...this.underWay] : [];
  }

  /**
   * A stopped election's node whose delete the server refused stays in the shared session, at
   * the head of the queue for everyone behind it: the delete is tried again, slowly, until it
   * succeeds (an operator fixed the ACL) or the session ends.
   */
  removeLater(candidacy: Candidacy): void {
    const { clock, random } = this.host.runtime();
    const backoff = new Backoff(this.retry, random);
    const attempt = () => {
      if (!candidacy.scope.alive) return;
      candidacy.removeAgain().catch(() => clock.setTimeout(attempt, backoff.slow()));
    };
    clock.setTimeout(attempt, backoff.slow());
  }

  /** A node of a session that ended: the next session deletes it first. */
  leaveBehind(path: string): void {
    this.leftBehind.push(path);
  }

  /** Deletes the nodes left behind by ended sessions, in `scope` (the current session's). */
  async removeLeftBehind(scope: SessionScope): Promise<void> {
    while (this.leftBehind.length > 0) {
      const path = this.leftBehind[0]!;
      try {
        await scope.remove(path);
      } catch (error) {
        // Gone already (the server expired it), or not ours to delete any more: either way done.
        if (!isZooKeeperError(error, 'NO_NODE', 'NO_AUTH', 'BAD_VERSION')) throw error;
      }
      this.leftBehind.shift();
    }
  }
}
