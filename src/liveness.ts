import type { Clock, TimerHandle } from './clock.js';

/** What the liveness clock asks of the session it watches. */
export interface LivenessHooks {
  /** Send one request whose reply proves the connection carries traffic. */
  heartbeat(): void;
  /** Silent for `silence` of the timeout: stop trusting the connection. */
  suspend(silentMs: number): void;
  /** Unheard from for a whole timeout: the server may have expired the session by now. */
  expire(silentMs: number): void;
}

/** Fractions of the negotiated session timeout. */
export const livenessFractions = {
  /** Send a heartbeat request this often. */
  heartbeat: 1 / 4,
  /** Check the reply clock this often. */
  check: 1 / 12,
  /** Silence longer than this counts as a suspension: well before the server can expire us. */
  silence: 2 / 3,
} as const;

/**
 * One connection's reply clock. ZooKeeper expires a session it has not heard from for a whole
 * timeout, and node-zookeeper-client never notices a silent connection, so the session keeps
 * its own clock: a heartbeat every T/4 while connected, `suspend` after 2/3 T without any
 * reply, `expire` after T. Time comes from an injected monotonic clock.
 */
export class Liveness {
  private mode: 'stopped' | 'connected' | 'suspended' = 'stopped';
  private timeoutMs = 0;
  private lastReplyAt = 0;
  private heartbeatTimer: TimerHandle | null = null;
  private checkTimer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly hooks: LivenessHooks,
  ) {}

  /** A connection is up (new or again) with this negotiated timeout: the clock starts now. */
  connected(timeoutMs: number): void {
    this.stop();
    this.mode = 'connected';
    this.timeoutMs = timeoutMs;
    this.lastReplyAt = this.clock.now();
    this.scheduleHeartbeat();
    this.scheduleCheck();
  }

  /** The connection is down or distrusted: no more heartbeats, but the expiry clock runs on. */
  suspended(): void {
    if (this.mode !== 'connected') return;
    this.mode = 'suspended';
    this.clearHeartbeat();
  }

  /** A reply arrived on the current connection. */
  heard(): void {
    if (this.mode !== 'stopped') this.lastReplyAt = this.clock.now();
  }

  /** Milliseconds since the last reply (0 when stopped). */
  get silentMs(): number {
    return this.mode === 'stopped' ? 0 : this.clock.now() - this.lastReplyAt;
  }

  stop(): void {
    this.mode = 'stopped';
    this.clearHeartbeat();
    if (this.checkTimer) this.clock.clearTimeout(this.checkTimer);
    this.checkTimer = null;
  }

  private clearHeartbeat(): void {
    if (this.heartbeatTimer) this.clock.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.heartbeatTimer = null;
      if (this.mode !== 'connected') return;
      this.scheduleHeartbeat();
      this.hooks.heartbeat();
    }, Math.max(10, this.timeoutMs * livenessFractions.heartbeat));
  }

  private scheduleCheck(): void {
    this.checkTimer = this.clock.setTimeout(() => {
      this.checkTimer = null;
      if (this.mode === 'stopped') return;
      this.scheduleCheck();
      this.check();
    }, Math.max(10, this.timeoutMs * livenessFractions.check));
  }

  private check(): void {
    const silentMs = this.silentMs;
    if (this.mode === 'connected' && silentMs > this.timeoutMs * livenessFractions.silence) {
      this.suspended();
      this.hooks.suspend(silentMs);
    } else if (this.mode === 'suspended' && silentMs > this.timeoutMs) {
      this.stop();
      this.hooks.expire(silentMs);
    }
  }
}
