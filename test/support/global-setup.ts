import type { TestProject } from 'vitest/node';
import { startZooKeeper, type ZooKeeperHandle } from '../../src/testing/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    zkConnect: string;
    zkKind: string;
    zkMinSessionTimeoutMs: number;
  }
}

let zookeeper: ZooKeeperHandle | undefined;

/** One real ZooKeeper for the whole run; tests that need to kill servers start their own. */
export async function setup(project: TestProject): Promise<void> {
  zookeeper = await startZooKeeper();
  console.log(`[zk-leader tests] ${zookeeper.describe()}`);
  // The test files (worker processes, which inherit this environment) start their own servers
  // from the same provider, without probing Docker again or repeating why it was passed over.
  if (zookeeper.kind !== 'external') process.env.ZK_PROVIDER ??= zookeeper.kind === 'docker' ? 'docker' : 'local';
  project.provide('zkConnect', zookeeper.connectString);
  project.provide('zkKind', zookeeper.kind);
  project.provide('zkMinSessionTimeoutMs', zookeeper.minSessionTimeoutMs);
}

export async function teardown(): Promise<void> {
  await zookeeper?.close();
}
