/**
 * `npm run bench:compare -- --baseline DIR [--rounds 50] [--repeats 3] [--durable]`: graceful
 * failover of this tree against another checkout of zk-leader (e.g. `git worktree add DIR
 * main`), interleaved on one ZooKeeper server, every backend. For a change's effect on the
 * hot path, measured side by side on the same machine.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BackendName } from '../src/client/types.js';
import { startZooKeeper } from '../src/testing/index.js';
import { gracefulFailover } from './failover.js';
import { fixed, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '50' },
    repeats: { type: 'string', default: '3' },
    durable: { type: 'boolean', default: false },
  },
});
if (!values.baseline) {
  console.error('usage: npm run bench:compare -- --baseline DIR [--rounds 50] [--repeats 3] [--durable]');
  process.exit(2);
}
const baseline = (await import(pathToFileURL(resolve(values.baseline, 'bench/failover.ts')).href)) as { gracefulFailover: typeof gracefulFailover };
const zookeeper = await startZooKeeper({ forceSync: values.durable });
console.log(`${zookeeper.describe()}; ${values.rounds} rounds x ${values.repeats} repeats, interleaved`);
const backends: BackendName[] = ['node-zookeeper-client', 'builtin', 'zookeeper'];
const runs = new Map<string, number[]>();
try {
  for (let repeat = 0; repeat < Number(values.repeats); repeat++) {
    for (const backend of backends) {
      for (const [name, run] of [
        ['baseline', baseline.gracefulFailover],
        ['this tree', gracefulFailover],
      ] as const) {
        const latencies = await run(zookeeper.connectString, backend, Number(values.rounds));
        runs.set(`${name} (${backend})`, [...(runs.get(`${name} (${backend})`) ?? []), ...latencies]);
      }
    }
  }
  console.log('| tree (backend) | rounds | median ms | p99 ms |\n| --- | --- | --- | --- |');
  for (const [name, latencies] of runs) {
    const stats = summarize(latencies);
    console.log(`| ${name} | ${latencies.length} | ${fixed(stats.median)} | ${fixed(stats.p99)} |`);
  }
} finally {
  await zookeeper.close();
}
