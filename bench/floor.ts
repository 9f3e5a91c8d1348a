import { createClient, openAcl } from './library.js';
import type { BackendName, ZkClient } from '../src/client/types.js';

/**
 * The floor under any graceful failover: one session deletes a node, another holds a data
 * watch on it; the time from the delete call to the watch firing. Nothing a recipe does can
 * be faster than this on the same server and client library: a handover is that delete and
 * that notification, plus whatever the recipe adds. Measured through zk-leader's client
 * adapter (one promise per call, no recipe), on each client library.
 */
export async function deleteToNotification(connect: string, backend: BackendName, rounds: number): Promise<number[]> {
  const root = `/zk-leader-bench/floor-${backend}-${process.pid}`;
  const [deleter, watcher] = await Promise.all([connected(connect, backend), connected(connect, backend)]);
  try {
    for (const path of ['/zk-leader-bench', root]) {
      await deleter.create(path, Buffer.alloc(0), 'persistent', openAcl).catch((error: { code?: string }) => {
        if (error.code !== 'NODE_EXISTS') throw error;
      });
    }
    const latencies: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const path = await deleter.create(`${root}/n_`, Buffer.alloc(0), 'ephemeral-sequential', openAcl);
      let fire = (_at: number) => {};
      const fired = new Promise<number>((resolve) => (fire = resolve));
      // The watch is set once its read has been answered; only then may the delete go.
      await watcher.getData(path, () => fire(performance.now()));
      const deletedAt = performance.now();
      await deleter.remove(path, -1);
      latencies.push((await fired) - deletedAt);
    }
    await deleter.remove(root, -1).catch(() => {});
    return latencies;
  } finally {
    await Promise.all([deleter.close(), watcher.close()]);
  }
}

async function connected(connect: string, backend: BackendName): Promise<ZkClient> {
  const client = createClient(backend, { connectString: connect, sessionTimeoutMs: 10_000 });
  const ready = new Promise<void>((resolve, reject) => {
    client.on('state', (state) => (state === 'connected' ? resolve() : state !== 'disconnected' && reject(new Error(`client ${state}`))));
  });
  client.connect();
  await ready;
  return client;
}
