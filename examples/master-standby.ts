/**
 * Master/standby, as in the C client's example: the master serves, standbys wait and take
 * over when it goes. Run it on two or three ports:
 *
 *   npx tsx examples/master-standby.ts --connect 127.0.0.1:2181 --port 8081
 *   npx tsx examples/master-standby.ts --connect 127.0.0.1:2181 --port 8082 --takeover-delay 2000
 *
 * GET / answers "master <id>" (200) on the master and "standby, master is <id>" (503) on a
 * standby. The master's in-flight work (a job that takes a few seconds) stops through the
 * leadership AbortSignal the moment mastership ends. GET /healthz is a readiness probe
 * (election.health(), 200 or 503) and GET /metrics serves Prometheus metrics (prom-client).
 */
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { LeaderElection, type LeaderInfo } from 'zk-leader';
import { registerMetrics } from 'zk-leader/metrics';
import { fail, milliseconds, orUsage, parseExampleArgs } from './support/cli.js';

const usage = `usage: master-standby.ts [--connect host:port] --port N [--path /zk-leader/master]
                         [--id name] [--takeover-delay ms] [--session-timeout ms]
                         [--backend builtin|node-zookeeper-client|zookeeper]`;
const { values, connect, backend } = parseExampleArgs(usage, {
  port: { type: 'string' },
  path: { type: 'string', default: '/zk-leader/master' },
  id: { type: 'string' },
  'takeover-delay': { type: 'string' },
  'session-timeout': { type: 'string' },
});
const port = milliseconds(values.port, '--port', -1);
if (port < 0) fail('--port is required', usage);
const id = (values.id as string | undefined) ?? `standby-${port}`;
const say = (words: string) => console.log(`${new Date().toISOString()} ${id}: ${words}`);

const election = orUsage(
  () =>
    new LeaderElection({
      connect,
      backend,
      path: values.path as string,
      id,
      data: { url: `http://127.0.0.1:${port}/` },
      takeoverDelayMs: milliseconds(values['takeover-delay'], '--takeover-delay', 0),
      sessionTimeoutMs: milliseconds(values['session-timeout'], '--session-timeout', 10_000),
      trackLeader: true,
      releaseOnSignals: true,
    }),
  usage,
);

let currentMaster: LeaderInfo | null = null;
election.on('follower', ({ leader }) => {
  currentMaster = leader;
  say(`standby; master is ${leader.id}`);
});
election.on('leader', (leader) => {
  currentMaster = leader;
  if (leader) say(`standby; master is now ${leader.id}`);
});
election.on('lost', ({ reason }) => say(`no longer master (${reason})`));
election.on('error', (error) => say(`error: ${error.message}`));
election.on('stopped', () => {
  say('stopped');
  server.close();
  process.exit(0);
});

const registry = new Registry();
registry.setDefaultLabels({ instance: id });
collectDefaultMetrics({ register: registry });
registerMetrics({ registry });

const server = createServer((request, response) => {
  if (request.url === '/healthz') {
    const health = election.health();
    response.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(health)}\n`);
  } else if (request.url === '/metrics') {
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: Error) => response.writeHead(500).end(error.message),
    );
  } else if (election.isLeader) {
    response.writeHead(200, { 'content-type': 'text/plain' }).end(`master ${id}\n`);
  } else {
    response.writeHead(503, { 'content-type': 'text/plain' }).end(`standby, master is ${currentMaster?.id ?? 'unknown'}\n`);
  }
});
server.on('error', (error) => fail(`cannot listen on port ${port}: ${error.message}`));
await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
say(`listening on http://127.0.0.1:${port}/`);

/** The master's work: jobs that take a while and stop the moment mastership ends. */
async function serveAsMaster(signal: AbortSignal, fencingToken: bigint): Promise<void> {
  say(`master now (fencing token ${fencingToken})`);
  for (let job = 1; !signal.aborted; job++) {
    try {
      await sleep(3000, undefined, { signal });
      say(`job ${job} done under fencing token ${fencingToken}`);
    } catch {
      say(`job ${job} interrupted: mastership ended`);
    }
  }
}

election
  .runWhileLeader((signal, { fencingToken }) => serveAsMaster(signal, fencingToken))
  .catch((error) => {
    say(`error: ${(error as Error).message}`);
    process.exit(2);
  });
