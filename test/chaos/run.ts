/**
 * `npm run test:chaos -- --seed N --duration 120s [--backend zookeeper]`: the long chaos run.
 * Prints the summary table per backend and exits 1 on any violation.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BackendName } from '../../src/client/types.js';
import { startZooKeeper } from '../../src/testing/index.js';
import { runChaos } from './harness.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    duration: { type: 'string', default: '120s' },
    backend: { type: 'string' },
    'session-timeout': { type: 'string', default: '2000' },
    'history-dir': { type: 'string', default: tmpdir() },
  },
});
const duration = /^(\d+)(ms|s|m)?$/.exec(values.duration!);
if (!duration) {
  console.error(`--duration takes e.g. 120s, 2m or 90000ms: got '${values.duration}'`);
  process.exit(2);
}
const durationMs = Number(duration[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[(duration[2] ?? 's') as 'ms' | 's' | 'm'];
const backends = (values.backend ? [values.backend] : ['node-zookeeper-client', 'zookeeper']) as BackendName[];
const { ZK_CONNECT: _external, ...env } = process.env;

let failed = false;
for (const backend of backends) {
  const zookeeper = await startZooKeeper({ servers: 3, env });
  console.log(`chaos: ${zookeeper.describe()}`);
  try {
    const result = await runChaos({
      zookeeper,
      backend,
      seed: Number(values.seed),
      durationMs,
      sessionTimeoutMs: Number(values['session-timeout']),
      log: (line) => console.log(`chaos: ${line}`),
      historyFile: join(values['history-dir']!, `zk-leader-chaos-${backend}-${values.seed}.jsonl`),
    });
    console.log(result.summary);
    for (const violation of result.report.violations) console.log(`  VIOLATION ${violation}`);
    console.log(`  history: ${join(values['history-dir']!, `zk-leader-chaos-${backend}-${values.seed}.jsonl`)}`);
    failed ||= result.report.violations.length > 0;
  } finally {
    await zookeeper.close();
  }
}
process.exit(failed ? 1 : 0);
