import { describe, expect, it } from 'vitest';
import { handshakeTimeoutMs } from '../../src/client/protocol.js';

describe('the wait for a handshake answer', () => {
  it('lets at least three attempts into one session timeout, whatever the number of servers, and gives at least a second', () => {
    expect(handshakeTimeoutMs(20_000, 1, false)).toBe(6666);
    expect(handshakeTimeoutMs(20_000, 5, false)).toBe(4000);
    expect(handshakeTimeoutMs(2000, 1, false)).toBe(1000);
  });

  it('is at most 2 s for a reconnect, which the server answers at once when it answers at all', () => {
    expect(handshakeTimeoutMs(20_000, 1, true)).toBe(2000);
    expect(handshakeTimeoutMs(4500, 1, true)).toBe(1500);
    expect(handshakeTimeoutMs(2000, 3, true)).toBe(1000);
  });
});
