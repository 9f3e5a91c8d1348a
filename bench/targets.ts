/**
 * `npm run bench:targets`: the builtin client's two scale targets (issue 24), each beside
 * node-zookeeper-client in the same run against the same server, so the comparison holds
 * whatever else the machine is doing:
 * - heap per idle election at 10,000 elections on one session (goal <= 4 KiB);
 * - 10,000 participants over 100 sessions in one election agree (goal <= 3 s).
 * Prints a Markdown table with the run's settings and (without --quick) writes it to
 * bench/TARGETS.md; `npm run bench` writes bench/RESULTS.md with every row of all backends.
 *
 * Flags: --quick (500 elections, 10 x 20 participants), --backends a,b (default
 * node-zookeeper-client,builtin).
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BackendName } from '../src/client/types.js';
import { startZooKeeper } from '../src/testing/index.js';
import { inFreshProcess } from './fresh-process.js';
import { fixed } from './stats.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    backends: { type: 'string', default: 'node-zookeeper-client,builtin' },
  },
});
const backends = values.backends.split(',') as BackendName[];
const elections = values.quick ? 500 : 10_000;
const [sessions, perSession] = values.quick ? [10, 20] : [100, 100];
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
if (typeof globalThis.gc !== 'function') log('heap figures need node --expose-gc (npm run bench:targets passes it)');

const zookeeper = await startZooKeeper({ forceSync: false });
log(`using ${zookeeper.describe()}`);
const server = zookeeper.servers[0]!;
const rows: string[] = [];
try {
  for (const backend of backends) {
    log(`${elections} elections on one session, ${backend}`);
    // Each shape in a Node process of its own (bench/fresh-process.ts says why).
    const many = await inFreshProcess('scale', zookeeper.connectString, backend, 1, elections, `${elections} elections on one session`, {
      host: server.host,
      port: server.clientPort,
    });
    const watches = many.watchesPerElection! * elections;
    log(`one election, ${backend}, ${sessions} sessions x ${perSession}`);
    const one = await inFreshProcess('crowd', zookeeper.connectString, backend, sessions, perSession, `${sessions} sessions x ${perSession}`);
    const heap = many.heapPerElectionBytes === undefined ? 'n/a' : `${fixed(many.heapPerElectionBytes / 1024, 1)} KiB`;
    const agree = Number.isNaN(one.agreeMs) ? `not settled (${one.settledInLimit} of ${one.participants})` : `${fixed(one.agreeMs / 1000, 2)} s`;
    rows.push(`| ${backend} | ${heap} | ${fixed(watches / elections)} | ${fixed(many.agreeMs, 0)} | ${agree} | ${one.requestsPerChange} |`);
  }
} finally {
  await zookeeper.close();
}

const report = [
  '# The builtin client against its scale targets (`npm run bench:targets`)',
  '',
  `Run ${new Date().toISOString().slice(0, 10)}. Settings: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${zookeeper.describe()}, session timeout 10 s (the default); the backends one after the other in one run against one server.`,
  '',
  `| backend | heap per idle election (${elections} on one session; goal <= 4 KiB) | server watches per election | join until all lead ms | ${sessions * perSession} participants over ${sessions} sessions agree (goal <= 3 s) | requests per leader change |`,
  '| --- | --- | --- | --- | --- | --- |',
  ...rows,
];
console.log(report.join('\n'));
if (!values.quick) writeFileSync(fileURLToPath(new URL('TARGETS.md', import.meta.url)), report.join('\n') + '\n');
