/**
 * `npm run demo`: a throwaway ZooKeeper, three `worker.ts --json` processes, a graceful
 * handover (SIGTERM on the leader) and a crash (kill -9 on the next leader), then a
 * timeline of who led when, how long each handover took, and the fencing tokens. A
 * `zk-leader dashboard` runs beside it: open the URL it prints to watch the failovers live
 * (the demo waits a few seconds for you first; `--no-wait` skips the pauses).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { startZooKeeper } from 'zk-leader/testing';
import { ExampleProcess, startWorker } from './support/processes.js';

const wait = !process.argv.includes('--no-wait');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `zk-leader dashboard` as a program (the package's own bin), on port 7070 or, if taken, any free one. */
async function startDashboard(connect: string, root: string): Promise<{ child: ChildProcess; url: string } | null> {
  const cli = join(dirname(createRequire(import.meta.url).resolve('zk-leader/package.json')), 'dist/cli/main.js');
  for (const port of ['7070', '0']) {
    const child = spawn(process.execPath, [cli, 'dashboard', '--root', root, '--connect', connect, '--port', port, '--json'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const url = await new Promise<string | null>((resolve) => {
      createInterface({ input: child.stdout }).once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
      child.once('exit', () => resolve(null));
    });
    if (url) return { child, url };
  }
  return null;
}

/** A term as the dashboard's state.json carries it (the fields the demo prints). */
interface DashboardTerm {
  leader: string;
  token: string;
  startedAt: number;
  endedAt: number | null;
  cause: string | null;
  unreachableSince: number | null;
}

/**
 * What the dashboard recorded of the election: its terms and how each ended, once it has
 * settled the causes (it looks at the servers a second after a node goes).
 */
async function printDashboardHistory(url: string, path: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let terms: DashboardTerm[] = [];
  while (Date.now() < deadline) {
    const state = (await (await fetch(`${url}state.json`)).json()) as { history: { path: string; terms: DashboardTerm[] }[] };
    terms = state.history.find((election) => election.path === path)?.terms ?? [];
    if (terms.length >= 3 && terms.every((term) => term.cause !== 'pending')) break;
    await sleep(200);
  }
  console.log("\nthe dashboard's history (GET /state.json: history)");
  for (const [index, term] of terms.entries()) {
    const next = terms[index + 1];
    const ended = term.endedAt === null ? 'leading' : `${term.cause}${next ? `, ${(next.startedAt - term.endedAt).toFixed(0)} ms without a leader` : ''}`;
    const unreachable = term.unreachableSince !== null && term.endedAt !== null ? ` (unreachable ${term.endedAt - term.unreachableSince} ms first)` : '';
    console.log(`  ${term.leader.padEnd(10)}  token ${term.token.padEnd(4)}  ${ended}${unreachable}`);
  }
}

const sessionTimeoutMs = 3000;
const say = (words: string) => console.log(`demo: ${words}`);
const now = () => performance.timeOrigin + performance.now();

const zookeeper = await startZooKeeper();
say(`started ${zookeeper.describe()}`);
const workers: ExampleProcess[] = [];
let exitCode = 0;
let dashboard: { child: ChildProcess; url: string } | null = null;
try {
  const path = `/zk-leader/demo-${process.pid}`;
  const worker = (id: string) => {
    const started = startWorker({ connect: zookeeper.connectString, path, id, sessionTimeoutMs });
    workers.push(started);
    return started;
  };
  const w1 = worker('worker-1');
  await w1.waitForEvent('elected');
  // One after the other, so that worker-2 is next in line.
  const w2 = worker('worker-2');
  await w2.waitForEvent('follower');
  const w3 = worker('worker-3');
  await w3.waitForEvent('follower');
  say('three workers up: worker-1 leads, worker-2 and worker-3 follow');
  dashboard = await startDashboard(zookeeper.connectString, '/zk-leader');
  if (dashboard) {
    say(`live dashboard: ${dashboard.url}  (open it in a browser to watch the failovers)`);
    if (wait) {
      say('starting the failovers in 8 s');
      await sleep(8000);
    }
  } else say('the dashboard did not start (is the package built? npm run build): carrying on without it');

  say('SIGTERM to the leader (worker-1): it releases leadership on its way out');
  const stopAt = now();
  w1.signal('SIGTERM');
  await w2.waitForEvent('elected');
  await w1.exited;

  say(`kill -9 of the new leader (worker-2): the others wait for its session (${sessionTimeoutMs} ms) to expire`);
  const killAt = now();
  w2.signal('SIGKILL');
  await w3.waitForEvent('elected');

  const terms = workers
    .flatMap((process) =>
      process
        .events()
        .filter((event) => event.event === 'elected')
        .map((event) => ({ id: event.id as string, ts: event.ts as number, token: event.fencingToken as string })),
    )
    .sort((a, b) => a.ts - b.ts);
  const first = terms[0]!.ts;
  console.log('\ntimeline (ms since the first election)');
  console.log('     at ms  leader      fencing token');
  for (const term of terms) console.log(`  ${(term.ts - first).toFixed(1).padStart(8)}  ${term.id.padEnd(10)}  ${term.token}`);
  console.log('\nhandovers');
  console.log(`  graceful (SIGTERM)  ${(terms[1]!.ts - stopAt).toFixed(1)} ms from the signal to worker-2 leading`);
  console.log(`  crash (kill -9)     ${(terms[2]!.ts - killAt).toFixed(1)} ms from the kill to worker-3 leading (session timeout ${sessionTimeoutMs} ms)`);
  const increasing = terms.every((term, index) => index === 0 || BigInt(term.token) > BigInt(terms[index - 1]!.token));
  console.log(`  fencing tokens strictly increasing: ${increasing ? 'yes' : 'NO'}`);
  if (!increasing) exitCode = 1;
  if (dashboard) await printDashboardHistory(dashboard.url, path);
  if (dashboard && wait) {
    say(`the dashboard stays up 20 s more for its timeline: ${dashboard.url} (Ctrl+C ends it now)`);
    await sleep(20_000);
  }
} catch (error) {
  console.error(`demo failed: ${(error as Error).message}`);
  exitCode = 1;
} finally {
  dashboard?.child.kill('SIGTERM');
  for (const process of workers) process.signal('SIGKILL');
  await zookeeper.close();
}
process.exit(exitCode);
