import * as zkLeader from '../../src/index.js';
import { openAcl, Permission, type AclEntry } from '../../src/client/types.js';
import type { LeaderElection, Session } from '../../src/index.js';
import { describe, missingChroot, scenarioFor, type ParticipantSpec, type PlannedEvent, type Scenario, type Work } from './scenario.js';
import { repeatWindowMs, type SimClient } from './sim-client.js';
import { LegacyShim, type LegacyContext } from './legacy.js';
import { World, worldProcessId } from './world.js';
import { Recipes, unparsedData } from './recipes.js';
import { tickTimeMs, type ModelNode } from './zookeeper-model.js';

/**
 * One seed's run: the scenario's participants as real `LeaderElection`s on the simulated
 * world, the plan carried out, and every invariant checked after every step against the
 * model's true state.
 */

/** The library under test: this tree's, or an older commit's (see run.ts --src). */
export interface Library {
  LeaderElection: typeof zkLeader.LeaderElection;
  Session: typeof zkLeader.Session;
  ZooKeeperError: typeof zkLeader.ZooKeeperError;
  digestAcl: typeof zkLeader.digestAcl;
  /** The other recipes, driven beside the elections where the library has them with the injected Runtime. */
  Membership?: typeof zkLeader.Membership;
  LeaderObserver?: typeof zkLeader.LeaderObserver;
}

export type Invariant =
  'safety' | 'fencing' | 'liveness' | 'orphan' | 'leak' | 'hang' | 'crash' | 'error' | 'storm' | 'trespass' | 'dropped' | 'membership' | 'observer';

export interface Violation {
  invariant: Invariant;
  step: number;
  at: number;
  message: string;
}

export interface SimOptions {
  seed: number;
  steps: number;
  /** Keep a readable trace of the run. */
  traced?: boolean;
  /** Planned events to carry out, by index; all when absent (shrinking drops some). */
  keep?: ReadonlySet<number>;
  library?: Library;
  /** Invariants not to check (to look past one known failure at the next, in old code). */
  ignore?: ReadonlySet<Invariant>;
  /**
   * Scenario features to leave out (to look past one old bug at others): sequences near the
   * wrap, throwing listeners, and issue 22's: single-node elections, operators' ACL changes,
   * missing chroots, payloads near the request limit, slow handshakes, lagging followers, lost
   * create replies; and issue 25's memberships and observers.
   */
  without?: ReadonlySet<Feature>;
  /** The library predates the injected Runtime: shim Node's timers and the client factory (legacy.ts). */
  legacy?: boolean;
}

export const features = ['wrap', 'throwing-listeners', 'single-node', 'acl', 'missing-chroot', 'payload', 'handshake', 'lag', 'lost-reply', 'recipes'] as const;
export type Feature = (typeof features)[number];

export interface SimResult {
  seed: number;
  steps: number;
  virtualMs: number;
  violation: Violation | null;
  trace: string[] | null;
  plan: PlannedEvent[];
  scenario: Scenario;
  terms: number;
  errors: Record<string, number>;
  /** The most requests one client sent within one second of virtual time. */
  maxRequestsPerSecond: number;
}

const credential = 'sim:secret';
/** The plan's calls on memberships and observers (left out with the recipes). */
const recipeCalls = new Set<PlannedEvent['action']['kind']>(['join', 'leave', 'set-status', 'stop-member', 'start-observer', 'stop-observer']);
/** A participant whose process just resumed gets the instant of its resumption to notice. */
const resumeGraceMs = 0;
/** Requests one client may send within a second: a floor, and so many per election running on it. */
const stormBase = 200;
const stormPerElection = 100;
/** How often one request may fail the same way within the repeat window: backoff (200 ms doubling to 5 s) allows a handful. */
const maxRepeatedFailures = 30;

interface Term {
  token: bigint;
  signal: AbortSignal;
  node: string;
  at: number;
}

/** One LeaderElection object: a participant's life from one start() to its stop(). */
interface Incarnation {
  id: string;
  election: LeaderElection;
  context: LegacyContext;
  client: { current: SimClient | null };
  sessionOf: () => Session | null;
  startCalledAt: number;
  started: boolean;
  stopCalledAt: number | null;
  stopped: boolean;
  running: boolean;
  term: Term | null;
  backoffUntil: number;
  /** The last time this incarnation had a candidate node in the true queue. */
  queuedAt: number;
  /** stop() rejected (with a refusal it could not get past): it promised nothing about its node. */
  stopRejected: boolean;
  /** Since when it has had more than one node in its election (null: one or none). */
  duplicatedSince: number | null;
}

class Participant {
  incarnations = 0;
  current: Incarnation | null = null;
  constructor(readonly spec: ParticipantSpec) {}
}

export async function simulate(options: SimOptions): Promise<SimResult> {
  const library = options.library ?? zkLeader;
  const scenario = scenarioFor(options.seed);
  if (options.without?.has('wrap')) for (const election of scenario.elections) election.startSequence = null;
  if (options.without?.has('throwing-listeners')) for (const participant of scenario.participants) participant.throwingListener = false;
  if (options.without?.has('single-node')) for (const election of scenario.elections) election.recipe = 'zk-leader';
  if (options.without?.has('acl')) scenario.plan = scenario.plan.filter((event) => event.action.kind !== 'restrict-acl');
  if (options.without?.has('handshake')) scenario.plan = scenario.plan.filter((event) => event.action.kind !== 'slow-handshake');
  if (options.without?.has('missing-chroot')) for (const process of scenario.processes) process.chrootMissing = false;
  if (options.without?.has('payload')) for (const participant of scenario.participants) participant.payloadBytes = null;
  if (options.without?.has('lag')) scenario.followerLagMs = null;
  if (options.without?.has('lost-reply')) scenario.plan = scenario.plan.filter((event) => event.action.kind !== 'lose-create-reply');
  // Memberships and observers need the recipes with the injected Runtime (not an old checkout's).
  const recipeLibrary =
    !options.legacy && library.Membership && library.LeaderObserver ? { Membership: library.Membership, LeaderObserver: library.LeaderObserver } : null;
  if (options.without?.has('recipes') || !recipeLibrary) {
    scenario.members = [];
    scenario.observers = [];
    scenario.plan = scenario.plan.filter((event) => !recipeCalls.has(event.action.kind));
  }
  const world = new World(options.seed, options.traced ?? false);
  world.followerLagMs = scenario.followerLagMs;
  const legacy = options.legacy ? new LegacyShim(world) : null;
  // Another checkout's library knows its own error class only.
  if (options.library) world.errorFor = (code, operation, path, detail) => new library.ZooKeeperError(code, operation, path, detail);
  if (legacy) {
    world.deliverTo = (client, fn) => legacy.deliver(client, fn);
    world.wrapTimer = (callback) => legacy.keepContext(callback);
  }
  /** Runs a call into the library as code of one simulated process (only matters for legacy code). */
  const as = <T>(context: LegacyContext, fn: () => T): T => (legacy ? legacy.run(context, fn) : fn());
  const plan = options.keep ? scenario.plan.filter((event) => options.keep!.has(event.index)) : scenario.plan;
  const participants = scenario.participants.map((spec) => new Participant(spec));
  const errors: Record<string, number> = {};
  let violation: Violation | null = null;
  let step = 0;
  let terms = 0;
  const fail = (invariant: Invariant, message: string) => {
    if (violation || options.ignore?.has(invariant)) return;
    violation = { invariant, step, at: world.now(), message };
    world.trace(`VIOLATION (${invariant}): ${message}`);
  };

  for (const _ of scenario.processes) world.addProcess();
  // The tree as the server holds it: under the chroot when there is one (the clients add it).
  const root = scenario.chroot ?? '';
  if (scenario.chroot) {
    world.model.seed('/apps', 0);
    world.model.seed(scenario.chroot, 0);
  }
  if (!scenario.missingParents) world.model.seed(`${root}/sim`, 0);
  for (const election of scenario.elections) {
    if (election.startSequence !== null) world.model.seed(`${root}${election.path}`, election.startSequence);
  }
  /** An election's path at the server. */
  const pathOf = (election: number) => `${root}${scenario.elections[election]!.path}`;
  const connectFor = (processId: number) => `sim:2181${scenario.processes[processId]!.chrootMissing ? missingChroot : root}`;
  const singleNode = (election: number) => scenario.elections[election]!.recipe === 'single-node';
  /** The election's candidates at the server: the queue, and for single-node the one fixed node. */
  const candidatesOf = (election: number): ModelNode[] => {
    const queue = world.model.queue(pathOf(election));
    const lock = singleNode(election) ? world.model.nodes.get(`${pathOf(election)}/lock`) : undefined;
    return lock ? [lock, ...queue] : queue;
  };
  const aclFaults = scenario.plan.some((event) => event.action.kind === 'restrict-acl');
  /** Whether `error` is a typed refusal this participant may meet: its configuration, or an operator, makes the server refuse. */
  const excused = (participant: Participant, error: unknown): boolean => {
    const code = (error as { code?: unknown })?.code;
    const message = String((error as Error)?.message ?? '');
    if (typeof code !== 'string' || code === 'UNEXPECTED') return false;
    if (scenario.processes[participant.spec.processId]!.chrootMissing) return message.includes(missingChroot);
    if (participant.spec.payloadBytes !== null) return true;
    return aclFaults && code === 'NO_AUTH';
  };
  /** When an election on a client last reacted to anything (an error, a lost term, a rejection, a stop). */
  const reactedAt = new Map<SimClient, number>();
  const react = (incarnation: Incarnation) => reactOn(incarnation.client.current);
  const reactOn = (client: SimClient | null) => {
    if (client) reactedAt.set(client, world.now());
  };

  // Shared sessions, one per process, made when first needed.
  const shared = new Map<
    number,
    { session: Session; client: { current: SimClient | null }; context: LegacyContext; closed: boolean; usedAfterClose: boolean }
  >();
  const sharedSession = (processId: number) => {
    let entry = shared.get(processId);
    // The first participant after a close still gets the closed session (its start() must
    // settle); the next ones a new session, as a restarted service would make.
    if (entry?.closed) {
      if (entry.usedAfterClose) entry = undefined;
      else entry.usedAfterClose = true;
    }
    if (!entry) {
      const spec = scenario.processes[processId]!;
      const client = { current: null as SimClient | null };
      const context: LegacyContext = { processId, label: `process${processId}`, onClient: (made) => (client.current = made) };
      const session = as(
        context,
        () =>
          new library.Session({
            connect: connectFor(processId),
            backend: spec.backend,
            sessionTimeoutMs: spec.sessionTimeoutMs,
            auth: { scheme: 'digest', credential },
            runtime: world.runtimeFor(processId, context.label, context.onClient),
          }),
      );
      session.on('error', (error) => count(error.code));
      entry = { session, client, context, closed: false, usedAfterClose: false };
      shared.set(processId, entry);
    }
    return entry;
  };
  const count = (code: string) => {
    errors[code] = (errors[code] ?? 0) + 1;
  };
  const recipes = recipeLibrary
    ? new Recipes({
        world,
        scenario,
        library: recipeLibrary,
        fail,
        sharedSession,
        ownSession: (processId, label, backend, sessionTimeoutMs, onClient) => ({
          connect: connectFor(processId),
          backend,
          sessionTimeoutMs,
          auth: { scheme: 'digest', credential },
          runtime: world.runtimeFor(processId, label, onClient),
        }),
        atServer: (path) => `${root}${path}`,
        count,
        react: reactOn,
        aclFaults,
        get livenessBoundMs() {
          return livenessBoundMs;
        },
      })
    : null;
  if (recipes) world.onCreate = (node) => recipes.created(node);
  const expectedErrors = new Set(['LISTENER_FAILED', 'LEADER_WORK_FAILED', 'FOREIGN_CANDIDATE', 'RECIPE_MISMATCH', 'CONNECT_TIMEOUT']);

  // ---- participants' calls ----

  const maxToken = new Map<number, { token: bigint; node: string }>();
  const incarnate = (participant: Participant): Incarnation => {
    const { spec } = participant;
    const id = `${spec.name}.${++participant.incarnations}`;
    const electionSpec = scenario.elections[spec.election]!;
    const padding = spec.payloadBytes === null ? null : { n: participant.incarnations, pad: '' };
    if (padding) padding.pad = 'x'.repeat(Math.max(0, spec.payloadBytes! - JSON.stringify({ id, data: padding }).length));
    const common = {
      path: electionSpec.path,
      id,
      ...(electionSpec.recipe === 'single-node' ? { recipe: 'single-node' as const } : { data: padding ?? { n: participant.incarnations } }),
      onSuspend: spec.onSuspend,
      takeoverDelayMs: spec.takeoverDelayMs,
      trackLeader: spec.trackLeader,
      ...(electionSpec.acl ? { acl: library.digestAcl(credential) } : {}),
    };
    let election: LeaderElection;
    let client: { current: SimClient | null };
    let context: LegacyContext;
    if (spec.shared) {
      const entry = sharedSession(spec.processId);
      client = entry.client;
      context = entry.context;
      election = as(context, () => new library.LeaderElection({ ...common, session: entry.session }));
    } else {
      const own = { current: null as SimClient | null };
      client = own;
      context = { processId: spec.processId, label: id, onClient: (made) => (own.current = made) };
      election = as(
        context,
        () =>
          new library.LeaderElection({
            ...common,
            connect: connectFor(spec.processId),
            backend: spec.backend,
            sessionTimeoutMs: spec.sessionTimeoutMs,
            auth: { scheme: 'digest', credential },
            runtime: world.runtimeFor(spec.processId, id, context.onClient),
          }),
      );
    }
    const incarnation: Incarnation = {
      id,
      election,
      context,
      client,
      sessionOf: () => {
        try {
          return election.session;
        } catch {
          return null;
        }
      },
      startCalledAt: world.now(),
      started: false,
      stopCalledAt: null,
      stopped: false,
      running: false,
      term: null,
      backoffUntil: -Infinity,
      queuedAt: world.now(),
      stopRejected: false,
      duplicatedSince: null,
    };
    election.on('elected', ({ fencingToken, signal }) => {
      terms += 1;
      const node = election.nodeName ?? '?';
      incarnation.term = { token: fencingToken, signal, node, at: world.now() };
      world.trace(`${id}: elected, token ${fencingToken}, node ${node}`);
      const best = maxToken.get(spec.election);
      // A grant on news older than an operator's deletion of our own node is the operator's
      // doing (the deletion is on its way to us, as for a leader): the safety check bounds it.
      // Our node is the one whose czxid is the token (a fixed name is made again by others).
      const deletedByOperator = world.operatorDeletedCzxids.has(fencingToken);
      if (best && !deletedByOperator && (fencingToken < best.token || (fencingToken === best.token && node !== best.node))) {
        fail('fencing', `${id} was elected with token ${fencingToken} (${node}) after token ${best.token} (${best.node}) was handed out`);
      }
      if (!best || fencingToken > best.token) maxToken.set(spec.election, { token: fencingToken, node });
    });
    if (spec.resignsWhenElected) {
      election.on('elected', () => {
        world.trace(`${id}: resigns from its elected listener`);
        void as(context, () => election.resign()).catch((error: unknown) => resignRejected(participant, incarnation, error));
      });
    }
    if (spec.resignsAfterReconnectMs !== null) {
      const delayMs = spec.resignsAfterReconnectMs;
      election.on('reconnected', () => {
        world.setTimer(spec.processId, delayMs, () => {
          if (incarnation.stopCalledAt !== null) return;
          world.trace(`${id}: resigns ${delayMs} ms after a reconnect`);
          void as(context, () => election.resign()).catch((error: unknown) => resignRejected(participant, incarnation, error));
        });
      });
    }
    if (spec.throwingListener) {
      election.on('elected', () => {
        throw new Error('a listener with a bug');
      });
    }
    election.on('lost', ({ reason }) => {
      react(incarnation);
      world.trace(`${id}: lost (${reason})`);
    });
    // Stopped by itself (its shared session was closed): no longer running.
    election.on('stopped', () => {
      world.trace(`${id}: stopped`);
      react(incarnation);
      incarnation.stopCalledAt ??= world.now();
      incarnation.stopped = true;
    });
    election.on('error', (error) => {
      count(error.code);
      react(incarnation);
      world.trace(`${id}: error ${error.code}: ${error.message}`);
      if (error.code === 'LEADER_WORK_FAILED') incarnation.backoffUntil = world.now() + 30_000;
      if (!expectedErrors.has(error.code) && !excused(participant, error)) fail('error', `${id} emitted an unexpected ${error.code}: ${error.message}`);
    });
    return incarnation;
  };

  const usable = (participant: Participant) => !world.processes.get(participant.spec.processId)!.crashed;

  const start = (participant: Participant, work: Work | null) => {
    if (!usable(participant)) return;
    let incarnation = participant.current;
    if (!incarnation || incarnation.stopCalledAt !== null) {
      try {
        incarnation = incarnate(participant);
      } catch (error) {
        // Refused up front (a payload the server would not take): it never runs.
        if (excused(participant, error)) world.trace(`${participant.spec.name}: refused: ${(error as Error).message.slice(0, 200)}`);
        else fail('crash', `${participant.spec.name}: new LeaderElection() threw: ${(error as Error).message}`);
        return;
      }
      participant.current = incarnation;
    } else if (work === null || incarnation.running) return;
    const current = incarnation;
    if (work) {
      current.running = true;
      world.trace(`${current.id}: runWhileLeader(${work.kind})`);
      as(current.context, () => current.election.runWhileLeader((signal) => doWork(participant, work, signal))).then(
        () => (current.started = true),
        (error: unknown) => {
          world.trace(`${current.id}: runWhileLeader rejected: ${(error as Error).message.slice(0, 300)}`);
          settledOut(participant, current, error);
        },
      );
      // runWhileLeader starts the election itself; it counts as started once it has joined.
      void as(current.context, () => current.election.waitForLeadership()).catch(() => {});
    } else {
      world.trace(`${current.id}: start()`);
    }
    const starting = work ? null : as(current.context, () => current.election.start());
    starting?.then(
      () => {
        current.started = true;
        world.trace(`${current.id}: start() resolved, node ${current.election.nodeName}`);
      },
      (error: unknown) => {
        current.started = true;
        world.trace(`${current.id}: start() rejected: ${(error as Error).message.slice(0, 300)}`);
        settledOut(participant, current, error);
      },
    );
  };

  /** A start that failed leaves the election stopped: it no longer takes part. */
  const settledOut = (participant: Participant, incarnation: Incarnation, error: unknown) => {
    const code = (error as { code?: string })?.code;
    react(incarnation);
    if (!['SESSION_CLOSED', 'INVALID_STATE', 'CONNECT_TIMEOUT'].includes(code ?? '') && !excused(participant, error)) {
      fail('error', `${incarnation.id}: start() failed with ${code ?? 'no code'}: ${(error as Error)?.message ?? error}`);
    }
    incarnation.started = true;
    incarnation.stopCalledAt ??= world.now();
    incarnation.stopped = true;
  };

  const doWork = (participant: Participant, work: Work, signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (work.kind === 'hold') {
        signal.addEventListener('abort', () => resolve(), { once: true });
        return;
      }
      world.setTimer(participant.spec.processId, work.afterMs, () => (work.kind === 'throw' ? reject(new Error('work failed')) : resolve()));
    });

  const stop = (participant: Participant) => {
    const incarnation = participant.current;
    if (!incarnation || incarnation.stopCalledAt !== null || !usable(participant)) return;
    incarnation.stopCalledAt = world.now();
    world.trace(`${incarnation.id}: stop() (session ${incarnation.sessionOf()?.state}, node ${incarnation.election.nodeName})`);
    as(incarnation.context, () => incarnation.election.stop()).then(
      () => {
        incarnation.stopped = true;
        world.trace(`${incarnation.id}: stop() resolved`);
      },
      (error: unknown) => {
        react(incarnation);
        // A typed refusal it could not get past (an ACL without DELETE): no promise about the
        // node then, but it takes no part any more, and liveness judges what it left behind.
        if (!excused(participant, error)) return fail('crash', `${incarnation.id}: stop() rejected: ${(error as Error).message}`);
        world.trace(`${incarnation.id}: stop() rejected: ${(error as Error).message}`);
        incarnation.stopped = true;
        incarnation.stopRejected = true;
      },
    );
  };

  const resign = (participant: Participant) => {
    const incarnation = participant.current;
    if (!incarnation || incarnation.stopCalledAt !== null || !usable(participant)) return;
    world.trace(`${incarnation.id}: resign()`);
    as(incarnation.context, () => incarnation.election.resign()).catch((error: unknown) => resignRejected(participant, incarnation, error));
  };

  /** resign() may reject only with a typed error the server's refusal explains (then the election must still tell the truth). */
  function resignRejected(participant: Participant, incarnation: Incarnation, error: unknown): void {
    react(incarnation);
    if (excused(participant, error)) world.trace(`${incarnation.id}: resign() rejected: ${(error as Error).message}`);
    else fail('crash', `${incarnation.id}: resign() rejected: ${(error as Error).message}`);
  }

  // ---- faults and the operator ----

  /** The last time anything disturbed the cluster; liveness is judged only after a quiet spell. */
  let disturbedAt = 0;
  const disturb = () => (disturbedAt = world.now());
  const faultsActive = new Set<string>();
  /**
   * Faults by what they hit, a process (`p<id>`: its network, its scheduling) or an election
   * (`e<index>`: an operator's ACL): when one last began or ended, and how many run now. The
   * recipes judge a quiet spell of their own process and election, not of the whole world.
   */
  const scopes = new Map<string, { since: number; active: number }>();
  const touch = (scope: string, change = 0) => {
    const entry = scopes.get(scope) ?? { since: 0, active: 0 };
    entry.since = world.now();
    entry.active += change;
    scopes.set(scope, entry);
  };
  const during = (key: string, forMs: number, begin: () => void, end: () => void, scope?: string) => {
    begin();
    faultsActive.add(key);
    if (scope) touch(scope, 1);
    world.setTimer(worldProcessId, forMs, () => {
      end();
      faultsActive.delete(key);
      if (scope) touch(scope, -1);
      disturb();
    });
  };
  /** Since when nothing disturbed `scope` (-Infinity: never), or null while a fault on it runs. */
  const scopeQuietSince = (scope: string): number | null => {
    const entry = scopes.get(scope);
    return entry?.active ? null : (entry?.since ?? -Infinity);
  };
  // A lost create reply breaks a process's connections when the create arrives: counted for every process.
  const quietSince = (processId: number): number | null => {
    const since = scopeQuietSince(`p${processId}`);
    return since === null ? null : Math.max(since, world.faultAt);
  };
  let foreignCount = 0;
  let peersJoined = 0;
  /** Candidates of a peer library on an election path, with when they joined. */
  const peerNodes = new Map<string, { election: number; since: number; format: string }>();

  const carryOut = (event: PlannedEvent) => {
    const { action } = event;
    world.trace(`plan #${event.index}: ${describe(action, scenario)}`);
    const operator = { sessionId: '0', authIds: [], superUser: true };
    switch (action.kind) {
      case 'start':
        return start(participants[action.participant]!, null);
      case 'run':
        return start(participants[action.participant]!, action.work);
      case 'stop':
        disturb();
        return stop(participants[action.participant]!);
      case 'resign':
        disturb();
        return resign(participants[action.participant]!);
      case 'break':
        disturb();
        touch(`p${action.processId}`);
        return world.breakConnections(action.processId);
      case 'partition': {
        const process = world.processes.get(action.processId)!;
        if (process.partitioned) return;
        disturb();
        return during(
          `partition${action.processId}`,
          action.forMs,
          () => (process.partitioned = true),
          () => (process.partitioned = false),
          `p${action.processId}`,
        );
      }
      case 'hold-replies': {
        const process = world.processes.get(action.processId)!;
        if (process.repliesHeld) return;
        disturb();
        return during(
          `replies${action.processId}`,
          action.forMs,
          () => (process.repliesHeld = true),
          () => (process.repliesHeld = false),
          `p${action.processId}`,
        );
      }
      case 'pause': {
        const process = world.processes.get(action.processId)!;
        if (process.paused || process.crashed) return;
        disturb();
        return during(
          `pause${action.processId}`,
          action.forMs,
          () => (process.paused = true),
          () => {
            process.paused = false;
            process.resumedAt = world.now();
            world.trace(`process ${action.processId} resumed`);
          },
          `p${action.processId}`,
        );
      }
      case 'crash':
        disturb();
        return world.crash(action.processId);
      case 'close-session': {
        const entry = shared.get(action.processId);
        if (!entry || entry.closed || world.processes.get(action.processId)!.crashed) return;
        disturb();
        entry.closed = true;
        as(entry.context, () => entry.session.close()).catch((error: unknown) =>
          fail('crash', `closing a shared session rejected: ${(error as Error).message}`),
        );
        return;
      }
      case 'delete-candidate':
      case 'delete-head': {
        const queue = candidatesOf(action.election);
        const victim = action.kind === 'delete-head' ? queue[0] : queue[Math.floor(action.pick * queue.length)];
        if (!victim) return;
        disturb();
        return world.model.remove(operator, victim.path, -1);
      }
      case 'delete-election': {
        const path = pathOf(action.election);
        const node = world.model.nodes.get(path);
        if (!node) return;
        disturb();
        for (const name of [...node.children]) {
          try {
            world.model.remove(operator, `${path}/${name}`, -1);
          } catch {
            // a child with children of its own: leave the election node then
          }
        }
        try {
          world.model.remove(operator, path, -1);
        } catch {
          // not empty
        }
        return;
      }
      case 'write-candidate': {
        const queue = candidatesOf(action.election);
        const victim = queue[Math.floor(action.pick * queue.length)];
        if (victim) world.model.setData(operator, victim.path, Buffer.from('{"id":"overwritten"}'), -1);
        return;
      }
      case 'restrict-acl': {
        const queue = candidatesOf(action.election);
        const target =
          action.target === 'election'
            ? world.model.nodes.get(pathOf(action.election))
            : action.target === 'head'
              ? queue[0]
              : queue[Math.floor(action.pick * queue.length)];
        if (!target) return;
        disturb();
        const original = target.acl;
        const narrowed: AclEntry[] =
          action.acl === 'world-write-only'
            ? [{ scheme: 'world', id: 'anyone', permissions: Permission.write }]
            : original.map((entry) => ({ ...entry, permissions: entry.permissions & ~(action.acl as { without: number }).without }));
        world.model.setAcl(operator, target.path, narrowed);
        world.trace(`zk: ACL of ${target.path} set to ${JSON.stringify(narrowed)} by operator`);
        const same = () => {
          const node = world.model.nodes.get(target.path);
          return node && node.czxid === target.czxid ? node : null;
        };
        if (action.then === 'leader-resigns' || action.then === 'leader-stops') {
          const then = action.then;
          world.setTimer(worldProcessId, Math.floor(action.forMs / 3), () => {
            const leader = all().find(({ incarnation }) => incarnation.term && !incarnation.term.signal.aborted);
            if (!leader) return;
            disturb();
            if (then === 'leader-resigns') resign(leader.participant);
            else stop(leader.participant);
          });
        }
        if (action.then === 'write' || action.then === 'write-delete') {
          world.setTimer(worldProcessId, 20, () => {
            if (same()) world.model.setData(operator, target.path, Buffer.from('{"id":"overwritten"}'), -1);
          });
        }
        if (action.then === 'write-delete') {
          world.setTimer(worldProcessId, 20 + Math.floor(action.forMs / 4), () => {
            if (!same()) return;
            disturb();
            try {
              world.model.remove(operator, target.path, -1);
            } catch {
              // it has children (the election node): leave it
            }
          });
        }
        return during(
          `acl${event.index}`,
          action.forMs,
          () => {},
          () => {
            if (!same()) return;
            world.model.setAcl(operator, target.path, original);
            world.trace(`zk: ACL of ${target.path} restored by operator`);
          },
          `e${action.election}`,
        );
      }
      case 'lose-create-reply': {
        const process = world.processes.get(action.processId)!;
        if (process.crashed) return;
        disturb();
        process.loseNextCreateReply = true;
        return;
      }
      case 'slow-handshake': {
        const leader = action.ofLeader ? all().find(({ incarnation }) => incarnation.term && !incarnation.term.signal.aborted) : undefined;
        const processId = leader?.participant.spec.processId ?? action.processId;
        const process = world.processes.get(processId)!;
        if (process.crashed || process.partitioned || process.slowHandshake) return;
        disturb();
        if (leader) world.trace(`(the process of ${leader.incarnation.id}, which leads)`);
        return during(
          `handshake${processId}`,
          action.delayMs + action.silentMs + 300,
          () => {
            process.slowHandshake = { delayMs: action.delayMs, silentMs: action.silentMs };
            world.breakConnections(processId);
          },
          () => (process.slowHandshake = null),
          `p${processId}`,
        );
      }
      case 'foreign-child': {
        const path = pathOf(action.election);
        if (!world.model.nodes.has(path)) return;
        disturb();
        peersJoined += 1;
        // A peer's candidate as its own library names it (src/recipes.ts), with a GUID of the
        // plan's making: the run's random streams stay untouched.
        const guid = peersJoined.toString(16).padStart(32, '0');
        const dashed = `${guid.slice(0, 8)}-${guid.slice(8, 12)}-${guid.slice(12, 16)}-${guid.slice(16, 20)}-${guid.slice(20)}`;
        const stem = action.format === 'kazoo' ? `${guid}__lock__` : action.format === 'curator-latch' ? `_c_${dashed}-latch-` : 'lock-';
        const data = Buffer.from(action.format === 'unparsed' ? unparsedData : `peer-${peersJoined}`);
        const created = world.model.create(operator, `${path}/${stem}`, data, 'persistent-sequential', openAcl);
        foreignCount += 1;
        if (action.format !== 'unparsed') peerNodes.set(created, { election: action.election, since: world.now(), format: action.format });
        world.setTimer(worldProcessId, action.forMs, () => {
          foreignCount -= 1;
          peerNodes.delete(created);
          disturb();
          if (world.model.nodes.has(created)) world.model.remove(operator, created, -1);
        });
        return;
      }
      // The recipes' calls change nothing the elections read: the elections' quiet spells go on.
      case 'join':
        return recipes?.join(action.member);
      case 'leave':
        return recipes?.leave(action.member);
      case 'set-status':
        return recipes?.setStatus(action.member, action.status);
      case 'stop-member':
        return recipes?.stopMember(action.member);
      case 'start-observer':
        return recipes?.startObserver(action.observer);
      case 'stop-observer':
        return recipes?.stopObserver(action.observer);
    }
  };

  // ---- invariants ----

  const all = () => participants.flatMap((participant) => (participant.current ? [{ participant, incarnation: participant.current }] : []));
  const stoppedIds = new Set<string>();
  const livenessBoundMs = 3 * scenario.maxSessionTimeoutMs + scenario.maxTakeoverDelayMs + 2 * tickTimeMs + 1_000;
  const leaderSeenAt = scenario.elections.map(() => 0);
  let maxRequestsPerSecond = 0;
  /** When an operator last deleted each path: a fixed name's holder cannot tell a new node of that name from its own for a round trip. */
  const operatorDeletedAt = new Map<string, number>();
  world.onDelete = (node, by) => {
    recipes?.deleted(node);
    if (by === 'operator') operatorDeletedAt.set(node.path, world.now());
    // Trespass: a session deletes only what is provably its own: a node of its session, or one
    // its own participant left behind in an earlier session (the node names that participant).
    if (by === 'operator' || by.startsWith('expiry of') || by.startsWith('close of') || node.ephemeralOwner === by) return;
    // A fixed name (single-node): ZooKeeper offers no delete conditional on the owner, and a new
    // node has version 0 like ours had: a delete sent after our owner check, when an operator
    // deleted ours meanwhile and another session made the name again, hits theirs. Excused for
    // the notice window after such an operator's deletion, as safety excuses the term.
    const operatorAt = operatorDeletedAt.get(node.path);
    if (!node.sequential && operatorAt !== undefined && world.now() - operatorAt <= scenario.maxSessionTimeoutMs) return;
    const id = world.nodeIds.get(node.path);
    const deleters = all().filter(({ incarnation }) => incarnation.client.current?.currentSessionId === by);
    if (id !== undefined && deleters.some(({ incarnation }) => incarnation.id === id)) return;
    // A member's own node of an earlier session of its Membership (leave() deletes it by name).
    if (recipes?.deletesOwn(by, id)) return;
    fail(
      'trespass',
      `session ${by} (${deleters.map(({ incarnation }) => incarnation.id).join(', ') || 'nobody running'}) deleted ${node.path} of session ${node.ephemeralOwner}${id ? `, which holds ${id}` : ''}`,
    );
  };

  const check = () => {
    const now = world.now();
    if (world.faultAt > disturbedAt) disturbedAt = world.faultAt;
    // Each election's candidates at the server, listed once per check.
    const candidates = scenario.elections.map((_, election) => candidatesOf(election));
    // Safety: a term is held only by the candidate at the head of the true queue, in a live
    // session; a holder's node may be gone only while the holder cannot have heard of it yet.
    for (const { participant, incarnation } of all()) {
      const term = incarnation.term;
      if (!term || term.signal.aborted) continue;
      const process = world.processes.get(participant.spec.processId)!;
      if (process.crashed || process.paused || now - process.resumedAt <= resumeGraceMs) continue;
      const election = participant.spec.election;
      const electionPath = pathOf(election);
      const nodePath = `${electionPath}/${term.node}`;
      // Single-node: the fixed name is reused, so our node is the one whose czxid is our token;
      // it heads the election while it holds this participant's id.
      const atPath = world.model.nodes.get(nodePath);
      const node = singleNode(election) && atPath?.czxid !== term.token ? undefined : atPath;
      const head = singleNode(election) ? (world.nodeIds.get(nodePath) === incarnation.id ? node : undefined) : world.model.queue(electionPath)[0];
      const timeoutMs = incarnation.client.current?.negotiatedSessionTimeoutMs() || participant.spec.sessionTimeoutMs;
      const noticeMs = (participant.spec.onSuspend === 'release' ? 0.75 : 1) * timeoutMs + 1;
      // A peer's candidate anywhere on the path (a kazoo or Curator process that joined behind
      // us): it leads in its own eyes, so we must step down as soon as we can have heard of it.
      // A queue leader holds a children watch and hears of the join at once; a single-node leader
      // watches only its own node, so it is given the liveness window to find out.
      const peerWindowMs = singleNode(election) ? livenessBoundMs : noticeMs;
      // A peer that cannot list the path (an operator took READ from it) cannot tell that it
      // leads: its clock starts when the path is readable again. (Nor can anyone hear of it.)
      const listable = world.model.nodes
        .get(electionPath)
        ?.acl.some((entry) => entry.scheme === 'world' && entry.id === 'anyone' && (entry.permissions & 1) !== 0);
      if (!listable) for (const joined of peerNodes.values()) if (joined.election === election) joined.since = now;
      const peer = [...peerNodes].find(
        ([path, joined]) => joined.election === participant.spec.election && now - joined.since > peerWindowMs && world.model.nodes.has(path),
      );
      if (peer && node)
        fail(
          'safety',
          `${incarnation.id} still leads with token ${term.token} ${now - peer[1].since} ms after a ${peer[1].format} peer joined its election as ${peer[0]}`,
        );
      if (node && head === node && world.model.live(node.ephemeralOwner)) continue;
      const deletedAt = world.operatorDeleted.get(nodePath);
      if (!node && deletedAt !== undefined && now - deletedAt <= noticeMs) continue;
      const why = !node
        ? deletedAt !== undefined
          ? `its node ${term.node} was deleted by an operator ${now - deletedAt} ms ago`
          : `its node ${term.node} (czxid ${term.token}) is gone (deleted by ${world.deletedBy.get(nodePath) ?? 'nobody yet'})`
        : singleNode(election)
          ? `its node ${term.node} holds ${world.nodeIds.get(nodePath) ?? 'another id'} in session ${node.ephemeralOwner}`
          : `its node ${term.node} is not at the head of the queue (${head?.path ?? 'empty'})`;
      const state = `session ${incarnation.sessionOf()?.state ?? 'none'}, client ${incarnation.client.current?.describe() ?? 'none'}`;
      fail('safety', `${incarnation.id} (onSuspend ${participant.spec.onSuspend}) still leads with token ${term.token}: ${why} (${state})`);
    }

    // Orphans: after stop() resolved, no node of that election lives on in a session that
    // something still keeps alive.
    for (const { incarnation } of all()) if (incarnation.stopped && !incarnation.stopRejected) stoppedIds.add(incarnation.id);
    for (let election = 0; election < scenario.elections.length; election++) {
      for (const node of candidates[election]!) {
        const id = world.nodeIds.get(node.path);
        if (!id || !stoppedIds.has(id) || !world.model.live(node.ephemeralOwner)) continue;
        const keptAlive = world.clients.some((client) => client.keepsSessionAlive && client.currentSessionId === node.ephemeralOwner);
        if (keptAlive)
          fail(
            'orphan',
            `${node.path} of ${id} outlived its stop() in live session ${node.ephemeralOwner} (kept alive by ${world.clients
              .filter((client) => client.keepsSessionAlive && client.currentSessionId === node.ephemeralOwner)
              .map((client) => client.label)
              .join(', ')})`,
          );
      }
    }

    // Duplicates: after a quiet spell no participant has two nodes in an election (a create
    // applied though its reply was lost, then made again: a lookup by GUID that read a lagging
    // server without a sync first). The other one is a node nobody will delete.
    const nodesPerId = new Map<string, number>();
    for (let election = 0; election < scenario.elections.length; election++) {
      for (const node of candidates[election]!) {
        const id = world.nodeIds.get(node.path);
        if (id !== undefined && world.model.live(node.ephemeralOwner)) nodesPerId.set(id, (nodesPerId.get(id) ?? 0) + 1);
      }
    }
    for (const { incarnation } of all()) {
      const count = nodesPerId.get(incarnation.id) ?? 0;
      if (count < 2) {
        incarnation.duplicatedSince = null;
        continue;
      }
      incarnation.duplicatedSince ??= now;
      const since = Math.max(incarnation.duplicatedSince, disturbedAt);
      if (faultsActive.size === 0 && now - since > livenessBoundMs) {
        fail('orphan', `${incarnation.id} has had ${count} nodes in its election for ${now - since} ms of quiet (bound ${livenessBoundMs} ms)`);
      }
    }

    // Leaks: watches stay bounded by what the live elections need. A one-shot watch stays
    // set until it fires (ZooKeeper 3.4 clients cannot remove one), so stale ones on nodes
    // that still exist are allowed, one per node and kind, never one per election that came
    // and went.
    const electionsPerClient = new Map<SimClient, number>();
    for (const { incarnation } of all()) {
      const client = incarnation.client.current;
      if (client && incarnation.stopCalledAt === null) electionsPerClient.set(client, (electionsPerClient.get(client) ?? 0) + 1);
    }
    const liveNodes = candidates.reduce((sum, nodes) => sum + nodes.length, 0);
    for (const client of world.clients) {
      // Judged when settled: connected, nothing on the wire (a reconnect's SetWatches fires
      // the watches of nodes deleted meanwhile).
      const connection = client.connectionId === null ? undefined : world.connections.get(client.connectionId);
      if (client.isDead || !client.isConnected || !connection || connection.toClient.length + connection.toServer.length > 0) continue;
      const elections = electionsPerClient.get(client) ?? 0;
      const bound = 3 * elections + liveNodes + 2 * scenario.elections.length + 1 + (recipes?.watchAllowance(client) ?? 0);
      const connectionId = client.connectionId;
      const atServer = connectionId === null ? 0 : world.model.watchCount(connectionId);
      const duplicates = client.duplicateWatchers;
      if (duplicates.length > 0) fail('leak', `${client.label} stacks watch callbacks on one node: ${duplicates.join(', ')}`);
      if (client.registeredWatchers > bound || atServer > bound) {
        fail(
          'leak',
          `${client.label} holds ${client.registeredWatchers} watch callbacks and ${atServer} server watches for ${elections} running elections and ${liveNodes} candidates (bound ${bound})`,
        );
      }
    }

    // Liveness: after a quiet spell some live participant leads, and calls complete.
    for (let e = 0; e < scenario.elections.length; e++) {
      const running = all().filter(
        ({ participant, incarnation }) =>
          participant.spec.election === e &&
          usable(participant) &&
          // Configured for a chroot that is not there: it cannot take part (the hang check judges its start()).
          !scenario.processes[participant.spec.processId]!.chrootMissing &&
          incarnation.stopCalledAt === null &&
          incarnation.backoffUntil < now &&
          // One that resigns whenever elected never stays leader: only the others count.
          !participant.spec.resignsWhenElected,
      );
      const leading = running.some(({ incarnation }) => incarnation.term && !incarnation.term.signal.aborted);
      if (leading || running.length === 0 || foreignCount > 0 || faultsActive.size > 0) leaderSeenAt[e] = now;
      const since = Math.max(leaderSeenAt[e]!, disturbedAt, ...running.map(({ incarnation }) => incarnation.startCalledAt));
      if (now - since > livenessBoundMs) {
        const states = running.map(
          ({ incarnation }) =>
            `${incarnation.id}: session ${incarnation.sessionOf()?.state ?? 'none'}, client ${incarnation.client.current?.describe() ?? 'none'}, node ${incarnation.election.nodeName}`,
        );
        fail(
          'liveness',
          `${scenario.elections[e]!.path} has had no leader for ${now - since} ms of quiet (bound ${livenessBoundMs} ms) with ${running.length} participants running (${states.join('; ')})`,
        );
      }
    }
    // Participation: after a quiet spell every running participant is a candidate again (a
    // resign, an expiry or an operator's delete that no evaluation followed up strands it
    // outside the queue, unseen by the leader check while someone else leads).
    const queuedIds = new Set(candidates.flatMap((nodes) => nodes.map((node) => world.nodeIds.get(node.path))));
    for (const { participant, incarnation } of all()) {
      // Single-node followers hold no node, and a missing chroot's participants cannot: neither is judged here.
      const exempt = singleNode(participant.spec.election) || scenario.processes[participant.spec.processId]!.chrootMissing;
      if (exempt || queuedIds.has(incarnation.id) || incarnation.stopCalledAt !== null || !usable(participant)) {
        incarnation.queuedAt = now;
        continue;
      }
      const since = Math.max(incarnation.queuedAt, disturbedAt, incarnation.startCalledAt, incarnation.backoffUntil);
      if (faultsActive.size === 0 && now - since > livenessBoundMs) {
        fail(
          'liveness',
          `${incarnation.id} has run without a candidate node for ${now - since} ms of quiet (bound ${livenessBoundMs} ms): session ${incarnation.sessionOf()?.state ?? 'none'}, client ${incarnation.client.current?.describe() ?? 'none'}`,
        );
      }
    }
    for (const { participant, incarnation } of all()) {
      if (!usable(participant)) continue;
      const quietSince = Math.max(disturbedAt, incarnation.stopCalledAt ?? incarnation.startCalledAt);
      if (faultsActive.size > 0 || now - quietSince <= livenessBoundMs) continue;
      if (incarnation.stopCalledAt !== null && !incarnation.stopped)
        fail('hang', `${incarnation.id}: stop() has not resolved after ${now - quietSince} ms of quiet`);
      else if (incarnation.stopCalledAt === null && !incarnation.started && !incarnation.running)
        fail('hang', `${incarnation.id}: start() has not resolved after ${now - quietSince} ms of quiet`);
    }

    // Storms: no client sends more than a bounded number of requests in any second of
    // virtual time (a retry loop without backoff spins at the speed of the network).
    for (const client of world.clients) {
      if (client.isDead) continue;
      const sent = client.sendsWithin(now, 1_000);
      if (sent > maxRequestsPerSecond) maxRequestsPerSecond = sent;
      // A membership or an observer reads about as an election does.
      const elections = Math.max(1, (electionsPerClient.get(client) ?? 0) + (recipes?.runningOn(client) ?? 0));
      const bound = stormBase + stormPerElection * elections;
      const repeated = client.mostRepeated;
      if (repeated && repeated.count > maxRepeatedFailures) {
        fail('storm', `${client.label}: ${repeated.key} ${repeated.count} times within ${repeatWindowMs / 1000} s: a request retried without backoff or bound`);
      }
      if (sent > bound)
        fail('storm', `${client.label} sent ${sent} requests within one second (bound ${bound} for ${elections} running elections): ${client.busiest()}`);
    }

    // A refusal the library must act on (NO_AUTH) is never dropped: within the liveness
    // window the client sends the same request again (a retry, with whatever backoff) or lists
    // the node's parent again (the election looked again), or an election on it emits an
    // error, loses its term, rejects a call, or stops.
    for (const client of world.clients) {
      while (client.refusals.length > 0 && now - client.refusals[0]!.at > livenessBoundMs) {
        const refusal = client.refusals.shift()!;
        // Sent again, or the election listed its queue again (an evaluation that moved on).
        const parent = refusal.path.slice(0, Math.max(1, refusal.path.lastIndexOf('/')));
        const retriedAt = Math.max(
          client.lastSent.get(`${refusal.op} ${refusal.path}`) ?? -Infinity,
          client.lastSent.get(`getChildren ${parent}`) ?? -Infinity,
        );
        const used =
          all().some(({ incarnation }) => incarnation.client.current === client && incarnation.stopCalledAt === null) || (recipes?.runningOn(client) ?? 0) > 0;
        if (client.isDead || !used || retriedAt > refusal.at || (reactedAt.get(client) ?? -Infinity) >= refusal.at) continue;
        fail(
          'dropped',
          `${client.label}: ${refusal.op} ${refusal.path} failed ${refusal.code} ${now - refusal.at} ms ago, and nothing followed: no retry, no error event, no lost term, no rejection`,
        );
      }
    }

    // Memberships and observers (recipes.ts says what each invariant asks).
    recipes?.check(quietSince, (election) => scopeQuietSince(`e${election}`));
  };

  // ---- the run ----

  const onRejection = (reason: unknown) => fail('crash', `unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`);
  const onException = (error: Error) => fail('crash', `uncaught exception: ${error.stack ?? error}`);
  const onWarning = () => {};
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  process.on('warning', onWarning);
  legacy?.install();
  let next = 0;
  try {
    for (step = 0; step < options.steps && !violation; step++) {
      const event = plan[next];
      const planned = event ? { at: event.at, run: () => ((next += 1), carryOut(event)) } : null;
      try {
        if (!(await world.step(planned))) break;
      } catch (error) {
        // Whatever the library throws into a socket handler or a timer would crash a process.
        fail('crash', `a step threw: ${(error as Error)?.stack ?? String(error)}`);
        break;
      }
      check();
    }
  } finally {
    legacy?.uninstall();
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    process.off('warning', onWarning);
  }
  return {
    seed: options.seed,
    steps: step,
    virtualMs: world.now(),
    violation,
    trace: world.lines,
    plan: scenario.plan,
    scenario,
    terms,
    errors,
    maxRequestsPerSecond,
  };
}
