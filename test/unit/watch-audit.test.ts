import { describe, expect, it } from 'vitest';
import type { NodeStat } from '../../src/client/types.js';
import { WatchAudit, type AuditReader } from '../../src/watch-audit.js';
import { ManualClock } from '../support/manual-clock.js';

// The audit looks, at its period, at what a participant's watches should have told it: a
// watch ZooKeeper used up without a notice (the node was unreadable) must not leave it waiting.

const stat = (fields: Partial<NodeStat>): NodeStat => ({
  czxid: 1n,
  mzxid: 1n,
  pzxid: 1n,
  version: 0,
  ephemeralOwner: '0000000000000000',
  createdAtMs: 0,
  numChildren: 0,
  dataLength: 0,
  ...fields,
});

/** A reader over a map of stats; `looks` counts the requests it answered. */
function fakeReader(stats: Map<string, NodeStat>): AuditReader & { looks: number; gone: boolean } {
  return {
    gone: false,
    looks: 0,
    exists(path) {
      this.looks += 1;
      return Promise.resolve(stats.get(path) ?? null);
    },
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function audited() {
  const clock = new ManualClock();
  const changes: number[] = [];
  const audit = new WatchAudit({
    clock: () => clock,
    auditChanged: () => changes.push(clock.now()),
  });
  const stats = new Map<string, NodeStat>();
  const reader = fakeReader(stats);
  return { clock, changes, audit, stats, reader };
}

describe('WatchAudit', () => {
  it('reports a followed node that went, or was written, without a notice', async () => {
    const { clock, changes, audit, stats, reader } = audited();
    stats.set('/e/pred', stat({ mzxid: 5n }));
    audit.expect(reader, [{ kind: 'node', path: '/e/pred', mzxid: 5n }], 1000);
    clock.advance(1000);
    await settle();
    expect(changes).toEqual([]);
    stats.set('/e/pred', stat({ mzxid: 6n }));
    clock.advance(1000);
    await settle();
    expect(changes).toEqual([2000]);
    stats.delete('/e/pred');
    clock.advance(1000);
    await settle();
    expect(changes).toEqual([2000, 3000]);
  });

  it('relists after its first look at a path, then only when a join or leave moved its pzxid', async () => {
    const { clock, changes, audit, stats, reader } = audited();
    stats.set('/e', stat({ pzxid: 7n }));
    audit.expect(reader, [{ kind: 'children', path: '/e' }], 500);
    clock.advance(500);
    await settle();
    // The listing before this look may be older than a silent join: the first look cannot tell.
    expect(changes).toEqual([500]);
    audit.expect(reader, [{ kind: 'children', path: '/e' }], 500);
    clock.advance(500);
    await settle();
    expect(changes).toEqual([500]);
    stats.set('/e', stat({ pzxid: 9n }));
    clock.advance(500);
    await settle();
    expect(changes).toEqual([500, 1500]);
  });

  it('is quiet once stopped, once its reader is gone, and drops a look in flight when told to check something else', async () => {
    const { clock, changes, audit, stats, reader } = audited();
    audit.expect(reader, [{ kind: 'node', path: '/e/pred', mzxid: 1n }], 1000);
    reader.gone = true;
    clock.advance(1000);
    await settle();
    expect(reader.looks).toBe(0);
    reader.gone = false;
    audit.expect(reader, [{ kind: 'node', path: '/e/pred', mzxid: 1n }], 1000);
    clock.advance(1000);
    // Asked, and before the answer comes the owner moved on: that answer is about the old set.
    stats.set('/e/other', stat({}));
    audit.expect(reader, [{ kind: 'node', path: '/e/other', mzxid: 1n }], 1000);
    await settle();
    expect(changes).toEqual([]);
    audit.stop();
    clock.advance(10_000);
    await settle();
    expect(changes).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});
