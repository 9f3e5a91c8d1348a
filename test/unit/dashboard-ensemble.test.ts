import { describe, expect, it } from 'vitest';
import { EnsembleMonitor, notAllowed, parseCons, parseSrvr } from '../../src/dashboard/ensemble.js';
import { causeOf, TermHistory } from '../../src/dashboard/history.js';

// Replies as ZooKeeper 3.8 writes them.
const srvr = `Zookeeper version: 3.8.0-9316c2a7a97e1666d8f4593f34dd6fc36ecc436c, built on 2024-12-29 17:54 UTC
Latency min/avg/max: 0/0.4237/13
Received: 5
Sent: 4
Connections: 2
Outstanding: 1
Zxid: 0x2a
Mode: follower
Node count: 9
`;
const cons = (
  sid: string,
  lresp: number,
) => ` /127.0.0.1:50402[1](queued=0,recved=1,sent=1,sid=0x${sid},lop=PING,est=1796611941580,to=3000,lcxid=0x0,lzxid=0x1,lresp=${lresp},llat=6,minlat=0,avglat=6,maxlat=6)
 /127.0.0.1:50414[0](queued=0,recved=1,sent=0)
`;

describe('the ensemble panel reads four-letter words', () => {
  it('reads mode, version, latency, outstanding requests and connections from srvr', () => {
    expect(parseSrvr(srvr)).toEqual({
      version: '3.8.0',
      mode: 'follower',
      latencyMs: { min: 0, avg: 0.4237, max: 13 },
      outstanding: 1,
      connections: 2,
      nodeCount: 9,
      zxid: '0x2a',
    });
  });

  it('reads each connection of cons with its session as participants carry it (16 hex digits)', () => {
    expect(parseCons(cons('100015ea5d60000', 22980168))).toEqual([
      { address: '127.0.0.1:50402', sessionId: '0100015ea5d60000', timeoutMs: 3000, lastResponse: 22980168 },
      { address: '127.0.0.1:50414', sessionId: null, timeoutMs: null, lastResponse: null },
    ]);
  });

  it('tells a word the server does not allow from an answer', () => {
    expect(notAllowed('mntr is not executed because it is not in the whitelist.\n')).toBe(true);
    expect(notAllowed(srvr)).toBe(false);
  });

  it('says a session is connected once the server answered it, and since when it has had no connection', async () => {
    let now = 1000;
    let reply = cons('100015ea5d60000', 1);
    const monitor = new EnsembleMonitor({
      servers: [{ host: 'zk', port: 2181 }],
      now: () => now,
      ask: (_host, _port, word) => Promise.resolve(word === 'cons' ? reply : srvr),
    });
    expect(monitor.sighting('0100015ea5d60000').state).toBe('unknown');
    await monitor.poll();
    expect(monitor.sighting('0100015ea5d60000')).toMatchObject({ state: 'connected', answeredAfter: null });
    now = 2000;
    reply = cons('100015ea5d60000', 2);
    await monitor.poll();
    expect(monitor.sighting('0100015ea5d60000')).toMatchObject({ state: 'connected', answeredAfter: 1000, timeoutMs: 3000 });
    now = 3000;
    reply = '';
    await monitor.poll();
    expect(monitor.sighting('0100015ea5d60000')).toEqual({ state: 'absent', since: 3000 });
    monitor.close();
  });

  it('does not count a listed connection the server has not answered for its timeout (a partition)', async () => {
    let now = 0;
    let reply = cons('100015ea5d60000', 1);
    const monitor = new EnsembleMonitor({
      servers: [{ host: 'zk', port: 2181 }],
      now: () => now,
      ask: (_host, _port, word) => Promise.resolve(word === 'cons' ? reply : srvr),
    });
    await monitor.poll();
    now = 1000;
    reply = cons('100015ea5d60000', 2);
    await monitor.poll();
    // Still listed, but its last response stays where it was for longer than its 3 s timeout.
    now = 5000;
    await monitor.poll();
    expect(monitor.sighting('0100015ea5d60000')).toEqual({ state: 'absent', since: 5000 });
    monitor.close();
  });
});

describe('how a term ended', () => {
  const connected = { state: 'connected' as const, at: 10_000, answeredAfter: 9_000, timeoutMs: 3000 };
  it('a node that went while connected, with the session closed just after, was released', () => {
    expect(causeOf({ before: connected, after: { state: 'absent', since: 11_500 }, livesOn: false, settleMs: 1000, endedAt: 10_100 }).cause).toBe('released');
  });
  it('a node that went with no connection left for its session went with the expiry', () => {
    const found = causeOf({
      before: { state: 'absent', since: 7_000 },
      after: { state: 'absent', since: 7_000 },
      livesOn: false,
      settleMs: 1000,
      endedAt: 10_100,
    });
    expect(found).toMatchObject({ cause: 'expired', unreachableSince: 7_000 });
  });
  it('a node deleted while its session lives on was deleted, by whom ZooKeeper does not say', () => {
    expect(causeOf({ before: connected, after: connected, livesOn: false, settleMs: 1000, endedAt: 10_100 }).detail).toMatch(/does not record who/);
  });
  it('says unknown, and why, when the servers do not answer cons', () => {
    const found = causeOf({
      before: { state: 'unknown', why: 'zk:2181 does not allow cons' },
      after: { state: 'unknown', why: 'x' },
      livesOn: false,
      settleMs: 1000,
      endedAt: 1,
    });
    expect(found).toMatchObject({ cause: 'unknown', detail: expect.stringContaining('does not allow cons') });
  });
  it('says unknown when the server may not have heard from a connected session for its timeout', () => {
    const stale = { ...connected, answeredAfter: 6_000 };
    expect(causeOf({ before: stale, after: { state: 'absent', since: 11_000 }, livesOn: false, settleMs: 1000, endedAt: 10_100 }).cause).toBe('unknown');
  });
});

describe('the term history', () => {
  it('keeps the last terms per election and counts the ones it dropped', () => {
    const history = new TermHistory(2);
    for (const leader of ['a', 'b', 'c']) {
      const term = history.begin('/e', { leader, node: leader, sessionId: '0', token: '1', startedAt: 0, startSource: 'seen' });
      if (leader !== 'c') history.end(term, 1, { cause: 'released', detail: '' });
    }
    const [election] = history.snapshot();
    expect(election?.terms.map((term) => term.leader)).toEqual(['b', 'c']);
    expect(election?.dropped).toBe(1);
  });
});
