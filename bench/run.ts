/**
 * `npm run bench`: failover speed, herd effect and scale against a real ZooKeeper, on both
 * backends, with kazoo and Curator measured in the same run on the same server when they
 * are installed. Prints a table and writes bench/RESULTS.md and bench/failover.svg.
 *
 * Flags: --rounds N (graceful failover rounds, default 50), --quick (small sizes), --skip-peers,
 * --durable (the server fsyncs every write, as in production).
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BackendName } from '../src/client/types.js';
import { startZooKeeper } from '../src/testing/index.js';
import { gracefulFailover, processHandover } from './failover.js';
import { herd, type HerdResult } from './herd.js';
import { curatorFailover, kazooFailover, mixedCuratorHandover, type PeerResult } from './peers.js';
import { failoverChart, type Series } from './report.js';
import { scale, type ScaleResult } from './scale.js';
import { fixed, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '50' },
    quick: { type: 'boolean', default: false },
    'skip-peers': { type: 'boolean', default: false },
    durable: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const quick = values.quick;
const backends: BackendName[] = ['node-zookeeper-client', 'zookeeper'];
const crashSessionTimeoutMs = 2000;
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

// By default the server skips the fsync per write (forceSync=no) so the figures measure the
// clients; --durable measures with it, which adds the same disk flush to every handover.
const zookeeper = await startZooKeeper({ forceSync: values.durable });
log(`using ${zookeeper.describe()}`);
const connect = zookeeper.connectString;
const lines: string[] = [];
const out = (line = '') => {
  lines.push(line);
  console.log(line);
};

try {
  // Graceful failover, ours and the peers', in one run against one server.
  const series: Series[] = [];
  for (const backend of backends) {
    log(`graceful failover, ${backend}, ${rounds} rounds`);
    series.push({ name: `zk-leader (${backend})`, latencies: await gracefulFailover(connect, backend, rounds) });
  }
  const peers: PeerResult[] = [];
  if (!values['skip-peers']) {
    for (const peer of [kazooFailover, curatorFailover]) {
      log(`graceful failover, ${peer.name}`);
      const result = await peer(connect, rounds);
      peers.push(result);
      if (result.latencies) series.push({ name: `${result.name} ${result.version}`.trim(), latencies: result.latencies });
      else log(result.missing!);
    }
  }

  log('signal handover (SIGTERM, releaseOnSignals) between worker processes');
  const sigterm = await processHandover(connect, 'SIGTERM', quick ? 3 : 10, 10_000);
  log(`crash failover (kill -9), session timeout ${crashSessionTimeoutMs} ms`);
  const crash = await processHandover(connect, 'SIGKILL', quick ? 2 : 5, crashSessionTimeoutMs);
  log('mixed fleet: SIGTERM handover between zk-leader (recipe curator-latch) and Curator LeaderLatch processes');
  const mixed = values['skip-peers'] ? { missing: 'skipped (--skip-peers)' } : await mixedCuratorHandover(connect, quick ? 2 : 5);

  const herds: (HerdResult & { backend: BackendName })[] = [];
  for (const backend of backends) {
    for (const size of quick ? [10, 50] : [10, 100, 500]) {
      log(`herd, ${backend}, ${size} participants`);
      herds.push({ backend, ...(await herd(connect, backend, size)) });
    }
  }

  const scales: (ScaleResult & { backend: BackendName })[] = [];
  for (const backend of backends) {
    const shapes: [number, number, string][] = quick
      ? [
          [20, 5, '20 sessions x 5 elections'],
          [1, 100, '100 elections on one session'],
        ]
      : [
          [100, 10, '100 sessions x 10 elections'],
          [1000, 1, '1,000 sessions x 1 election'],
          [1, 1000, '1,000 elections on one session'],
        ];
    for (const [sessions, elections, label] of shapes) {
      log(`scale, ${backend}, ${label}`);
      scales.push({ backend, ...(await scale(connect, backend, sessions, elections, label)) });
    }
  }

  // Report.
  const ours = series.filter((entry) => entry.name.startsWith('zk-leader'));
  const theirs = series.filter((entry) => !entry.name.startsWith('zk-leader'));
  const bestPeer = theirs.map((entry) => ({ entry, median: summarize(entry.latencies).median })).sort((a, b) => a.median - b.median)[0];
  out('# zk-leader benchmark results');
  out();
  out(`Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; ${zookeeper.describe()}.`);
  out(`Date: ${new Date().toISOString()}. All figures from one run, same machine, same server; loopback. Machines here are noisy: read medians and ratios.`);
  out(
    values.durable
      ? 'The server fsyncs every write (forceSync=yes): each handover includes one disk flush, the same for every implementation.'
      : 'The server runs with forceSync=no, so the figures measure the clients rather than the disk; `npm run bench -- --durable` adds the (same) fsync to every implementation.',
  );
  out();
  out('## Graceful failover (leader releases, next participant elected)');
  out();
  out(`| implementation | rounds | median ms | p99 ms | min ms | ratio to best peer median |`);
  out(`| --- | --- | --- | --- | --- | --- |`);
  for (const entry of series) {
    const summary = summarize(entry.latencies);
    const ratio = bestPeer ? fixed(summary.median / bestPeer.median) : 'n/a';
    out(`| ${entry.name} | ${summary.count} | ${fixed(summary.median)} | ${fixed(summary.p99)} | ${fixed(summary.min)} | ${ratio} |`);
  }
  for (const peer of peers.filter((result) => !result.latencies)) out(`| ${peer.name} | not run: ${peer.missing} | | | | |`);
  out();
  if (bestPeer) {
    for (const entry of ours) {
      const ratio = summarize(entry.latencies).median / bestPeer.median;
      out(`- ${entry.name}: median ${fixed(ratio)} x the best peer (${bestPeer.entry.name}); target at most 0.5: ${ratio <= 0.5 ? 'met' : 'NOT met'}.`);
    }
    out();
  }
  out('![failover latency distribution](failover.svg)');
  out();
  out('## Handover between processes (worker.ts, wall clock)');
  out();
  out('| event | rounds | median ms | p99 ms | max ms |');
  out('| --- | --- | --- | --- | --- |');
  for (const [name, sample] of [
    ['SIGTERM (releaseOnSignals)', sigterm],
    [`kill -9 (session timeout ${crashSessionTimeoutMs} ms)`, crash],
  ] as const) {
    const summary = summarize(sample);
    out(`| ${name} | ${summary.count} | ${fixed(summary.median, 1)} | ${fixed(summary.p99, 1)} | ${fixed(summary.max, 1)} |`);
  }
  if ('missing' in mixed) out(`| mixed fleet with Curator | not run: ${mixed.missing} | | | |`);
  else {
    for (const [name, sample] of [
      [`mixed fleet, SIGTERM: zk-leader -> Curator ${mixed.version} LeaderLatch`, mixed.toCurator],
      [`mixed fleet, SIGTERM: Curator ${mixed.version} LeaderLatch -> zk-leader`, mixed.toZkLeader],
    ] as const) {
      const summary = summarize(sample);
      out(`| ${name} | ${summary.count} | ${fixed(summary.median, 1)} | ${fixed(summary.p99, 1)} | ${fixed(summary.max, 1)} |`);
    }
  }
  out();
  out('## Herd effect (per leader change, worst of 3 changes)');
  out();
  out('| backend | participants | participants woken | requests sent |');
  out('| --- | --- | --- | --- |');
  for (const result of herds) out(`| ${result.backend} | ${result.participants} | ${result.wokenPerChange} | ${result.requestsPerChange} |`);
  out();
  out('## Scale (join until every participant agrees on its leader)');
  out();
  out('| backend | shape | participants | time to agree ms | heap per election |');
  out('| --- | --- | --- | --- | --- |');
  for (const result of scales) {
    const heap = result.heapPerElectionBytes === undefined ? 'run with node --expose-gc' : `${(result.heapPerElectionBytes / 1024).toFixed(1)} KiB`;
    out(`| ${result.backend} | ${result.label} | ${result.participants} | ${fixed(result.agreeMs, 0)} | ${heap} |`);
  }
  if (!quick) {
    const here = fileURLToPath(new URL('.', import.meta.url));
    writeFileSync(`${here}RESULTS.md`, lines.join('\n') + '\n');
    writeFileSync(`${here}failover.svg`, failoverChart(series) + '\n');
    log('wrote bench/RESULTS.md and bench/failover.svg');
  }
} finally {
  await zookeeper.close();
}
process.exit(0);
