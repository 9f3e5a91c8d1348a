import { afterEach } from 'vitest';
import type { BackendName } from '../../src/client/types.js';
import { LeaderElection, type LeaderElectionOptions } from '../../src/election.js';
import { adminSession, removeTree, zkConnect } from './zookeeper.js';

/**
 * Makes participants for one test and stops them (and removes the test's path) afterwards,
 * so every test owns its path and leaves nothing behind.
 */
export function electionFixture(backend: BackendName) {
  const created: LeaderElection[] = [];
  const paths = new Set<string>();
  afterEach(async () => {
    await Promise.all(created.splice(0).map((election) => election.stop()));
    const admin = await adminSession();
    for (const path of paths) await removeTree(admin, path);
    paths.clear();
    await admin.close();
  });
  return function participant(path: string, options: Partial<LeaderElectionOptions> = {}): LeaderElection {
    paths.add(path);
    const election = new LeaderElection({
      path,
      backend,
      ...(options.session ? {} : { connect: zkConnect(), sessionTimeoutMs: 4000 }),
      ...options,
    });
    // Tests assert on errors explicitly; an unexpected one must not crash the worker.
    election.on('error', () => {});
    created.push(election);
    return election;
  };
}
