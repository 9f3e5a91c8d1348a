import type { Clock, TimerHandle } from './clock.js';

/** What the liveness clock asks of the session it watches. */
export interface LivenessHooks {
  /** Send one request whose reply proves the connection carries traffic. */
  heartbeat(): void;
  /** Silent for `silence` of the timeout: stop trusting the connection. */
  suspend(silentMs: number): void;
  /** Unheard for (almost) a whole timeout: the server may expire the session any moment. */
  expire(silentMs: number): void;
}

/** Fractions of the negotiated session timeout. */
export const livenessFractions = {
  /** Send a heartbeat request this often. */
  heartbeat: 1 / 4,
  /** Silence longer than this counts as a suspension: well before the server can expire us. */
  silence: 2 / 3,
  /**
   * Silence this long counts as a lost session. The server cannot expire the session sooner
   * than a whole timeout after it last heard from us; we give up a little before, so that a
   * leader holding through a suspension (`onSuspend: 'hold'`) has stopped before the server
   * can hand its place to another, even with the two clocks running at slightly different rates.
   */
  expiry: 19 / 20,
} as const;

/**
 * One connection's reply clock. ZooKeeper expires a session it has not heard from for a whole
 * timeout, and node-zookeeper-client never notices a silent connection, so the session keeps
 * its own clock: a heartbeat every T/4 while connected, `suspend` after 2/3 T without an
 * answer, `expire` after 19/20 T. Silence is counted from when the last answered request was
 * *sent*, not from when its answer arrived: the server heard us no earlier than the sending,
 * so a slow answer can never make us trust the session longer than the server does. Each
 * deadline has its own timer (no polling, so no lateness), on an injected monotonic clock.
 */
export class Liveness {
  private mode: 'stopped' | 'connected' | 'suspended' = 'stopped';
  private timeoutMs = 0;
  /** When the latest request that got an answer was sent (or the connection came up). */
  private heardAt = 0;
  private heartbeatTimer: TimerHandle | null = null;
  private deadlineTimer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly hooks: LivenessHooks,
  ) {}

  /**
   * A connection is up (new or again) with this negotiated timeout. The clock starts when its
   * handshake was sent (`sentAt`, default now): the server renewed the session when it read
   * the handshake, so an answer that took long buys no time.
   */
  connected(timeoutMs: number, sentAt: number = this.clock.now()): void {
    this.stop();
    this.mode = 'connected';
    this.timeoutMs = timeoutMs;
    this.heardAt = Math.min(sentAt, this.clock.now());
    this.scheduleHeartbeat();
    this.armDeadline();
  }

  /**
   * The connection is down or distrusted: the expiry clock runs on. Heartbeats go on too (the
   * session sends them only where they can be answered: a connection the client kept, which
   * it may have re-made by itself without saying so), so that answers can resume it.
   */
  suspended(): void {
    if (this.mode !== 'connected') return;
    this.mode = 'suspended';
    this.armDeadline();
  }

  /**
   * Back to `connected` after a suspension for silence, when answers came again on the same
   * connection recently enough. False (and still suspended) when even the latest answer is
   * older than the silence threshold.
   */
  resume(): boolean {
    if (this.mode !== 'suspended' || this.silentMs >= this.timeoutMs * livenessFractions.silence) return false;
    this.mode = 'connected';
    this.armDeadline();
    return true;
  }

  /** A request sent at `sentAt` (default: now) was answered on the current connection. */
  heard(sentAt: number = this.clock.now()): void {
    // The deadline timer finds the newer time when it fires and waits on: no re-arming here.
    if (this.mode !== 'stopped' && sentAt > this.heardAt) this.heardAt = sentAt;
  }

  /** Milliseconds since the last answered request was sent (0 when stopped). */
  get silentMs(): number {
    return this.mode === 'stopped' ? 0 : this.clock.now() - this.heardAt;
  }

  stop(): void {
    this.mode = 'stopped';
    this.clearHeartbeat();
    if (this.deadlineTimer) this.clock.clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
  }

  private clearHeartbeat(): void {
    if (this.heartbeatTimer) this.clock.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = this.clock.setTimeout(
      () => {
        this.heartbeatTimer = null;
        if (this.mode === 'stopped') return;
        this.scheduleHeartbeat();
        this.hooks.heartbeat();
      },
      Math.max(10, this.timeoutMs * livenessFractions.heartbeat),
    );
  }

  /** The silence after which the current mode ends. */
  private get thresholdMs(): number {
    return this.timeoutMs * (this.mode === 'connected' ? livenessFractions.silence : livenessFractions.expiry);
  }

  private armDeadline(): void {
    if (this.deadlineTimer) this.clock.clearTimeout(this.deadlineTimer);
    const delayMs = Math.max(0, this.heardAt + this.thresholdMs - this.clock.now());
    this.deadlineTimer = this.clock.setTimeout(() => {
      this.deadlineTimer = null;
      this.check();
    }, delayMs);
  }

  /**
   * Acts on every deadline already passed, now. The timers do this too, but a process that
   * was paused (SIGSTOP, a long GC) runs its overdue timers in due order: a takeover delay
   * that fell due before the liveness deadline would announce a term on a session the
   * server may have expired meanwhile. Whoever is about to act on the session asks first.
   */
  checkNow(): void {
    this.check();
  }

  private check(): void {
    while (this.mode !== 'stopped') {
      const silentMs = this.silentMs;
      if (silentMs < this.thresholdMs) return this.armDeadline();
      if (this.mode === 'connected') {
        this.suspended();
        this.hooks.suspend(silentMs);
      } else {
        this.stop();
        this.hooks.expire(silentMs);
      }
    }
  }
}
