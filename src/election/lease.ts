import type { Clock, TimerHandle } from '../clock.js';

/** What a leader's lease needs of its election and session. @internal */
export interface LeaseHost {
  clock(): Clock;
  /** When the latest request the server answered was sent (a handshake does not count). */
  lastAnswerSentAt(): number;
  /** How long after that the leader may still lead on what it knew: its onSuspend policy's bound. */
  leaseMs(): number;
  /** Whether a term the lease guards is current (a held one: onSuspend 'hold'). */
  leading(): boolean;
  /** Asks the session for one answer now (a reconnect left none yet). */
  askForAnswer(): void;
  /** The lease ran out with a doubt unresolved: the term ends. */
  expired(): void;
}

/**
 * How old a 'hold' leader's knowledge may be while it leads. (A 'release' leader's term ends at
 * its first suspension, on the session's clock, which counts from the same answers.) ZooKeeper delivers a watch's notice
 * before the answer to any request sent after the change, so a leader knows everything up to
 * the sending of its latest answered request, except what a notice it has not yet followed up
 * says. Two things leave it in doubt:
 * - a notice it relies on came (a join or leave on the path): the doubt lasts until a listing
 *   answered after the notice grants the term again;
 * - its connection was re-made: the handshake renews the session but tells nothing, and the
 *   watches set again on the new connection may be held with everything else; the doubt lasts
 *   until a request sent on it is answered.
 * In doubt, the term lasts at most `leaseMs` past the latest answer from before the doubt
 * (the same bound the session's own clock sets on silence), then ends `unverifiable`: a node
 * an operator deleted, or a peer's node that joined, while the network held our replies,
 * cannot keep two leaders for longer than that. Nothing runs while not in doubt.
 * @internal
 */
export class LeaderLease {
  /** Notices heard: a look answered after the latest resolves them. */
  private notices = 0;
  private needsLook = false;
  /** Set by a reconnect: an answer to a request sent at or after this time resolves it. */
  private answerSince: number | null = null;
  private timer: TimerHandle | null = null;

  /** @param host the election. */
  constructor(private readonly host: LeaseHost) {}

  /** The notices heard so far: read when a listing is answered, given back to `confirmed()`. */
  get heard(): number {
    return this.notices;
  }

  /** A notice the leader relies on came: its listing is on its way. */
  noticed(): void {
    this.notices += 1;
    this.needsLook = true;
    this.arm();
  }

  /** The connection was re-made: nothing was heard on it yet. */
  reconnected(): void {
    if (!this.host.leading()) return;
    this.answerSince = this.host.clock().now();
    this.arm();
    this.host.askForAnswer();
  }

  /** A term was granted (again) from a listing answered when `heard` was `seen`. */
  confirmed(seen: number): void {
    if (seen === this.notices) this.needsLook = false;
    // A term granted from a listing older than a notice is in doubt from now on.
    else this.arm();
    this.settleIfResolved();
  }

  private get resolved(): boolean {
    return !this.needsLook && (this.answerSince === null || this.host.lastAnswerSentAt() >= this.answerSince);
  }

  private settleIfResolved(): void {
    if (!this.resolved) return;
    this.answerSince = null;
    if (this.timer) this.host.clock().clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer || !this.host.leading()) return;
    const clock = this.host.clock();
    const deadline = this.host.lastAnswerSentAt() + this.host.leaseMs();
    this.timer = clock.setTimeout(
      () => {
        this.timer = null;
        if (this.resolved) return this.settleIfResolved();
        [this.needsLook, this.answerSince] = [false, null];
        if (this.host.leading()) this.host.expired();
      },
      Math.max(0, deadline - clock.now()),
    );
  }
}
