import type { Candidacy } from '../candidacy.js';
import type { Clock, TimerHandle } from '../clock.js';
import { LeadershipLostError, type LossReason } from '../errors.js';
import { electionChannel, publish, type ElectionMessage } from '../instrument.js';
import type { Logger } from '../logger.js';

/**
 * One leadership term: it belongs to the candidacy that won it and ends with it. Its signal
 * aborts (with a LeadershipLostError) the moment it ends.
 * @internal
 */
export class Term {
  /**
   * Behind `signal`, made when the signal is first asked for: an AbortController with its
   * signal costs ~450 B, and a process leading ten thousand idle elections may never look.
   */
  private controller: AbortController | null = null;
  /** Why the term ended, once it has. */
  private endedBy: LeadershipLostError | null = null;
  /** Whether `elected` was emitted: a term won during the takeover delay is not yet. */
  announced = false;
  /** When `elected` was emitted (the clock's ms), for metrics. */
  announcedAt = 0;
  /** The takeover delay's timer, while it runs. */
  delayTimer: TimerHandle | null = null;

  /**
   * @param candidacy the candidacy whose node leads.
   * @param fencingToken that node's czxid.
   */
  constructor(
    readonly candidacy: Candidacy,
    readonly fencingToken: bigint,
  ) {}

  /** Aborts the moment this term ends (already aborted if asked for after). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.endedBy) this.controller.abort(this.endedBy);
    }
    return this.controller.signal;
  }

  /** Whether the term has ended. */
  get ended(): boolean {
    return this.endedBy !== null;
  }

  /** The term is over: its signal aborts with `reason`. */
  end(reason: LeadershipLostError): void {
    if (this.endedBy) return;
    this.endedBy = reason;
    this.controller?.abort(reason);
  }
}

/** What the terms of an election need of it: its clock and its events. @internal */
export interface TermHost {
  /** The election's path, for logs and metrics. */
  readonly path: string;
  /** This participant's id, for logs. */
  readonly id: string;
  /** Where terms are logged. */
  readonly logger: Logger;
  /** Wait this long after winning before announcing. */
  readonly takeoverDelayMs: number;
  /** The session's clock. */
  clock(): Clock;
  /** Lets the session notice a silence that fell due while the process was paused. */
  checkLiveness(): void;
  /** The term is announced (current, `announced` set): tell the listeners. */
  elected(term: Term): void;
  /** The term ended (current no more, its signal aborted), before `lost`. */
  ended(term: Term): void;
  /** The announced term ended: tell the listeners. */
  lost(reason: LossReason): void;
  /** The takeover delay's last read failed (the term already ended). */
  delayFailed(error: unknown): void;
}

/**
 * An election's terms: at most one current, granted to a candidacy that leads, announced
 * after the takeover delay (if its node is still there then), and ended (state first: its
 * signal aborted, no longer current; then `lost` if it was announced).
 * @internal
 */
export class Terms {
  private term: Term | null = null;
  /** Since when this participant has waited to lead (start, or its last term's end), for metrics. */
  private waitingSince = 0;

  /** @param host the election. */
  constructor(private readonly host: TermHost) {}

  /** The current term, announced or still in its takeover delay; null when none. */
  get current(): Term | null {
    return this.term;
  }

  /** The current term once announced; null otherwise. */
  get announced(): Term | null {
    return this.term?.announced === true ? this.term : null;
  }

  /** This participant starts waiting to lead now (it started). */
  startWaiting(): void {
    this.waitingSince = this.host.clock().now();
  }

  /**
   * A new term for `candidacy`, whose node leads: announced now, or after the takeover delay
   * if its node is still there then. The caller checks that no term is current.
   */
  grant(candidacy: Candidacy): Term {
    const term = new Term(candidacy, candidacy.node!.fencingToken);
    this.term = term;
    const { host } = this;
    const announce = () => {
      // After a process pause this timer may run before the liveness deadline that fell due
      // first: let the session notice its silence now, which ends the term if it must.
      host.checkLiveness();
      if (this.term !== term) return;
      term.announced = true;
      term.announcedAt = host.clock().now();
      publish(electionChannel, (): ElectionMessage => ({ path: host.path, event: 'elected', waitedMs: term.announcedAt - this.waitingSince }));
      host.elected(term);
    };
    if (host.takeoverDelayMs === 0) {
      announce();
      return term;
    }
    // What the grant saw is a delay old: the node may have gone meanwhile, its notice still on
    // the way. A read answered after the delay comes behind any such notice (one connection,
    // in order), so the term is announced only if our node is still there then.
    term.delayTimer = host.clock().setTimeout(() => {
      term.delayTimer = null;
      candidacy.stillHeld().then(
        (held) => {
          if (held && this.term === term) announce();
        },
        (error: unknown) => {
          if (this.term !== term) return;
          // Not announced, so nothing to tell: the evaluation that follows grants it anew.
          this.end('superseded');
          host.delayFailed(error);
        },
      );
    }, host.takeoverDelayMs);
    return term;
  }

  /** Ends the current term (state first: aborted, cleared), then tells the listeners. */
  end(reason: LossReason): void {
    const term = this.term;
    if (!term) return;
    const { host } = this;
    this.term = null;
    if (term.delayTimer) host.clock().clearTimeout(term.delayTimer);
    term.end(new LeadershipLostError(reason));
    host.ended(term);
    this.waitingSince = host.clock().now();
    if (term.announced) {
      publish(electionChannel, (): ElectionMessage => ({ path: host.path, event: 'lost', reason, heldMs: this.waitingSince - term.announcedAt }));
      host.logger.info({ path: host.path, id: host.id, reason }, 'zk-leader: leadership lost');
      host.lost(reason);
    }
  }
}
