/**
 * "The leader assigns tasks to workers, monitors progress and saves results": the part the
 * PHP cluster example left out. Run two or three workers, then submit tasks:
 *
 *   npx tsx examples/task-queue.ts worker --connect 127.0.0.1:2181 --id w1
 *   npx tsx examples/task-queue.ts submit --connect 127.0.0.1:2181 --payload '{"sleepMs":500}'
 *   npx tsx examples/task-queue.ts status --connect 127.0.0.1:2181 task-0000000000
 *
 * Every worker is also a candidate: the leader watches the queue and the live workers,
 * assigns queued tasks to the least busy worker, and re-queues the tasks of a worker whose
 * session ended. Task records move queued -> assigned -> running -> ok | failed (with the
 * error), each step a versioned write, so a task's outcome is recorded exactly once even when
 * workers or the leader are killed mid-task; its body runs at least once (a re-queued task, or
 * one whose 'running' write lost its reply, runs again). Payload: { sleepMs?: number, fail?: string }.
 *
 * Layout under --root: tasks/task-N (records), workers/<id> (ephemeral, live workers),
 * assignments/<id>/task-N (what the leader gave each worker).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { LeaderElection, Session, ZooKeeperError } from 'zk-leader';
import { fail, milliseconds, parseExampleArgs } from './support/cli.js';

type TaskStatus = 'queued' | 'assigned' | 'running' | 'ok' | 'failed';

interface TaskRecord {
  id: string;
  payload: { sleepMs?: number; fail?: string } & Record<string, unknown>;
  status: TaskStatus;
  worker: string | null;
  attempts: number;
  result?: unknown;
  error?: string;
  submittedAt: number;
  finishedAt?: number;
}

const usage = `usage: task-queue.ts worker [--id name]
       task-queue.ts submit --payload '{"sleepMs":200}' [--count N]
       task-queue.ts status <task-id>
  common: [--connect host:port] [--root /zk-leader/task-queue] [--json]
          [--backend builtin|node-zookeeper-client|zookeeper]`;
const { values, positionals, connect, backend } = parseExampleArgs(usage, {
  root: { type: 'string', default: '/zk-leader/task-queue' },
  id: { type: 'string' },
  payload: { type: 'string', default: '{}' },
  count: { type: 'string' },
  json: { type: 'boolean', default: false },
  'session-timeout': { type: 'string' },
});
const root = values.root as string;
const json = values.json as boolean;
const paths = {
  tasks: `${root}/tasks`,
  workers: `${root}/workers`,
  assignments: `${root}/assignments`,
  leader: `${root}/leader`,
};
const isFinal = (status: TaskStatus) => status === 'ok' || status === 'failed';
/** How many open tasks the leader gives one worker at a time. */
const tasksPerWorker = 2;

function print(event: string, fields: Record<string, unknown>, words: string): void {
  if (json) process.stdout.write(JSON.stringify({ ts: Date.now(), event, ...fields }) + '\n');
  else console.log(`${new Date().toISOString()} ${words}`);
}

const session = new Session({ connect, backend, sessionTimeoutMs: milliseconds(values['session-timeout'], '--session-timeout', 5000) });
await session.ready().catch((error: Error) => fail(error.message));
// A bad --root fails here, with the library's message rather than a stack trace.
await Promise.all(Object.values(paths).map((path) => session.ensurePath(path))).catch((error: Error) => fail(error.message, usage));

async function readTask(id: string): Promise<{ record: TaskRecord; version: number } | null> {
  try {
    const { data, stat } = await session.getData(`${paths.tasks}/${id}`);
    // The id is the node's name: a record is complete from the moment it is created.
    return { record: { ...(JSON.parse(data.toString()) as Omit<TaskRecord, 'id'>), id }, version: stat.version };
  } catch (error) {
    if (error instanceof ZooKeeperError && error.code === 'NO_NODE') return null;
    throw error;
  }
}

/** A versioned write: false when someone else changed the task first. */
async function writeTask(record: TaskRecord, version: number): Promise<boolean> {
  try {
    await session.setData(`${paths.tasks}/${record.id}`, Buffer.from(JSON.stringify(record)), version);
    return true;
  } catch (error) {
    if (error instanceof ZooKeeperError && error.code === 'BAD_VERSION') return false;
    throw error;
  }
}

async function quietly(action: Promise<unknown>, ...ignore: string[]): Promise<void> {
  try {
    await action;
  } catch (error) {
    if (!(error instanceof ZooKeeperError && ignore.includes(error.code))) throw error;
  }
}

/** Calls `onChange` now and after every change of `path`'s children, until `signal` aborts. */
function followChildren(path: string, signal: AbortSignal, onChange: (children: string[]) => void | Promise<void>): void {
  let dirty = true;
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    while (dirty && !signal.aborted) {
      dirty = false;
      try {
        const children = await session.getChildren(path, () => {
          dirty = true;
          void run();
        });
        await onChange(children);
      } catch (error) {
        if (signal.aborted) break;
        if (!(error instanceof ZooKeeperError)) throw error;
        // The connection dropped: try again once it is back.
        await session.whenConnected(signal).catch(() => {});
        dirty = true;
      }
    }
    running = false;
  };
  // A new session loses every watch: set them again, for as long as this term lasts (a
  // listener left behind would keep every past term's loop alive).
  const onNewSession = () => {
    dirty = true;
    void run();
  };
  session.on('connected', onNewSession);
  signal.addEventListener('abort', () => session.off('connected', onNewSession), { once: true });
  void run();
}

async function submit(): Promise<void> {
  let payload: TaskRecord['payload'];
  try {
    payload = JSON.parse(values.payload as string) as TaskRecord['payload'];
  } catch {
    fail(`--payload must be JSON: got '${String(values.payload)}'`, usage);
  }
  const count = milliseconds(values.count, '--count', 1);
  for (let index = 0; index < count; index++) {
    const record: Omit<TaskRecord, 'id'> = { payload, status: 'queued', worker: null, attempts: 0, submittedAt: Date.now() };
    const created = await session.create(`${paths.tasks}/task-`, Buffer.from(JSON.stringify(record)), 'persistent-sequential');
    const id = created.slice(paths.tasks.length + 1);
    print('submitted', { task: id }, `submitted ${id}`);
  }
}

async function status(id: string | undefined): Promise<void> {
  if (!id) fail('status needs a task id, e.g. task-0000000000', usage);
  const task = await readTask(id);
  if (!task) fail(`no task '${id}' under ${paths.tasks}`);
  const { record } = task;
  if (json) process.stdout.write(JSON.stringify(record) + '\n');
  else {
    console.log(`${record.id}: ${record.status}${record.worker ? ` (worker ${record.worker})` : ''}, attempts ${record.attempts}`);
    if (record.result !== undefined) console.log(`result: ${JSON.stringify(record.result)}`);
    if (record.error) console.log(`error: ${record.error}`);
  }
}

/** The leader's side: match queued tasks with live workers, re-queue tasks of dead ones. */
async function lead(signal: AbortSignal, fencingToken: bigint, workerId: string): Promise<void> {
  print('leading', { id: workerId, fencingToken: String(fencingToken) }, `${workerId}: leading the task queue (fencing token ${fencingToken})`);
  let liveWorkers = new Set<string>();
  let taskIds: string[] = [];
  const finished = new Set<string>();
  let reconciling = Promise.resolve();
  const reconcile = () => {
    reconciling = reconciling
      .then(async () => {
        if (signal.aborted) return;
        const load = new Map([...liveWorkers].map((worker) => [worker, 0]));
        const open: { record: TaskRecord; version: number }[] = [];
        for (const id of taskIds) {
          if (finished.has(id)) continue;
          const task = await readTask(id);
          if (!task) continue;
          if (isFinal(task.record.status)) {
            finished.add(id);
            continue;
          }
          open.push(task);
          const worker = task.record.worker;
          if (worker && load.has(worker)) load.set(worker, load.get(worker)! + 1);
        }
        for (const { record, version } of open) {
          if (signal.aborted) return;
          if (record.status !== 'queued' && record.worker && liveWorkers.has(record.worker)) {
            // Make sure the assignment exists: a leader may have died between the two writes.
            await quietly(session.create(`${paths.assignments}/${record.worker}/${record.id}`, Buffer.alloc(0), 'persistent'), 'NODE_EXISTS', 'NO_NODE');
            continue;
          }
          if (record.status !== 'queued') {
            // Its worker's session ended mid-task: back to the queue.
            const previous = record.worker;
            if (!(await writeTask({ ...record, status: 'queued', worker: null }, version))) continue;
            if (previous) await quietly(session.remove(`${paths.assignments}/${previous}/${record.id}`), 'NO_NODE', 'NOT_EMPTY');
            print('requeued', { task: record.id, from: previous }, `requeued ${record.id} (worker ${previous} is gone)`);
            continue;
          }
          const [target, busy = 0] = [...load.entries()].sort((a, b) => a[1] - b[1])[0] ?? [];
          // Nobody to work, or everyone busy: wait for a worker to join or finish.
          if (!target || busy >= tasksPerWorker) return;
          if (!(await writeTask({ ...record, status: 'assigned', worker: target, attempts: record.attempts + 1 }, version))) continue;
          await session.ensurePath(`${paths.assignments}/${target}`);
          await quietly(session.create(`${paths.assignments}/${target}/${record.id}`, Buffer.alloc(0), 'persistent'), 'NODE_EXISTS');
          load.set(target, load.get(target)! + 1);
        }
      })
      .catch((error: Error) => {
        if (!signal.aborted) console.error(`${workerId}: reconcile failed: ${error.message}`);
      });
  };
  followChildren(paths.workers, signal, (children) => {
    liveWorkers = new Set(children);
    reconcile();
  });
  followChildren(paths.tasks, signal, (children) => {
    taskIds = children.sort();
    reconcile();
  });
  // Workers finishing tasks free capacity without changing either list: look again now and then.
  const timer = setInterval(reconcile, 500);
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  clearInterval(timer);
  await reconciling;
}

/** The worker's side: run what the leader assigned to us, record status and result. */
async function work(workerId: string, signal: AbortSignal): Promise<void> {
  const mine = `${paths.assignments}/${workerId}`;
  const busy = new Set<string>();
  const record = `${paths.workers}/${workerId}`;
  const registerAgain = () => void register().catch((error: Error) => console.error(`${workerId}: registering: ${error.message}`));
  // Our ephemeral record. After a new session, the last session's may still be there until the
  // server expires it (NODE_EXISTS): watch it and register again when it goes, or the leader
  // would see this worker gone for good.
  const register = async (): Promise<void> => {
    try {
      await session.create(record, Buffer.from(JSON.stringify({ pid: process.pid })), 'ephemeral');
    } catch (error) {
      if (!(error instanceof ZooKeeperError && error.code === 'NODE_EXISTS')) throw error;
      if ((await session.exists(record, registerAgain)) === null) await register();
    }
  };
  await session.ensurePath(mine);
  await register();
  // Session expiry removed our ephemeral membership: join again.
  session.on('connected', registerAgain);

  // Outcomes this worker wrote and reported: a write whose reply was lost is found on the retry.
  const reported = new Set<string>();
  const runTask = async (id: string) => {
    const task = await readTask(id);
    if (task && task.record.worker === workerId && isFinal(task.record.status) && !reported.has(id)) {
      // Our outcome reached the server, its reply did not: report it now, once.
      reported.add(id);
      print('finished', { id: workerId, task: id, status: task.record.status }, `${workerId}: ${id} ${task.record.status}`);
    }
    if (!task || task.record.worker !== workerId || isFinal(task.record.status)) {
      await quietly(session.remove(`${mine}/${id}`), 'NO_NODE');
      return;
    }
    const running: TaskRecord = { ...task.record, status: 'running' };
    if (!(await writeTask(running, task.version))) return;
    print('running', { id: workerId, task: id, attempt: running.attempts }, `${workerId}: running ${id}`);
    await sleep(Number(task.record.payload.sleepMs ?? 0));
    const outcome: TaskRecord = task.record.payload.fail
      ? { ...running, status: 'failed', error: String(task.record.payload.fail), finishedAt: Date.now() }
      : { ...running, status: 'ok', result: { doneBy: workerId, sleptMs: task.record.payload.sleepMs ?? 0 }, finishedAt: Date.now() };
    // Versioned: if the leader re-queued the task meanwhile, this write loses and nothing is recorded twice.
    if (await writeTask(outcome, task.version + 1)) {
      reported.add(id);
      print('finished', { id: workerId, task: id, status: outcome.status }, `${workerId}: ${id} ${outcome.status}`);
    }
    await quietly(session.remove(`${mine}/${id}`), 'NO_NODE');
  };

  // A step that failed (the connection dropped mid-task) is tried again once the connection
  // is back: the assignment stays, and nothing else would look at it again.
  const attempt = (id: string): void => {
    if (busy.has(id) || signal.aborted) return;
    busy.add(id);
    void runTask(id)
      .then(
        () => false,
        async (error: Error) => {
          console.error(`${workerId}: ${id}: ${error.message}`);
          await session.whenConnected(signal).catch(() => {});
          await sleep(100);
          return true;
        },
      )
      .then((again) => {
        busy.delete(id);
        if (again) attempt(id);
      });
  };
  followChildren(mine, signal, (assigned) => assigned.forEach(attempt));
}

async function runWorker(): Promise<void> {
  const workerId = (values.id as string | undefined) ?? `${hostname()}-${process.pid}`;
  if (workerId.includes('/')) fail(`--id must not contain '/': got '${workerId}'`);
  const stopping = new AbortController();
  const election = new LeaderElection({ session, path: paths.leader, id: workerId });
  election.on('error', (error) => console.error(`${workerId}: ${error.message}`));
  const shutdown = async () => {
    stopping.abort();
    await election.stop();
    await session.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  await work(workerId, stopping.signal);
  print('worker', { id: workerId }, `${workerId}: working`);
  await election.runWhileLeader(async (signal, { fencingToken }) => {
    await lead(signal, fencingToken, workerId);
    // Keep leading until leadership ends; returning would hand it on.
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  });
}

switch (positionals[0]) {
  case 'submit':
    await submit();
    await session.close();
    break;
  case 'status':
    await status(positionals[1]);
    await session.close();
    break;
  case 'worker':
    await runWorker();
    break;
  default:
    fail(positionals[0] ? `unknown command '${positionals[0]}'` : 'no command given', usage);
}
