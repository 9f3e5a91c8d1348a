import { describe, expect } from 'vitest';
import { runChaos } from '../chaos/harness.js';
import { backends, itWithOwnServers, startOwnZooKeeper } from '../support/zookeeper.js';

// The bounded run inside `npm test`; `npm run test:chaos` runs the long ones.
const durationMs = 25_000;

describe.each(backends)('chaos on %s (bounded run)', (backend) => {
  itWithOwnServers(
    'keeps one leader at a time through kills, pauses, partitions and quorum loss',
    async () => {
      await using ensemble = await startOwnZooKeeper({ servers: 3 });
      const result = await runChaos({ zookeeper: ensemble, backend, seed: backend === 'zookeeper' ? 7 : 3, durationMs, sessionTimeoutMs: 2000 });
      console.log(result.summary);
      expect(result.faults.length).toBeGreaterThanOrEqual(4);
      expect(result.report.terms.length).toBeGreaterThanOrEqual(2);
      expect(result.report.violations).toEqual([]);
    },
    durationMs + 120_000,
  );
});
