import { describe, expect, it } from 'vitest';
import { ManualClock } from '../support/manual-clock.js';
import { Liveness } from '../../src/liveness.js';

function watched(timeoutMs = 3000) {
  const clock = new ManualClock();
  const calls: string[] = [];
  const liveness = new Liveness(clock, {
    heartbeat: () => calls.push(`heartbeat@${clock.now()}`),
    suspend: () => calls.push(`suspend@${clock.now()}`),
    expire: () => calls.push(`expire@${clock.now()}`),
  });
  liveness.connected(timeoutMs);
  return { clock, calls, liveness };
}

describe('the liveness clock', () => {
  it('sends a heartbeat every quarter of the session timeout while replies come', () => {
    const { clock, calls, liveness } = watched(3000);
    for (let step = 0; step < 12; step++) {
      clock.advance(250);
      liveness.heard();
    }
    expect(calls).toEqual(['heartbeat@750', 'heartbeat@1500', 'heartbeat@2250', 'heartbeat@3000']);
  });

  it('suspends at 2/3 of the timeout without an answer, and expires at 19/20 of it', () => {
    const { clock, calls } = watched(3000);
    clock.advance(4000);
    expect(calls.filter((call) => !call.startsWith('heartbeat'))).toEqual(['suspend@2000', 'expire@2850']);
    // Heartbeats go on while suspended (the session sends them only where an answer can come,
    // and one resumes it), and nothing at all happens after expiry.
    const heartbeats = calls.filter((call) => call.startsWith('heartbeat')).map((call) => Number(call.split('@')[1]));
    expect(heartbeats.some((at) => at > 2000 && at <= 2850)).toBe(true);
    expect(heartbeats.every((at) => at <= 2850)).toBe(true);
  });

  it('counts silence from when the last answered request was sent, not from when its answer came', () => {
    const { clock, calls, liveness } = watched(3000);
    clock.advance(1000);
    // A heartbeat sent at 1000 ms is answered only at 1900 ms: the server heard us at 1000 at the earliest.
    clock.advance(900);
    liveness.heard(1000);
    clock.advance(2100);
    expect(calls.filter((call) => !call.startsWith('heartbeat'))).toEqual(['suspend@3000', 'expire@3850']);
  });

  it('resumes after a silence when a recent enough answer comes, and not for an old one', () => {
    const { clock, calls, liveness } = watched(3000);
    clock.advance(2100);
    expect(calls.at(-1)).toBe('suspend@2000');
    // An answer to a request sent at 100 ms: still silent for longer than 2/3 of the timeout.
    liveness.heard(100);
    expect(liveness.resume()).toBe(false);
    // An answer to one sent at 1500 ms: back to connected, with a new suspension deadline.
    liveness.heard(1500);
    expect(liveness.resume()).toBe(true);
    clock.advance(2000);
    expect(calls.filter((call) => !call.startsWith('heartbeat'))).toEqual(['suspend@2000', 'suspend@3500']);
  });

  it('keeps counting towards expiry through a dropped connection', () => {
    const { clock, calls, liveness } = watched(3000);
    clock.advance(1000);
    liveness.suspended();
    clock.advance(2500);
    expect(calls.some((call) => call.startsWith('expire'))).toBe(true);
    expect(calls.some((call) => call.startsWith('suspend'))).toBe(false);
  });

  it('ignores the wall clock: a backward step of Date.now() does not delay the suspension', () => {
    const realNow = Date.now;
    Date.now = () => realNow() - 3_600_000;
    try {
      const { clock, calls } = watched(3000);
      clock.advance(2300);
      expect(calls.some((call) => call.startsWith('suspend'))).toBe(true);
    } finally {
      Date.now = realNow;
    }
  });

  it('leaves no timer behind once stopped', () => {
    const { clock, liveness } = watched(3000);
    clock.advance(1000);
    liveness.stop();
    expect(clock.pending).toBe(0);
  });
});
