/**
 * The worker from the PHP cluster example, done right. Run it in three terminals:
 *
 *   npx tsx examples/worker.ts --connect 127.0.0.1:2181
 *
 * The first one leads, the others work and follow. Ctrl+C on the leader hands over at once;
 * `kill -9` on the leader hands over after the session timeout. With --json every line on
 * stdout is one JSON event: {"ts":..., "id":..., "event":"started|follower|elected|lost|stopped", ...}
 */
import { hostname } from 'node:os';
import { LeaderElection, ZkLeaderError, type RecipeName } from 'zk-leader';
import { milliseconds, orUsage, parseExampleArgs } from './support/cli.js';

const usage = `usage: worker.ts [--connect host:port] [--path /zk-leader/demo] [--id name]
                 [--session-timeout ms] [--backend builtin|node-zookeeper-client|zookeeper] [--json]
                 [--fenced-store http://127.0.0.1:port/] [--guarded-writes /znode]
                 [--recipe zk-leader|curator-latch|curator-selector|kazoo|single-node]`;
const { values, connect, backend } = parseExampleArgs(usage, {
  path: { type: 'string', default: '/zk-leader/demo' },
  id: { type: 'string' },
  'session-timeout': { type: 'string' },
  json: { type: 'boolean', default: false },
  // A resource that rejects writes with a lower token than it has seen (the chaos harness runs one).
  'fenced-store': { type: 'string' },
  // While leading, commit a record under this znode every 100 ms through election.transaction().
  'guarded-writes': { type: 'string' },
  // Join an election of Curator or kazoo participants as one of theirs.
  recipe: { type: 'string' },
});
const id = (values.id as string | undefined) ?? `${hostname()}-${process.pid}`;
const json = values.json as boolean;

/** One line per event: JSON for tools, or words for people. */
function report(event: string, fields: Record<string, unknown>, words: string): void {
  if (json) process.stdout.write(JSON.stringify({ ts: performance.timeOrigin + performance.now(), id, event, ...fields }) + '\n');
  else console.log(`${new Date().toISOString()} ${id}: ${words}`);
}

const election = orUsage(
  () =>
    new LeaderElection({
      connect,
      path: values.path as string,
      id,
      sessionTimeoutMs: milliseconds(values['session-timeout'], '--session-timeout', 10_000),
      backend,
      releaseOnSignals: true,
      ...(values.recipe !== undefined ? { recipe: values.recipe as RecipeName } : {}),
    }),
  usage,
);

election.on('follower', ({ leader, position }) =>
  report('follower', { leader: leader.id, position }, `working, following ${leader.id} (position ${position} in the queue)`),
);
election.on('elected', ({ fencingToken, signal }) => {
  report('elected', { fencingToken: fencingToken.toString() }, `leading: fencing token ${fencingToken}`);
  // The leader's own work: stops the moment leadership ends.
  const tick = setInterval(() => {
    if (!json) console.log(`${new Date().toISOString()} ${id}: leader work tick (fencing token ${fencingToken})`);
  }, 5000);
  signal.addEventListener('abort', () => clearInterval(tick), { once: true });
  const store = values['fenced-store'] as string | undefined;
  if (store) writeWhileLeading(store, fencingToken, signal);
  const records = values['guarded-writes'] as string | undefined;
  if (records) void commitWhileLeading(records, fencingToken, signal);
});
election.on('lost', ({ reason }) => report('lost', { reason }, `no longer leading (${reason})`));
election.on('expired', () => !json && console.log(`${new Date().toISOString()} ${id}: session expired, re-joining on a new session`));
election.on('error', (error) => console.error(`${id}: ${error.message}`));
election.on('stopped', () => {
  report('stopped', {}, 'stopped, leadership released');
  process.exit(0);
});

/** Writes to the fenced store every 100 ms while the term lasts, the token with every write. */
function writeWhileLeading(store: string, fencingToken: bigint, signal: AbortSignal): void {
  const write = () => {
    if (signal.aborted) return;
    void fetch(store, { method: 'POST', body: JSON.stringify({ id, token: fencingToken.toString() }), signal }).catch(() => {});
  };
  write();
  const timer = setInterval(write, 100);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}

/**
 * Commits one sequential record `{ id, token }` under `parent` every 100 ms while the term
 * lasts, each through election.transaction(): the server takes it only while our node exists.
 */
async function commitWhileLeading(parent: string, fencingToken: bigint, signal: AbortSignal): Promise<void> {
  const data = JSON.stringify({ id, token: fencingToken.toString() });
  while (!signal.aborted) {
    try {
      await election.transaction([{ op: 'create', path: `${parent}/w-`, data, mode: 'persistent-sequential' }]);
    } catch (error) {
      // NOT_LEADER: the term is over (the server said so first, or we did); anything else is
      // for the log, and the next tick tries again.
      if ((error as ZkLeaderError).code === 'NOT_LEADER') return;
      console.error(`${id}: guarded write: ${(error as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

report('started', { path: values.path }, `joining ${values.path as string} at ${connect}`);
try {
  await election.start();
} catch (error) {
  console.error(`error: ${(error as ZkLeaderError).message}`);
  process.exit(2);
}
