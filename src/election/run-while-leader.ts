import { Backoff } from '../backoff.js';
import { ZkLeaderError, toZkLeaderError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { ElectedEvent, ElectionState } from './options.js';

/** The leader's work: runs once per term, `signal` aborting when the term ends. @internal */
export type LeaderWork = (signal: AbortSignal, term: { fencingToken: bigint }) => Promise<void> | void;

/**
 * What the work loop uses of the election's public API (by shape: this module and election.ts
 * must not import each other).
 * @internal
 */
export interface WorkElection {
  start(): Promise<void>;
  stop(): Promise<void>;
  waitForLeadership(): Promise<ElectedEvent>;
  readonly session: { readonly runtime: Runtime };
  once(event: 'stopped', listener: () => void): unknown;
  off(event: 'stopped', listener: () => void): unknown;
}

/**
 * What the work loop needs of its election beyond the public API: whether it still runs, a
 * way out of the queue (the term's node removed) with a pause before joining again, and its
 * `error` event.
 * @internal
 */
export interface WorkLoopHost {
  /** The election, for start(), stop(), waitForLeadership(), its session and its events. */
  readonly election: WorkElection;
  /** The election's state. */
  state(): ElectionState;
  /** Ends the term, removes its node and stays out of the queue for `pauseMs`; false when not leading. */
  leaveQueue(pauseMs: number): Promise<boolean>;
  /** Emits `error` (only the election itself emits). */
  emitError(error: ZkLeaderError): void;
}

/**
 * After failed work, the pause out of the queue: doubles per failure, capped, drawn from the
 * upper half of its window (participants that fail together do not return together, and
 * none comes back at once).
 */
const workRetry = { initialMs: 500, maxMs: 30_000 } as const;

/**
 * `runWhileLeader`: runs `work` each term until the election stops; work that returns hands
 * leadership on, work that throws is emitted (LEADER_WORK_FAILED) and keeps this participant
 * out of the queue for a while (see `LeaderElection.runWhileLeader`).
 * @internal
 */
export async function runWhileLeader(host: WorkLoopHost, work: LeaderWork, options: { once?: boolean }): Promise<void> {
  const { election } = host;
  if (options.once) return runOnce(host, work);
  if (host.state() === 'idle') await election.start();
  if (host.state() !== 'running') return;
  const backoff = new Backoff(workRetry, election.session.runtime.random, 'equal');
  while (host.state() === 'running') {
    let term: ElectedEvent;
    try {
      term = await election.waitForLeadership();
    } catch {
      return;
    }
    // The term may have ended between the election and this turn of the loop.
    if (term.signal.aborted) continue;
    let failed = false;
    try {
      await work(term.signal, { fencingToken: term.fencingToken });
    } catch (error) {
      if (!term.signal.aborted) {
        failed = true;
        host.emitError(workFailed(error));
      }
    }
    if (term.signal.aborted) {
      // The term ended on its own (the work succeeded or saw the end): nothing to hold against the next.
      if (!failed) backoff.reset();
      continue;
    }
    try {
      await host.leaveQueue(failed ? backoff.next() : 0);
      // A clean round, work and hand-over: the next failure starts from the first window.
      if (!failed) backoff.reset();
    } catch (error) {
      // The hand-over was refused (leaveQueue says why): still leading on the same node. Pause
      // as after failed work, longer each time, so a refusal that does not heal costs no
      // storm of terms (the work's own success does not reset it).
      host.emitError(toZkLeaderError(error));
      await pauseWhileRunning(election, backoff.next());
    }
  }
}

/** runWhileLeader's `once`: one term of work, then the election stops (kazoo's `run()`). */
async function runOnce(host: WorkLoopHost, work: LeaderWork): Promise<void> {
  const { election } = host;
  if (host.state() === 'idle') await election.start();
  let term: ElectedEvent;
  try {
    term = await election.waitForLeadership();
  } catch {
    return; // stopped before it led: nothing to run
  }
  let failed = false;
  let failure: unknown;
  try {
    await work(term.signal, { fencingToken: term.fencingToken });
  } catch (error) {
    failed = true;
    failure = error;
  }
  await election.stop();
  if (failed) {
    throw workFailed(failure);
  }
}

/** Resolves after `ms` on the session's clock, or at once when the election stops. */
function pauseWhileRunning(election: WorkElection, ms: number): Promise<void> {
  const clock = election.session.runtime.clock;
  return new Promise((resolve) => {
    const done = () => {
      clock.clearTimeout(timer);
      election.off('stopped', done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    election.once('stopped', done);
  });
}

/** What runWhileLeader reports when the work threw. */
function workFailed(error: unknown): ZkLeaderError {
  return new ZkLeaderError('LEADER_WORK_FAILED', `the leader's work failed: ${(error as Error | null)?.message ?? String(error)}`, { cause: error });
}
