import type { BackendName } from '../../src/client/types.js';
import { Random } from './random.js';
import { tickTimeMs } from './zookeeper-model.js';

/**
 * What one seed sets up (who takes part, how each is configured) and what it plans to do to
 * them (their calls, the faults, the operator's writes), drawn from the seed before the run
 * starts. The plan is a list, so a failure can be shrunk by dropping planned events.
 */

export interface ElectionSpec {
  path: string;
  /** Protected by a digest ACL (every participant authenticates). */
  acl: boolean;
  /** The election node starts with this cversion, so sequences soon wrap past 2^31 - 1. */
  startSequence: number | null;
}

export interface ProcessSpec {
  /** The shared Session's backend and timeout. */
  backend: BackendName;
  sessionTimeoutMs: number;
}

export interface ParticipantSpec {
  name: string;
  processId: number;
  election: number;
  onSuspend: 'release' | 'hold';
  takeoverDelayMs: number;
  trackLeader: boolean;
  /** On the process's shared Session, or on an own one. */
  shared: boolean;
  backend: BackendName;
  sessionTimeoutMs: number;
  /** Its `elected` listener throws (a user's bug). */
  throwingListener: boolean;
  /** Its `elected` listener hands leadership on at once (`resign()` from inside the listener). */
  resignsWhenElected: boolean;
  /**
   * Steps down this many ms after each `reconnected` (a user's reaction to a blip), or never:
   * a resign() that lands while the evaluation the reconnect started is still in flight.
   */
  resignsAfterReconnectMs: number | null;
}

export type Work = { kind: 'hold' } | { kind: 'return'; afterMs: number } | { kind: 'throw'; afterMs: number };

export type PlannedAction =
  | { kind: 'start'; participant: number }
  | { kind: 'stop'; participant: number }
  | { kind: 'resign'; participant: number }
  | { kind: 'run'; participant: number; work: Work }
  | { kind: 'break'; processId: number }
  | { kind: 'partition'; processId: number; forMs: number }
  | { kind: 'hold-replies'; processId: number; forMs: number }
  | { kind: 'pause'; processId: number; forMs: number }
  | { kind: 'crash'; processId: number }
  /** The process closes its shared Session (shutting down) while elections run on it. */
  | { kind: 'close-session'; processId: number }
  | { kind: 'delete-candidate'; election: number; pick: number }
  | { kind: 'delete-head'; election: number }
  | { kind: 'delete-election'; election: number }
  | { kind: 'write-candidate'; election: number; pick: number }
  | { kind: 'foreign-child'; election: number; forMs: number; format: ForeignFormat };

/**
 * What the foreign child is: a name no recipe parses (another program's node), or the
 * candidate of a peer library (a kazoo or Curator process joining the path, which does not
 * see zk-leader's nodes and leads at once in its own eyes).
 */
export type ForeignFormat = 'unparsed' | 'kazoo' | 'curator-latch';

export interface PlannedEvent {
  index: number;
  at: number;
  action: PlannedAction;
}

export interface Scenario {
  elections: ElectionSpec[];
  processes: ProcessSpec[];
  participants: ParticipantSpec[];
  plan: PlannedEvent[];
  /** Longest negotiated session timeout any participant can get. */
  maxSessionTimeoutMs: number;
  maxTakeoverDelayMs: number;
}

const timeouts = [400, 800, 1200, 2000];
const backends: BackendName[] = ['node-zookeeper-client', 'zookeeper'];

/** Virtual time a seed's plan covers; runs end on their step budget long before. */
const planSpanMs = 600_000;

export function scenarioFor(seed: number): Scenario {
  const random = new Random(seed, 3);
  const elections: ElectionSpec[] = [];
  const electionCount = random.chance(0.75) ? 1 : 2;
  for (let i = 0; i < electionCount; i++) {
    elections.push({
      path: `/sim/election-${i}`,
      acl: random.chance(0.2),
      startSequence: random.chance(0.25) ? 2 ** 31 - 1 - random.int(0, 6) : null,
    });
  }
  const size = random.next();
  const participantCount = size < 0.1 ? 1 : size < 0.8 ? random.int(2, 6) : random.int(7, 20);
  const processCount = Math.max(1, Math.min(participantCount, random.int(1, 6)));
  const processes: ProcessSpec[] = [];
  for (let i = 0; i < processCount; i++) processes.push({ backend: random.pick(backends), sessionTimeoutMs: random.pick(timeouts) });
  const participants: ParticipantSpec[] = [];
  // Drawn from a stream of its own, so that adding it changed no other choice of a seed.
  const habits = new Random(seed, 4);
  for (let i = 0; i < participantCount; i++) {
    const processId = i < processCount ? i : random.int(0, processCount - 1);
    participants.push({
      name: `p${i}`,
      processId,
      election: random.int(0, electionCount - 1),
      onSuspend: random.chance(0.7) ? 'release' : 'hold',
      takeoverDelayMs: random.chance(0.8) ? 0 : random.int(1, 300),
      trackLeader: random.chance(0.3),
      shared: random.chance(0.5),
      backend: random.pick(backends),
      sessionTimeoutMs: random.pick(timeouts),
      throwingListener: random.chance(0.1),
      resignsWhenElected: habits.chance(0.08),
      resignsAfterReconnectMs: habits.chance(0.15) ? habits.int(0, 12) : null,
    });
  }
  const maxSessionTimeoutMs = Math.min(20 * tickTimeMs, Math.max(...timeouts));
  const maxTakeoverDelayMs = Math.max(0, ...participants.map((p) => p.takeoverDelayMs));
  // Drawn from a stream of its own too: the seeds' plans stay as they were before peers joined.
  const formats = new Random(seed, 5);
  return {
    elections,
    processes,
    participants,
    plan: planFor(random, formats, participants, processes.length, electionCount),
    maxSessionTimeoutMs,
    maxTakeoverDelayMs,
  };
}

/**
 * Busy stretches (calls, faults and operator writes every few hundred ms) alternate with
 * quiet ones long enough for the liveness bound to be checked.
 */
function planFor(random: Random, formats: Random, participants: ParticipantSpec[], processCount: number, electionCount: number): PlannedEvent[] {
  const plan: PlannedAction[] = [];
  const times: number[] = [];
  const add = (at: number, action: PlannedAction) => {
    times.push(at);
    plan.push(action);
  };
  participants.forEach((_, participant) => {
    add(random.int(0, 300), random.chance(0.3) ? { kind: 'run', participant, work: workFor(random) } : { kind: 'start', participant });
  });
  let crashes = 0;
  let at = 500;
  while (at < planSpanMs) {
    const busyUntil = at + random.int(1_000, 5_000);
    while (at < busyUntil) {
      at += random.int(20, 600);
      const participant = random.int(0, participants.length - 1);
      const processId = random.int(0, processCount - 1);
      const election = random.int(0, electionCount - 1);
      const roll = random.next();
      if (roll < 0.1) add(at, { kind: 'start', participant });
      else if (roll < 0.2) add(at, { kind: 'stop', participant });
      else if (roll < 0.3) add(at, { kind: 'resign', participant });
      else if (roll < 0.38) add(at, { kind: 'run', participant, work: workFor(random) });
      else if (roll < 0.48) add(at, { kind: 'break', processId });
      else if (roll < 0.56) add(at, { kind: 'partition', processId, forMs: random.int(50, 3_000) });
      else if (roll < 0.62) add(at, { kind: 'hold-replies', processId, forMs: random.int(50, 2_000) });
      else if (roll < 0.68) add(at, { kind: 'pause', processId, forMs: random.int(50, 3_000) });
      else if (roll < 0.7 && crashes === 0 && processCount > 1) {
        crashes += 1;
        add(at, { kind: 'crash', processId });
      } else if (roll < 0.76) add(at, { kind: 'delete-candidate', election, pick: random.next() });
      else if (roll < 0.8) add(at, { kind: 'delete-head', election });
      else if (roll < 0.82) add(at, { kind: 'delete-election', election });
      else if (roll < 0.88) add(at, { kind: 'write-candidate', election, pick: random.next() });
      else if (roll < 0.92) {
        const format = formats.next();
        add(at, {
          kind: 'foreign-child',
          election,
          forMs: random.int(50, 2_000),
          format: format < 0.5 ? 'unparsed' : format < 0.75 ? 'kazoo' : 'curator-latch',
        });
      } else if (roll < 0.94) add(at, { kind: 'close-session', processId });
      else add(at, { kind: 'start', participant });
    }
    at += random.int(6_000, 12_000);
  }
  return plan.map((action, index) => ({ index, at: times[index]!, action })).sort((a, b) => a.at - b.at || a.index - b.index);
}

function workFor(random: Random): Work {
  const roll = random.next();
  if (roll < 0.4) return { kind: 'hold' };
  if (roll < 0.8) return { kind: 'return', afterMs: random.int(0, 2_000) };
  return { kind: 'throw', afterMs: random.int(0, 1_000) };
}

export function describe(action: PlannedAction, scenario: Scenario): string {
  const who = 'participant' in action ? scenario.participants[action.participant]!.name : '';
  switch (action.kind) {
    case 'start':
    case 'stop':
    case 'resign':
      return `${who}.${action.kind}()`;
    case 'run':
      return `${who}.runWhileLeader(${action.work.kind}${'afterMs' in action.work ? ` after ${action.work.afterMs} ms` : ''})`;
    case 'break':
    case 'crash':
      return `${action.kind} process ${action.processId}`;
    case 'close-session':
      return `process ${action.processId} closes its shared session`;
    case 'partition':
    case 'hold-replies':
    case 'pause':
      return `${action.kind} process ${action.processId} for ${action.forMs} ms`;
    case 'delete-candidate':
    case 'write-candidate':
      return `operator: ${action.kind} in ${scenario.elections[action.election]!.path}`;
    case 'delete-head':
    case 'delete-election':
      return `operator: ${action.kind} ${scenario.elections[action.election]!.path}`;
    case 'foreign-child':
      return action.format === 'unparsed'
        ? `operator: foreign sequential child in ${scenario.elections[action.election]!.path} for ${action.forMs} ms`
        : `a ${action.format} peer joins ${scenario.elections[action.election]!.path} for ${action.forMs} ms`;
  }
}
