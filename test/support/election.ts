import { afterEach, expect } from 'vitest';
import type { BackendName } from '../../src/client/types.js';
import { LeaderElection, type ElectedEvent, type FollowerEvent, type LeaderElectionInit, type LeaderElectionOptions } from '../../src/election.js';
import type { ZkLeaderErrorCode } from '../../src/errors.js';
import { EventLog, nextEvent } from './events.js';
import type { TcpProxy } from './tcp-proxy.js';
import { adminSession, removeTree, zkConnect } from './zookeeper.js';

/**
 * Makes participants for one test and stops them (and removes the test's path) afterwards,
 * so every test owns its path and leaves nothing behind. Every `error` a participant emits is
 * recorded, and the test fails on one it did not expect (`participant.expectErrors(...)`).
 */
export function electionFixture(backend: BackendName) {
  const created: LeaderElection[] = [];
  const paths = new Set<string>();
  const errors: { id: string; code: string; message: string }[] = [];
  let expected = new Set<string>();
  afterEach(async () => {
    await Promise.all(created.splice(0).map((election) => election.stop()));
    const admin = await adminSession();
    for (const path of paths) await removeTree(admin, path);
    paths.clear();
    await admin.close();
    const unexpected = errors.splice(0).filter((error) => !expected.has(error.code));
    expected = new Set();
    expect(unexpected, 'error events the test did not expect').toEqual([]);
  });
  const participant = (path: string, options: Partial<LeaderElectionOptions> = {}): LeaderElection => {
    paths.add(path);
    const election = new LeaderElection({
      path,
      // A shared session comes with its own backend and timeout (the election refuses them then).
      ...(options.session ? {} : { connect: zkConnect(), backend, sessionTimeoutMs: 4000 }),
      ...options,
    } as LeaderElectionInit);
    election.on('error', (error) => errors.push({ id: election.id, code: error.code, message: error.message }));
    created.push(election);
    return election;
  };
  /** Error codes this test provokes on purpose. */
  participant.expectErrors = (...codes: ZkLeaderErrorCode[]) => {
    for (const code of codes) expected.add(code);
  };
  return participant;
}

/** Starts `election` and resolves with its first term (`elected`). */
export async function leading(election: LeaderElection): Promise<ElectedEvent> {
  const term = nextEvent(election, 'elected');
  await election.start();
  return term;
}

/** Starts `election` and resolves with its first `follower` event. */
export async function following(election: LeaderElection): Promise<FollowerEvent> {
  const follows = nextEvent(election, 'follower');
  await election.start();
  return follows;
}

/**
 * alice leads (on `aliceConnect` when given: a proxy, say), bob follows her; both made with
 * `options` and their events recorded in `log`.
 */
export async function leaderAndFollower(
  participant: ReturnType<typeof electionFixture>,
  path: string,
  options: Partial<LeaderElectionOptions> = {},
  aliceConnect?: string,
) {
  const log = new EventLog();
  const alice = participant(path, { id: 'alice', ...options, ...(aliceConnect ? { connect: aliceConnect } : {}) });
  const bob = participant(path, { id: 'bob', ...options });
  log.record('alice', alice, electionEvents);
  log.record('bob', bob, electionEvents);
  const term = await leading(alice);
  await following(bob);
  return { alice, bob, log, term };
}

/** The election events the tests record. */
export const electionEvents = ['elected', 'lost', 'follower', 'suspended', 'reconnected', 'expired', 'stopped'];

/**
 * `old` leads through `cut` (a proxy: partition it), `next` follows on a direct connection;
 * both with a 3 s session timeout unless given, their events recorded in `log`; `onSuspend`
 * is the old leader's.
 */
export async function leaderBehindProxy(
  participant: ReturnType<typeof electionFixture>,
  path: string,
  cut: TcpProxy,
  { sessionTimeoutMs = 3000, onSuspend = 'release' }: { sessionTimeoutMs?: number; onSuspend?: 'release' | 'hold' } = {},
) {
  const log = new EventLog();
  const old = participant(path, { id: 'old', connect: cut.connectString, sessionTimeoutMs, onSuspend });
  log.record('old', old, electionEvents);
  const oldTerm = nextEvent(old, 'elected');
  await old.start();
  const { signal } = await oldTerm;
  const next = participant(path, { id: 'next', sessionTimeoutMs });
  log.record('next', next, electionEvents);
  await next.start();
  return { old, next, log, signal };
}

/** No participant is ever told `elected` twice without `lost` in between. */
export function expectAlternatingTerms(log: EventLog, source: string): void {
  let leads = false;
  for (const entry of log.entries.filter((e) => e.source === source)) {
    if (entry.event === 'elected') {
      expect(leads, `${source} elected twice without lost`).toBe(false);
      leads = true;
    } else if (entry.event === 'lost') {
      expect(leads, `${source} lost without elected`).toBe(true);
      leads = false;
    }
  }
}

/** The old leader said `lost` before the next one was `elected`: never two leaders. */
export function expectLostBeforeElected(log: EventLog): number {
  const lostAt = log.index('old', 'lost');
  expect(lostAt, 'the old leader emitted lost').toBeGreaterThanOrEqual(0);
  expect(lostAt).toBeLessThan(log.index('next', 'elected'));
  return lostAt;
}
