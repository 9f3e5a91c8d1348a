import { describe, expect } from 'vitest';
import { faultKinds, runChaos } from '../chaos/harness.js';
import { backends, itWithOwnServers, startOwnZooKeeper } from '../support/zookeeper.js';

// The bounded run inside `npm test`: at least 25 s, and until every fault kind has run once
// (the schedule puts one of each first). `npm run test:chaos` runs the long ones.
const durationMs = 25_000;
const leaderFaults = ['kill9-leader', 'sigterm-leader', 'sigstop', 'partition-leader'];

describe.each(backends)('chaos on %s (bounded run)', (backend) => {
  itWithOwnServers(
    'keeps one leader at a time through kills, pauses, partitions and quorum loss',
    async () => {
      await using ensemble = await startOwnZooKeeper({ servers: 3 });
      const result = await runChaos({ zookeeper: ensemble, backend, seed: backend === 'zookeeper' ? 7 : 3, durationMs, sessionTimeoutMs: 2000 });
      console.log(result.summary);
      expect(result.report.violations).toEqual([]);
      expect([...result.kinds].sort()).toEqual([...faultKinds].sort());
      // Each fault aimed at the leader moved leadership to another worker (a pause or a
      // partition past the session timeout too): the faults really hit the leader.
      for (const fault of result.faults.filter((f) => leaderFaults.includes(f.kind))) {
        const successor = result.report.terms.find((term) => term.id !== fault.target && term.start > fault.at);
        expect(successor, `someone other than ${fault.target} led after ${fault.kind} at ${fault.at}`).toBeDefined();
      }
      expect(result.report.writesAccepted, 'leaders wrote to the fenced store').toBeGreaterThan(0);
      expect(result.report.staleWritesAccepted).toBe(0);
      // The native backend has no multi, so no transaction(); the others' leaders commit.
      if (backend !== 'zookeeper') expect(result.report.guardedCommits, 'leaders committed through transaction()').toBeGreaterThan(0);
      expect(result.report.guardedCommitsSuperseded).toBe(0);
    },
    durationMs * 4 + 120_000,
  );
});
