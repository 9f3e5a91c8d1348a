import { writeFileSync } from 'node:fs';
import type { BackendName } from '../../src/client/types.js';
import type { ZooKeeperHandle } from '../../src/testing/index.js';
import { startExample, type ExampleProcess } from '../../examples/support/processes.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { checkHistory, summaryTable, type Fault, type HistoryReport, type WorkerEvent } from './history.js';

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

const faultKinds = ['kill9-leader', 'sigterm-leader', 'sigstop-leader', 'partition-leader', 'kill-server', 'lose-quorum'] as const;

/**
 * Five worker.ts --json processes on a 3-server ensemble, each behind its own TCP proxies;
 * a seeded schedule of faults, each followed by a heal; then the history checker.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const { zookeeper, backend, seed } = options;
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 2000;
  const log = options.log ?? (() => {});
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const path = `/zk-leader-chaos/${backend}-${seed}-${process.pid}`;
  const workers: Worker[] = [];
  const retired: Worker[] = [];
  const faults: Fault[] = [];
  const exits: WorkerEvent[] = [];
  let counter = 0;

  async function spawnWorker(): Promise<Worker> {
    const id = `w${++counter}`;
    const proxies = await Promise.all(zookeeper.servers.map((server) => TcpProxy.to(server.connectString)));
    const connect = proxies.map((proxy) => proxy.connectString).join(',');
    const process = startExample('worker', ['--connect', connect, '--path', path, '--id', id, '--json', '--session-timeout', String(sessionTimeoutMs), '--backend', backend]);
    const worker: Worker = { id, process, proxies, gone: false };
    void process.exited.then(() => {
      worker.gone = true;
    });
    workers.push(worker);
    await process.waitForEvent('started');
    return worker;
  }

  function leader(): Worker | undefined {
    return workers.find((worker) => {
      if (worker.gone) return false;
      const events = worker.process.events().filter((event) => event.event === 'elected' || event.event === 'lost' || event.event === 'stopped');
      return events[events.length - 1]?.event === 'elected';
    });
  }

  async function waitForLeader(timeoutMs: number): Promise<Worker | undefined> {
    const until = Date.now() + timeoutMs;
    for (let found = leader(); Date.now() < until; found = leader()) {
      if (found) return found;
      await sleep(50);
    }
    return undefined;
  }

  async function retire(worker: Worker, how: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const at = wallClock();
    worker.process.signal(how);
    await worker.process.exited;
    // A killed process acts no more from this moment: its term, if any, ends here.
    if (how === 'SIGKILL') exits.push({ ts: at, id: worker.id, event: 'exited' });
    workers.splice(workers.indexOf(worker), 1);
    retired.push(worker);
    await Promise.all(worker.proxies.map((proxy) => proxy.close()));
  }

  for (let index = 0; index < (options.workers ?? 5); index++) await spawnWorker();
  await waitForLeader(sessionTimeoutMs * 5);
  const endAt = Date.now() + options.durationMs;
  try {
    while (Date.now() < endAt) {
      const kind = pick(faultKinds);
      const target = leader();
      const at = wallClock();
      const holdMs = Math.round(sessionTimeoutMs * (1.2 + next()));
      log(`fault ${faults.length + 1} at ${at.toFixed(0)}: ${kind}${target && kind.endsWith('leader') ? ` on ${target.id}` : ''}`);
      switch (kind) {
        case 'kill9-leader':
        case 'sigterm-leader': {
          if (!target) continue;
          await retire(target, kind === 'kill9-leader' ? 'SIGKILL' : 'SIGTERM');
          faults.push({ kind, target: target.id, at, healedAt: wallClock() });
          await spawnWorker();
          break;
        }
        case 'sigstop-leader': {
          if (!target) continue;
          target.process.signal('SIGSTOP');
          await sleep(holdMs);
          // Stamped before SIGCONT: the resumed process may print `lost` before this process runs again.
          const resumedAt = wallClock();
          target.process.signal('SIGCONT');
          faults.push({ kind: 'sigstop', target: target.id, at, healedAt: resumedAt });
          break;
        }
        case 'partition-leader': {
          if (!target) continue;
          target.proxies.forEach((proxy) => proxy.blackhole());
          await sleep(holdMs);
          target.proxies.forEach((proxy) => {
            proxy.heal();
            proxy.resetConnections();
          });
          faults.push({ kind, target: target.id, at, healedAt: wallClock() });
          break;
        }
        case 'kill-server': {
          const server = pick(zookeeper.servers);
          await server.kill();
          await sleep(Math.round(1000 + next() * 2000));
          await server.restart();
          faults.push({ kind, at, healedAt: wallClock() });
          break;
        }
        case 'lose-quorum': {
          const [first, second] = [...zookeeper.servers].sort(() => next() - 0.5);
          await Promise.all([first!.stop(), second!.stop()]);
          await sleep(Math.round(2000 + next() * 2000));
          await Promise.all([first!.restart(), second!.restart()]);
          faults.push({ kind, at, healedAt: wallClock() });
          break;
        }
      }
      // Heal time: let the cluster settle before the next fault.
      await waitForLeader(sessionTimeoutMs * 10);
      await sleep(Math.round(300 + next() * 700));
    }
    await waitForLeader(sessionTimeoutMs * 10);
  } finally {
    for (const worker of [...workers]) await retire(worker, 'SIGTERM').catch(() => {});
  }

  const events: WorkerEvent[] = [...retired.flatMap((worker) => worker.process.events() as unknown as WorkerEvent[]), ...exits];
  if (options.historyFile) {
    const lines = [...faults.map((fault) => ({ fault })), ...events].map((entry) => JSON.stringify(entry));
    writeFileSync(options.historyFile, lines.join('\n') + '\n');
  }
  const report = checkHistory(events, faults, { sessionTimeoutMs, livenessMarginMs: 5000 });
  const summary = summaryTable(report, faults, `backend ${backend}, seed ${seed}, ${(options.durationMs / 1000).toFixed(0)} s, session timeout ${sessionTimeoutMs} ms`);
  return { report, faults, summary };
}
