import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { BackendName } from '../../src/client/types.js';
import type { ZooKeeperHandle } from '../../src/testing/index.js';
import { startWorker, type ExampleProcess } from '../../examples/support/processes.js';
import { Session } from '../../src/session.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { checkHistory, summaryTable, type Fault, type GuardedCommit, type HistoryReport, type StoreWrite, type WorkerEvent } from './history.js';

export interface ChaosOptions {
  zookeeper: ZooKeeperHandle;
  backend: BackendName;
  seed: number;
  durationMs: number;
  workers?: number;
  sessionTimeoutMs?: number;
  log?: (line: string) => void;
  /** Writes every event and fault here (JSON lines), to study a failed run. */
  historyFile?: string;
}

export interface ChaosResult {
  report: HistoryReport;
  faults: Fault[];
  /** The fault kinds that ran at least once. */
  kinds: string[];
  summary: string;
}

/** mulberry32: a small seeded PRNG, so a failing schedule can be replayed with its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const wallClock = () => performance.timeOrigin + performance.now();

interface Worker {
  id: string;
  process: ExampleProcess;
  /** One proxy per server: cutting all of them partitions this worker alone. */
  proxies: TcpProxy[];
  gone: boolean;
}

export const faultKinds = ['kill9-leader', 'sigterm-leader', 'sigstop-leader', 'partition-leader', 'kill-server', 'lose-quorum'] as const;
type FaultKind = (typeof faultKinds)[number];

/** One fault as drawn from the seed, with every random choice it needs. */
interface PlannedFault {
  kind: FaultKind;
  /** How long a pause or partition lasts, as a multiple of the session timeout (1.2 to 2.2). */
  holdFactor: number;
  /** Which server to kill, and for how long. */
  serverIndex: number;
  serverDownMs: number;
  /** Which two servers to stop to lose quorum, and for how long. */
  quorumPair: [number, number];
  quorumDownMs: number;
  /** The pause before the next fault. */
  settleMs: number;
}

/**
 * The whole schedule, drawn from the seed before anything runs, so a run replays exactly:
 * every kind once first (in a seeded order), then random kinds. Nothing that happens during
 * the run (a fault skipped, a slow election) moves a later draw.
 */
export function planFaults(seed: number, count: number, servers: number): PlannedFault[] {
  const next = random(seed);
  const firstRound = [...faultKinds]
    .map((kind) => ({ kind, order: next() }))
    .sort((a, b) => a.order - b.order)
    .map((entry) => entry.kind);
  const plan: PlannedFault[] = [];
  for (let index = 0; index < count; index++) {
    const kind = index < firstRound.length ? firstRound[index]! : faultKinds[Math.floor(next() * faultKinds.length)]!;
    const shuffled = Array.from({ length: servers }, (_, server) => ({ server, order: next() })).sort((a, b) => a.order - b.order);
    plan.push({
      kind,
      holdFactor: 1.2 + next(),
      serverIndex: Math.floor(next() * servers),
      serverDownMs: Math.round(1000 + next() * 2000),
      quorumPair: [shuffled[0]!.server, shuffled[1]!.server],
      quorumDownMs: Math.round(2000 + next() * 2000),
      settleMs: Math.round(300 + next() * 700),
    });
  }
  return plan;
}

/**
 * The resource the docs tell leaders to fence: it accepts a write only with a token at least
 * as large as any it has seen, and keeps every write for the checker.
 */
class FencedStore {
  readonly writes: StoreWrite[] = [];
  private maxToken = -1n;
  private server: Server | null = null;
  url = '';

  async listen(): Promise<void> {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const ts = wallClock();
        try {
          const { id, token } = JSON.parse(body) as { id: string; token: string };
          const value = BigInt(token);
          const accepted = value >= this.maxToken;
          if (accepted) this.maxToken = value;
          this.writes.push({ ts, id, token: value, accepted });
          response.writeHead(accepted ? 200 : 409).end();
        } catch {
          response.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * Five worker.ts --json processes on a 3-server ensemble, each behind its own TCP proxies,
 * writing to a fenced store while they lead; a seeded schedule of faults, each followed by a
 * heal; then the history checker. The run lasts `durationMs` and at least until every fault
 * kind has run once.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const { zookeeper, backend, seed } = options;
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 2000;
  const log = options.log ?? (() => {});
  const plan = planFaults(seed, 1000, zookeeper.servers.length);
  const path = `/zk-leader-chaos/${backend}-${seed}-${process.pid}`;
  const workers: Worker[] = [];
  const retired: Worker[] = [];
  const faults: Fault[] = [];
  const exits: WorkerEvent[] = [];
  const problems: string[] = [];
  const store = new FencedStore();
  await store.listen();
  // Leaders also commit records here through election.transaction() (backends with multi):
  // the server's own order of them shows whether a superseded leader ever got one in.
  const records = backend === 'zookeeper' ? undefined : `${path}-records`;
  if (records) await withAdmin(zookeeper.connectString, (admin) => admin.ensurePath(records));
  let counter = 0;
  /** Workers the harness is ending on purpose, and how. */
  const ending = new Map<Worker, 'SIGKILL' | 'SIGTERM'>();

  async function spawnWorker(): Promise<Worker> {
    const id = `w${++counter}`;
    const proxies = await Promise.all(zookeeper.servers.map((server) => TcpProxy.to(server.connectString)));
    const connect = proxies.map((proxy) => proxy.connectString).join(',');
    const child = startWorker({ connect, path, id, sessionTimeoutMs, backend, fencedStore: store.url, guardedWrites: records });
    const worker: Worker = { id, process: child, proxies, gone: false };
    void child.exited.then(({ code, signal }) => {
      worker.gone = true;
      const how = ending.get(worker);
      // A worker that dies on its own acts no more from here: its term, if open, ends now.
      if (!how) {
        exits.push({ ts: wallClock(), id, event: 'exited' });
        problems.push(`${id} exited on its own (code ${code}, signal ${signal}); stderr: ${child.stderr.join(' | ') || '(empty)'}`);
      } else if (how === 'SIGTERM' && (code !== 0 || signal !== null)) {
        problems.push(`${id} did not stop cleanly on SIGTERM (code ${code}, signal ${signal}); stderr: ${child.stderr.join(' | ') || '(empty)'}`);
      }
    });
    workers.push(worker);
    await child.waitForEvent('started');
    return worker;
  }

  function leader(): Worker | undefined {
    return workers.find((worker) => {
      if (worker.gone) return false;
      const events = worker.process.events().filter((event) => event.event === 'elected' || event.event === 'lost' || event.event === 'stopped');
      return events[events.length - 1]?.event === 'elected';
    });
  }

  /** Waits for a leader; a cluster that stays leaderless this long is a finding, not a pause. */
  async function waitForLeader(timeoutMs: number, after: string): Promise<Worker | undefined> {
    const until = Date.now() + timeoutMs;
    for (let found = leader(); ; found = leader()) {
      if (found) return found;
      if (Date.now() >= until) {
        problems.push(`no leader within ${timeoutMs} ms ${after}`);
        return undefined;
      }
      await sleep(50);
    }
  }

  async function retire(worker: Worker, how: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const at = wallClock();
    ending.set(worker, how);
    worker.process.signal(how);
    await worker.process.exited;
    // A killed process acts no more from this moment: its term, if any, ends here.
    if (how === 'SIGKILL') exits.push({ ts: at, id: worker.id, event: 'exited' });
    workers.splice(workers.indexOf(worker), 1);
    retired.push(worker);
    await Promise.all(worker.proxies.map((proxy) => proxy.close()));
  }

  for (let index = 0; index < (options.workers ?? 5); index++) await spawnWorker();
  await waitForLeader(sessionTimeoutMs * 5, 'after the workers started');
  const endAt = Date.now() + options.durationMs;
  // A bound for a run that cannot get every kind in (it would be reported below).
  const hardEndAt = endAt + options.durationMs * 3 + 60_000;
  const ran = new Set<string>();
  let shutdownAt = 0;
  try {
    for (const planned of plan) {
      const allKinds = faultKinds.every((kind) => ran.has(kind));
      if ((Date.now() >= endAt && allKinds) || Date.now() >= hardEndAt) break;
      const { kind } = planned;
      const target = leader();
      const at = wallClock();
      const holdMs = Math.round(sessionTimeoutMs * planned.holdFactor);
      if (kind.endsWith('-leader') && !target) {
        problems.push(`no leader to aim ${kind} at, at ${at.toFixed(0)}`);
        continue;
      }
      log(`fault ${faults.length + 1} at ${at.toFixed(0)}: ${kind}${target && kind.endsWith('-leader') ? ` on ${target.id}` : ''}`);
      switch (kind) {
        case 'kill9-leader':
        case 'sigterm-leader': {
          await retire(target!, kind === 'kill9-leader' ? 'SIGKILL' : 'SIGTERM');
          faults.push({ kind, target: target!.id, at, healedAt: wallClock() });
          await spawnWorker();
          break;
        }
        case 'sigstop-leader': {
          target!.process.signal('SIGSTOP');
          await sleep(holdMs);
          // Stamped before SIGCONT: the resumed process may print `lost` before this process runs again.
          const resumedAt = wallClock();
          target!.process.signal('SIGCONT');
          faults.push({ kind: 'sigstop', target: target!.id, at, healedAt: resumedAt });
          break;
        }
        case 'partition-leader': {
          target!.proxies.forEach((proxy) => proxy.blackhole());
          await sleep(holdMs);
          target!.proxies.forEach((proxy) => {
            proxy.heal();
            proxy.resetConnections();
          });
          faults.push({ kind, target: target!.id, at, healedAt: wallClock() });
          break;
        }
        case 'kill-server': {
          const server = zookeeper.servers[planned.serverIndex]!;
          await server.kill();
          await sleep(planned.serverDownMs);
          await server.restart();
          faults.push({ kind, at, healedAt: wallClock() });
          break;
        }
        case 'lose-quorum': {
          const [first, second] = planned.quorumPair.map((index) => zookeeper.servers[index]!);
          await Promise.all([first!.stop(), second!.stop()]);
          await sleep(planned.quorumDownMs);
          await Promise.all([first!.restart(), second!.restart()]);
          faults.push({ kind, at, healedAt: wallClock() });
          break;
        }
      }
      ran.add(kind);
      // Heal time: let the cluster settle before the next fault.
      await waitForLeader(sessionTimeoutMs * 10, `after ${kind} at ${at.toFixed(0)}`);
      await sleep(planned.settleMs);
    }
    await waitForLeader(sessionTimeoutMs * 10, 'at the end of the run');
  } finally {
    shutdownAt = wallClock();
    for (const worker of [...workers]) await retire(worker, 'SIGTERM').catch(() => {});
    await store.close();
  }
  for (const kind of faultKinds) if (!ran.has(kind)) problems.push(`fault kind ${kind} never ran`);

  const events: WorkerEvent[] = [...retired.flatMap((worker) => worker.process.events() as unknown as WorkerEvent[]), ...exits];
  if (options.historyFile) {
    const lines = [
      ...faults.map((fault) => ({ fault })),
      ...store.writes.map((write) => ({ write: { ...write, token: write.token.toString() } })),
      ...events,
    ].map((entry) => JSON.stringify(entry));
    writeFileSync(options.historyFile, lines.join('\n') + '\n');
  }
  const commits = records ? await withAdmin(zookeeper.connectString, (admin) => readCommits(admin, records)) : [];
  const report = checkHistory(events, faults, { sessionTimeoutMs, livenessMarginMs: 5000, shutdownAt, writes: store.writes, commits });
  report.violations.push(...problems);
  const summary = summaryTable(
    report,
    faults,
    `backend ${backend}, seed ${seed}, ${(options.durationMs / 1000).toFixed(0)} s, session timeout ${sessionTimeoutMs} ms`,
  );
  return { report, faults, kinds: [...ran], summary };
}

async function withAdmin<T>(connect: string, use: (admin: Session) => Promise<T>): Promise<T> {
  const admin = new Session({ connect, sessionTimeoutMs: 10_000 });
  try {
    await admin.ready();
    return await use(admin);
  } finally {
    await admin.close();
  }
}

/** The records the leaders committed under `parent`, with their sequence numbers; removes them. */
async function readCommits(admin: Session, parent: string): Promise<GuardedCommit[]> {
  const commits: GuardedCommit[] = [];
  for (const name of await admin.getChildren(parent)) {
    const { data } = await admin.getData(`${parent}/${name}`);
    const record = JSON.parse(data.toString('utf8')) as { id: string; token: string };
    commits.push({ seq: Number(name.slice(name.lastIndexOf('-') + 1)), id: record.id, token: BigInt(record.token) });
    await admin.remove(`${parent}/${name}`);
  }
  await admin.remove(parent);
  return commits;
}
