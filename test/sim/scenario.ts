import type { BackendName } from '../../src/client/types.js';
import { Random } from './random.js';
import { Permission } from '../../src/client/types.js';
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
  /** The recipe every participant of this election uses: a queue, or the race for one fixed-name node. */
  recipe: 'zk-leader' | 'single-node';
}

export interface ProcessSpec {
  /** The shared Session's backend and timeout. */
  backend: BackendName;
  sessionTimeoutMs: number;
  /**
   * The process's connect string names a chroot that does not exist (a configuration error):
   * every request of its sessions fails NO_NODE, create included.
   */
  chrootMissing: boolean;
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
  /**
   * Its `data` is padded to this many bytes of JSON (null: a few bytes), near ZooKeeper's
   * request limit (jute.maxbuffer, 1,048,575 bytes by default): the server closes the
   * connection of a request above it.
   */
  payloadBytes: number | null;
}

/**
 * A `Membership` on one of the processes: on the process's shared Session or an own one; it
 * joins the group (and so watches it) or only watches it.
 */
export interface MemberSpec {
  name: string;
  processId: number;
  shared: boolean;
  backend: BackendName;
  sessionTimeoutMs: number;
  /** `join()` (its node and a watch), or `watch()` alone. */
  joins: boolean;
  /** Its `reportEveryMs` (0: no health reports). */
  reportEveryMs: number;
}

/** A `LeaderObserver` of one election, on one of the processes, on a shared Session or an own one. */
export interface ObserverSpec {
  name: string;
  processId: number;
  election: number;
  shared: boolean;
  backend: BackendName;
  sessionTimeoutMs: number;
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
  | { kind: 'foreign-child'; election: number; forMs: number; format: ForeignFormat }
  /**
   * An operator narrows a node's ACL for a while (setAcl as the super user), then puts the old
   * one back: the election node, the head's node or another candidate's. `then` is what the
   * operator does meanwhile: nothing, write the node, or write and then delete it (issue 22's
   * world:anyone:w on the leader's node).
   */
  | { kind: 'restrict-acl'; election: number; target: AclTarget; pick: number; acl: RestrictedAcl; then: AclFollowUp; forMs: number }
  /**
   * The process's connections break; the server answers the next connect at once (the session
   * refreshed) but the answer takes `delayMs` to arrive, and from that moment nothing the
   * process sends reaches the server for `silentMs` (a stalled proxy). `ofLeader`: the process
   * of a participant that leads then, if there is one, rather than `processId`.
   */
  | { kind: 'slow-handshake'; processId: number; delayMs: number; silentMs: number; ofLeader: boolean }
  /**
   * The next create a client of the process sends is applied, and the connection breaks before
   * its reply (lost): the client must find its node again, by GUID, after the reconnect.
   */
  | { kind: 'lose-create-reply'; processId: number }
  /** A member joins the group (a watcher-only one watches it); a new `Membership` when its last one stopped. */
  | { kind: 'join'; member: number }
  | { kind: 'leave'; member: number }
  | { kind: 'set-status'; member: number; status: string }
  | { kind: 'stop-member'; member: number }
  /** An observer starts; a new `LeaderObserver` when its last one stopped. */
  | { kind: 'start-observer'; observer: number }
  | { kind: 'stop-observer'; observer: number };

export type AclTarget = 'election' | 'head' | 'candidate';
/** What follows the narrowing: the operator writes the node (and deletes it), or the leader's user code resigns or stops it. */
export type AclFollowUp = 'none' | 'write' | 'write-delete' | 'leader-resigns' | 'leader-stops';
/** The ACL an operator sets: everything but one permission (for the same ids), or world:anyone:w alone. */
export type RestrictedAcl = { without: number } | 'world-write-only';

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
  /** The chroot of every connect string (it exists), or none. */
  chroot: string | null;
  /** The elections' parent (/sim) is not there at the start: the first join creates it. */
  missingParents: boolean;
  /**
   * A reconnect after a break lands on a follower that lags this long behind (reads answered
   * as of the break, until a sync, a write or this time; at most the slowest message's
   * latency, so that a notification it holds back is not later than one the network could),
   * or every server is up to date (null).
   */
  followerLagMs: number | null;
  /** The group every member joins or watches (a path like the elections'). */
  group: string;
  members: MemberSpec[];
  observers: ObserverSpec[];
}

/** The chroot a process with `chrootMissing` names. */
export const missingChroot = '/apps/absent';

const timeouts = [400, 800, 1200, 2000];
const backends: BackendName[] = ['node-zookeeper-client', 'zookeeper'];

/** Virtual time a seed's plan covers; runs end on their step budget long before. */
const planSpanMs = 1_200_000;

export function scenarioFor(seed: number): Scenario {
  const random = new Random(seed, 3);
  const elections: ElectionSpec[] = [];
  const electionCount = random.chance(0.75) ? 1 : 2;
  for (let i = 0; i < electionCount; i++) {
    elections.push({
      path: `/sim/election-${i}`,
      acl: random.chance(0.2),
      startSequence: random.chance(0.25) ? 2 ** 31 - 1 - random.int(0, 6) : null,
      recipe: 'zk-leader',
    });
  }
  // Issue 22's knobs come from a stream of their own: a seed's other choices stay as they were.
  const server = new Random(seed, 6);
  for (const election of elections) if (server.chance(0.2)) election.recipe = 'single-node';
  const size = random.next();
  const participantCount = size < 0.1 ? 1 : size < 0.8 ? random.int(2, 6) : random.int(7, 20);
  const processCount = Math.max(1, Math.min(participantCount, random.int(1, 6)));
  const processes: ProcessSpec[] = [];
  for (let i = 0; i < processCount; i++) processes.push({ backend: random.pick(backends), sessionTimeoutMs: random.pick(timeouts), chrootMissing: false });
  if (server.chance(0.06)) processes[server.int(0, processCount - 1)]!.chrootMissing = true;
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
      payloadBytes: null,
    });
  }
  // Several elections on one shared Session: single-node ones above all (its fixed name has no GUID).
  for (const election of elections.keys()) {
    const members = participants.filter((participant) => participant.election === election);
    if (members.length < 2 || !server.chance(elections[election]!.recipe === 'single-node' ? 0.5 : 0.1)) continue;
    const processId = members[0]!.processId;
    for (const member of members.slice(0, server.int(2, Math.min(4, members.length)))) {
      member.processId = processId;
      member.shared = true;
    }
  }
  // Payloads near the server's request limit (the zk-leader recipe only: the others carry no data).
  if (server.chance(0.08)) {
    for (const participant of participants) {
      if (elections[participant.election]!.recipe === 'zk-leader' && server.chance(0.4)) participant.payloadBytes = 1_048_576 - server.int(0, 400);
    }
  }
  const chroot = server.chance(0.15) ? '/apps/sim-root' : null;
  const missingParents = server.chance(0.15) && elections.every((election) => election.startSequence === null);
  const maxSessionTimeoutMs = Math.min(20 * tickTimeMs, Math.max(...timeouts));
  const maxTakeoverDelayMs = Math.max(0, ...participants.map((p) => p.takeoverDelayMs));
  // Drawn from a stream of its own too: the seeds' plans stay as they were before peers joined.
  const formats = new Random(seed, 5);
  const busy: [number, number][] = [];
  // And the lagging followers from one more, so that the server faults above stay as they were.
  const followers = new Random(seed, 7);
  const plan = planFor(random, formats, participants, processes.length, electionCount, busy);
  const followerLagMs = followers.chance(0.25) ? followers.int(20, 250) : null;
  const withFaults = withLostReplies(followers, withServerFaults(server, plan, busy, processes, participants, electionCount), busy, processes.length);
  // Memberships and observers (issue 25) from a stream of their own, their plan after all the rest.
  const recipes = recipesFor(new Random(seed, 8), processes, electionCount);
  return {
    elections,
    processes,
    participants,
    plan: withRecipeCalls(new Random(seed, 9), withFaults, busy, recipes),
    maxSessionTimeoutMs,
    maxTakeoverDelayMs,
    chroot,
    missingParents,
    followerLagMs,
    group: '/sim/group',
    ...recipes,
  };
}

/**
 * In about half the seeds some memberships (1 to 4), in about half some observers (1 to 3),
 * on processes whose chroot exists (a missing one fails every request, which the elections
 * already cover).
 */
function recipesFor(random: Random, processes: ProcessSpec[], electionCount: number): { members: MemberSpec[]; observers: ObserverSpec[] } {
  const usable = [...processes.keys()].filter((processId) => !processes[processId]!.chrootMissing);
  const members: MemberSpec[] = [];
  const observers: ObserverSpec[] = [];
  if (usable.length === 0) return { members, observers };
  if (random.chance(0.5)) {
    const count = random.int(1, 4);
    for (let i = 0; i < count; i++) {
      members.push({
        name: `m${i}`,
        processId: random.pick(usable),
        shared: random.chance(0.5),
        backend: random.pick(backends),
        sessionTimeoutMs: random.pick(timeouts),
        joins: random.chance(0.75),
        reportEveryMs: random.chance(0.15) ? random.int(500, 3_000) : 0,
      });
    }
  }
  if (random.chance(0.5)) {
    const count = random.int(1, 3);
    for (let i = 0; i < count; i++) {
      observers.push({
        name: `o${i}`,
        processId: random.pick(usable),
        election: random.int(0, electionCount - 1),
        shared: random.chance(0.5),
        backend: random.pick(backends),
        sessionTimeoutMs: random.pick(timeouts),
      });
    }
  }
  return { members, observers };
}

/**
 * The recipes' calls: each starts (joins, watches) early, then in the busy stretches (the
 * first one always) they join, leave, publish a status and stop, observers start and stop.
 * Indices follow the rest of the plan's, so the other events keep theirs.
 */
function withRecipeCalls(
  random: Random,
  plan: PlannedEvent[],
  busy: [number, number][],
  recipes: { members: MemberSpec[]; observers: ObserverSpec[] },
): PlannedEvent[] {
  const { members, observers } = recipes;
  if (members.length + observers.length === 0) return plan;
  const added: PlannedEvent[] = [];
  const add = (at: number, action: PlannedAction) => added.push({ index: plan.length + added.length, at, action });
  members.forEach((_, member) => add(random.int(0, 300), { kind: 'join', member }));
  observers.forEach((_, observer) => add(random.int(0, 300), { kind: 'start-observer', observer }));
  for (const [stretch, [from, to]] of busy.entries()) {
    if (stretch > 0 && !random.chance(0.6)) continue;
    for (let calls = random.int(1, 4); calls > 0; calls--) {
      const at = random.int(from, to);
      const roll = random.next();
      if (members.length > 0 && (observers.length === 0 || roll < 0.65)) {
        const member = random.int(0, members.length - 1);
        const kind = random.next();
        if (kind < 0.35) add(at, { kind: 'join', member });
        else if (kind < 0.6) add(at, { kind: 'leave', member });
        else if (kind < 0.8) add(at, { kind: 'set-status', member, status: random.pick(['ok', 'warning', 'error']) });
        else add(at, { kind: 'stop-member', member });
      } else {
        const observer = random.int(0, observers.length - 1);
        add(at, random.chance(0.5) ? { kind: 'start-observer', observer } : { kind: 'stop-observer', observer });
      }
    }
  }
  return [...plan, ...added].sort((a, b) => a.at - b.at || a.index - b.index);
}

/**
 * Busy stretches (calls, faults and operator writes every few hundred ms) alternate with
 * quiet ones long enough for the liveness bound to be checked.
 */
function planFor(
  random: Random,
  formats: Random,
  participants: ParticipantSpec[],
  processCount: number,
  electionCount: number,
  busy: [number, number][],
): PlannedEvent[] {
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
    busy.push([at, busyUntil]);
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
        const forMs = random.int(50, 2_000);
        // Some peers stay for a while (a process of the other library that keeps running): a
        // leader that never hears of one is caught however slow its notice.
        add(at, {
          kind: 'foreign-child',
          election,
          forMs: format >= 0.5 && formats.chance(0.3) ? forMs + 10_000 : forMs,
          format: format < 0.5 ? 'unparsed' : format < 0.75 ? 'kazoo' : 'curator-latch',
        });
      } else if (roll < 0.94) add(at, { kind: 'close-session', processId });
      else add(at, { kind: 'start', participant });
    }
    at += random.int(6_000, 12_000);
  }
  return plan.map((action, index) => ({ index, at: times[index]!, action })).sort((a, b) => a.at - b.at || a.index - b.index);
}

/**
 * Issue 22's server-side faults, in the busy stretches the plan already has (so the quiet
 * ones, where liveness is judged, stay as long): operators narrowing ACLs, slow handshakes.
 */
function withServerFaults(
  server: Random,
  plan: PlannedEvent[],
  busy: [number, number][],
  processes: ProcessSpec[],
  participants: ParticipantSpec[],
  electionCount: number,
): PlannedEvent[] {
  const acls = server.chance(0.3);
  const handshakes = server.chance(0.25);
  if (!acls && !handshakes) return plan;
  const added: PlannedAction[] = [];
  const times: number[] = [];
  // Most runs end (on their step budget) within the first few busy stretches: the first one
  // always has each enabled fault.
  for (const [stretch, [from, to]] of busy.entries()) {
    if (acls && (stretch === 0 || server.chance(0.5))) {
      const roll = server.next();
      const target: AclTarget = roll < 0.4 ? 'election' : roll < 0.8 ? 'head' : 'candidate';
      const permissions = [Permission.read, Permission.write, Permission.create, Permission.delete, Permission.admin];
      const acl: RestrictedAcl = target !== 'election' && server.chance(0.5) ? 'world-write-only' : { without: server.pick(permissions) };
      const then = server.pick(target === 'election' ? (['none', 'leader-resigns', 'leader-stops'] as const) : (['none', 'write', 'write-delete'] as const));
      times.push(server.int(from, to));
      added.push({ kind: 'restrict-acl', election: server.int(0, electionCount - 1), target, pick: server.next(), acl, then, forMs: server.int(200, 4_000) });
    }
    if (handshakes && (stretch === 0 || server.chance(0.4))) {
      const processId = server.int(0, processes.length - 1);
      // Late, but within every client's connect attempt (a third of its timeout), so that it is taken.
      const timeouts = [
        processes[processId]!.sessionTimeoutMs,
        ...participants.filter((participant) => participant.processId === processId && !participant.shared).map((participant) => participant.sessionTimeoutMs),
      ];
      const longestMs = Math.max(...timeouts);
      times.push(server.int(from, to));
      added.push({
        kind: 'slow-handshake',
        processId,
        delayMs: server.int(20, Math.round(Math.min(...timeouts) * 0.3)),
        silentMs: server.int(longestMs + 500, 3 * longestMs + 500),
        ofLeader: server.chance(0.7),
      });
    }
  }
  const next = plan.length;
  return [...plan, ...added.map((action, index) => ({ index: next + index, at: times[index]!, action }))].sort((a, b) => a.at - b.at || a.index - b.index);
}

/** Lost create replies (stream 7, after the follower lag drawn from it): in the busy stretches, the first one always. */
function withLostReplies(followers: Random, plan: PlannedEvent[], busy: [number, number][], processCount: number): PlannedEvent[] {
  if (!followers.chance(0.25)) return plan;
  const added: PlannedEvent[] = [];
  for (const [stretch, [from, to]] of busy.entries()) {
    if (stretch > 0 && !followers.chance(0.4)) continue;
    added.push({
      index: plan.length + added.length,
      at: followers.int(from, to),
      action: { kind: 'lose-create-reply', processId: followers.int(0, processCount - 1) },
    });
  }
  return [...plan, ...added].sort((a, b) => a.at - b.at || a.index - b.index);
}

function workFor(random: Random): Work {
  const roll = random.next();
  if (roll < 0.4) return { kind: 'hold' };
  if (roll < 0.8) return { kind: 'return', afterMs: random.int(0, 2_000) };
  return { kind: 'throw', afterMs: random.int(0, 1_000) };
}

export function describe(action: PlannedAction, scenario: Scenario): string {
  const who =
    'participant' in action
      ? scenario.participants[action.participant]!.name
      : 'member' in action
        ? scenario.members[action.member]!.name
        : 'observer' in action
          ? scenario.observers[action.observer]!.name
          : '';
  switch (action.kind) {
    case 'join':
      return `${who}.${scenario.members[action.member]!.joins ? 'join' : 'watch'}(${scenario.group})`;
    case 'leave':
      return `${who}.leave()`;
    case 'set-status':
      return `${who}.setStatus('${action.status}')`;
    case 'stop-member':
    case 'stop-observer':
      return `${who}.stop()`;
    case 'start-observer':
      return `${who}.start() (observing ${scenario.elections[scenario.observers[action.observer]!.election]!.path})`;
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
    case 'restrict-acl': {
      const acl = action.acl === 'world-write-only' ? 'world:anyone:w' : `all but ${permissionName(action.acl.without)}`;
      const then = {
        none: '',
        write: ', writes it',
        'write-delete': ', writes it, deletes it',
        'leader-resigns': ', the leader resigns',
        'leader-stops': ', the leader stops',
      }[action.then];
      return `operator: setAcl ${acl} on the ${action.target === 'election' ? 'election node' : action.target === 'head' ? "head's node" : 'a candidate'} of ${scenario.elections[action.election]!.path}${then}, restored after ${action.forMs} ms`;
    }
    case 'slow-handshake':
      return `process ${action.ofLeader ? `${action.processId} (or the leader's)` : action.processId}: connections break, the next connect answered ${action.delayMs} ms late, then ${action.silentMs} ms of silence`;
    case 'lose-create-reply':
      return `process ${action.processId}: the reply to its next create is lost (the connection breaks)`;
    case 'foreign-child':
      return action.format === 'unparsed'
        ? `operator: foreign sequential child in ${scenario.elections[action.election]!.path} for ${action.forMs} ms`
        : `a ${action.format} peer joins ${scenario.elections[action.election]!.path} for ${action.forMs} ms`;
  }
}

function permissionName(bit: number): string {
  return Object.entries(Permission).find(([, value]) => value === bit)?.[0] ?? String(bit);
}
