/**
 * `npm run test:chaos -- --seed N --duration 120s [--backend zookeeper]`: the long chaos run.
 * Prints the summary table per backend and exits 1 on any violation, 2 on a bad flag.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { validateBackend } from '../../src/client/index.js';
import { startZooKeeper } from '../../src/testing/index.js';
import { fail, milliseconds, orUsage } from '../../examples/support/cli.js';
import { runChaos } from './harness.js';

const usage =
  'usage: npm run test:chaos -- [--seed N] [--duration 120s] [--backend node-zookeeper-client|zookeeper] [--session-timeout 2000] [--history-dir DIR]';

const values = orUsage(
  () =>
    parseArgs({
      options: {
        seed: { type: 'string', default: '1' },
        duration: { type: 'string', default: '120s' },
        backend: { type: 'string' },
        'session-timeout': { type: 'string' },
        'history-dir': { type: 'string', default: tmpdir() },
      },
      strict: true,
    }).values,
  usage,
);
const seed = Number(values.seed);
if (!Number.isSafeInteger(seed)) fail(`--seed takes a whole number: got '${values.seed}'`, usage);
const duration = /^(\d+)(ms|s|m)?$/.exec(values.duration);
if (!duration) fail(`--duration takes e.g. 120s, 2m or 90000ms: got '${values.duration}'`, usage);
const durationMs = Number(duration[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[(duration[2] ?? 's') as 'ms' | 's' | 'm'];
const sessionTimeoutMs = milliseconds(values['session-timeout'], '--session-timeout', 2000);
const backends = values.backend ? [orUsage(() => validateBackend(values.backend), usage)] : (['node-zookeeper-client', 'zookeeper', 'builtin'] as const);
mkdirSync(values['history-dir'], { recursive: true });
const { ZK_CONNECT: _external, ...env } = process.env;

let failed = false;
for (const backend of backends) {
  const historyFile = join(values['history-dir'], `zk-leader-chaos-${backend}-${seed}.jsonl`);
  const zookeeper = await startZooKeeper({ servers: 3, env });
  console.log(`chaos: ${zookeeper.describe()}`);
  try {
    const result = await runChaos({
      zookeeper,
      backend,
      seed,
      durationMs,
      sessionTimeoutMs,
      log: (line) => console.log(`chaos: ${line}`),
      historyFile,
    });
    console.log(result.summary);
    for (const violation of result.report.violations) console.log(`  VIOLATION ${violation}`);
    console.log(`  history: ${historyFile}`);
    failed ||= result.report.violations.length > 0;
  } finally {
    await zookeeper.close();
  }
}
process.exit(failed ? 1 : 0);
