import type { LeaderObserver, Member, Membership, ObservedLeader, Session } from '../../src/index.js';
import type { BackendName } from '../../src/client/types.js';
import type { MemberSpec, ObserverSpec, Scenario } from './scenario.js';
import type { SimClient } from './sim-client.js';
import type { World } from './world.js';
import { formatSequence, type ModelNode } from './zookeeper-model.js';

/**
 * The other two recipes on the simulated processes (issue 25): `Membership` members and
 * watchers of one group, `LeaderObserver`s of the elections, each on its process's shared
 * Session or on one of its own, driven by the plan's joins, leaves and stops and hit by the
 * same faults as the elections. What each may report is judged against the model's history
 * of the nodes, with the zxids the recipe's client had seen as its clock.
 *
 * Why zxids: a recipe reads, then reports. Between its previous report and this one it sent
 * its reads and had them answered, each as of some state of the tree; a lagging follower
 * answers as of a state older than the moment it answers. What a client has seen only grows
 * (`SimClient.lastSeenZxid`), and a read sent after it was taken is answered as of that state
 * or a later one, so the span from the client's zxid at the previous report to the newest
 * state now holds every state the report can have come from. Each invariant asks that the
 * report was true at some state in that span: not at the moment it arrives (a notice is on
 * its way while the tree moves on), and never of a state older than the last report.
 */

/** The data of an operator's foreign child that no recipe parses (simulation.ts writes it): not a candidate. */
export const unparsedData = 'other program';

/** What a node's life was, for the parents the recipes read (the elections, the group). */
interface NodeLife {
  name: string;
  czxid: bigint;
  /** The zxid of its deletion: alive at the states czxid <= z < deletedZxid. */
  deletedZxid: bigint;
  owner: string;
  ctime: number;
  /** A sequential node some recipe parses as a candidate (not an unparsed foreign child). */
  candidate: boolean;
  /** Its sequence as ZooKeeper printed it (a peer library's order compares these texts). */
  sequenceText: string;
}

const alive = 2n ** 62n;
const none: ReadonlyMap<string, NodeLife> = new Map();
const noOwner = '0000000000000000';

class NodeHistory {
  /** Every life under each parent, in creation order. */
  private readonly lives = new Map<string, NodeLife[]>();
  /** Every life at each path, newest first. */
  private readonly byPath = new Map<string, NodeLife[]>();
  /** The lives under each parent that are not over. */
  private readonly live = new Map<string, Map<string, NodeLife>>();
  /** When the children of each parent last changed (a create or a delete), in virtual ms. */
  readonly changedAt = new Map<string, number>();

  constructor(private readonly parents: ReadonlySet<string>) {}

  /** `cversion`: the parent's after the create (the sequence is the one before it). */
  created(node: ModelNode, cversion: number, now: number): void {
    const parent = parentOf(node.path);
    if (!this.parents.has(parent)) return;
    const life: NodeLife = {
      name: node.path.slice(parent.length + 1),
      czxid: node.czxid,
      deletedZxid: alive,
      owner: node.ephemeralOwner,
      ctime: node.ctime,
      candidate: node.sequential && node.data.toString('utf8') !== unparsedData,
      sequenceText: node.sequential ? formatSequence((cversion - 1) | 0) : '',
    };
    let lives = this.lives.get(parent);
    if (!lives) this.lives.set(parent, (lives = []));
    lives.push(life);
    let atPath = this.byPath.get(node.path);
    if (!atPath) this.byPath.set(node.path, (atPath = []));
    atPath.unshift(life);
    let live = this.live.get(parent);
    if (!live) this.live.set(parent, (live = new Map()));
    live.set(life.name, life);
    this.changedAt.set(parent, now);
  }

  deleted(node: ModelNode, zxid: bigint, now: number): void {
    const parent = parentOf(node.path);
    const live = this.live.get(parent);
    const life = live?.get(node.path.slice(parent.length + 1));
    if (!life || life.czxid !== node.czxid) return;
    life.deletedZxid = zxid;
    live!.delete(life.name);
    this.changedAt.set(parent, now);
  }

  of(parent: string): readonly NodeLife[] {
    return this.lives.get(parent) ?? [];
  }

  /** The lives at `path`, newest first. */
  at(path: string): readonly NodeLife[] {
    return this.byPath.get(path) ?? [];
  }

  /** The live children of `parent`, by name. */
  liveUnder(parent: string): ReadonlyMap<string, NodeLife> {
    return this.live.get(parent) ?? none;
  }
}

function parentOf(path: string): string {
  const index = path.lastIndexOf('/');
  return index <= 0 ? '/' : path.slice(0, index);
}

/** Whether `life` was alive at some state in [from, to]. */
function aliveWithin(life: NodeLife, from: bigint, to: bigint): boolean {
  return life.czxid <= to && life.deletedZxid > from;
}

/**
 * Whether `life` led its election at some state in [from, to]: it was alive, and no candidate
 * ahead of it (created before it; or, for a peer library's order after the counter wrapped,
 * printed before it) was alive then. A single-node holder (no sequence) leads while it is there
 * and ephemeral.
 *
 * The states to try are where a lead can begin: `life`'s creation, `from`, and each deletion.
 * Not only "once every one ahead is gone": by the printed order a node created after `life`
 * can be ahead of it ('-2147483647' prints before '-2147483648'), and `life` led until it came
 * (seed 4662: an observer rightly named a Curator latch that led for one state, before a
 * kazoo node that prints ahead of it joined).
 */
function ledWithin(life: NodeLife, siblings: readonly NodeLife[], from: bigint, to: bigint): boolean {
  if (!life.candidate) return life.owner !== noOwner && aliveWithin(life, from, to);
  const aliveAt = (node: NodeLife, state: bigint) => node.czxid <= state && state < node.deletedZxid;
  const starts = [life.czxid, from, ...siblings.map((other) => other.deletedZxid)];
  for (const ahead of [(other: NodeLife) => other.czxid < life.czxid, (other: NodeLife) => other.sequenceText < life.sequenceText]) {
    const blockers = siblings.filter((other) => other !== life && other.candidate && ahead(other));
    for (const start of starts) {
      const state = start > from ? start : from;
      if (state > to || !aliveAt(life, state)) continue;
      if (!blockers.some((other) => aliveAt(other, state))) return true;
    }
  }
  return false;
}

/** The leaders of an election now, from its live children (one; two when a peer library's order differs after the wrap), or none. */
function leadersNow(live: ReadonlyMap<string, NodeLife>): NodeLife[] {
  let byCreation: NodeLife | null = null;
  let byText: NodeLife | null = null;
  for (const life of live.values()) {
    if (!life.candidate) continue;
    if (!byCreation || life.czxid < byCreation.czxid) byCreation = life;
    if (!byText || life.sequenceText < byText.sequenceText) byText = life;
  }
  if (byCreation && byText) return byCreation === byText ? [byCreation] : [byCreation, byText];
  // No queue: the single-node holder (readElection's fallback name, `lock`), when ephemeral.
  const lock = live.get('lock');
  return lock && lock.owner !== noOwner ? [lock] : [];
}

/** The latest of `times`, or null when one of them is null (a fault running). */
function latest(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : Math.max(a, b);
}

/** Whether the group's live nodes are exactly what a watcher told (ids, sessions, creation times). */
function sameGroup(live: ReadonlyMap<string, NodeLife>, told: ReadonlyMap<string, { sessionId: string; joinedAt: number }>): boolean {
  if (live.size !== told.size) return false;
  for (const [name, node] of live) {
    const member = told.get(name);
    if (member?.sessionId !== node.owner || member.joinedAt !== node.ctime) return false;
  }
  return true;
}

export type RecipeInvariant = 'membership' | 'observer' | 'liveness' | 'orphan' | 'hang' | 'error' | 'crash';

/** A process's shared Session as simulation.ts keeps it. */
export interface SharedEntry {
  session: Session;
  client: { current: SimClient | null };
  closed: boolean;
}

/** What the recipes take from the run in simulation.ts. */
export interface RecipeRun {
  world: World;
  scenario: Scenario;
  library: { Membership: typeof Membership; LeaderObserver: typeof LeaderObserver };
  fail(invariant: RecipeInvariant, message: string): void;
  sharedSession(processId: number): SharedEntry;
  /** The options of a session of its own on `processId` (connect string, credentials, the runtime). */
  ownSession(processId: number, label: string, backend: BackendName, sessionTimeoutMs: number, onClient: (client: SimClient) => void): Record<string, unknown>;
  /** A path as the server holds it (under the chroot). */
  atServer(path: string): string;
  count(code: string): void;
  /** Something on `client` reacted (an error event): the dropped-refusal check counts it. */
  react(client: SimClient | null): void;
  /** Whether an operator narrows ACLs in this seed (NO_AUTH is then an answer a recipe may meet). */
  aclFaults: boolean;
  livenessBoundMs: number;
}

/**
 * How long a member may be without its node while connected and quiet: it makes it again
 * after one backoff pause (up to 5 s, the default retry's ceiling, after a few lost
 * connections in a row; or, while its old session's node lingers until the server expires
 * that session, up to that linger bound, a session timeout and 2 s), and a round trip.
 */
const presenceMs = 7_000;
/** How long after an operator's ACL change on an election its observers are not judged idle (see check()). */
const aclSettleMs = 10_000;

/** Codes a recipe may emit as `error` or reject a call with, as the world makes them happen. */
const transient = ['CONNECTION_LOSS', 'SESSION_EXPIRED', 'OPERATION_TIMEOUT', 'SESSION_CLOSED', 'CONNECT_TIMEOUT'];
/**
 * What `join()`, `watch()` and `start()` may reject with, as `LeaderElection.start()`: a
 * stop() or leave() that overtook them, a closed session, an own session's first connect
 * that timed out. Not a lost connection or an expiry: the recipe rides those out, as it does
 * once running (a join() that gave up on one left the member half-joined).
 */
const startRefusals = ['INVALID_STATE', 'SESSION_CLOSED', 'CONNECT_TIMEOUT'];

/** One `Membership` object, from its construction to its stop(). */
interface MemberLife {
  label: string;
  spec: MemberSpec;
  membership: Membership;
  client: { current: SimClient | null };
  shared: SharedEntry | null;
  /** `join()`: never called or over (left, rejected), on its way, resolved with no leave since. */
  joinState: 'out' | 'joining' | 'in';
  /** Counts join() and leave() calls: a settlement of an older one changes nothing. */
  generation: number;
  /** watch() (also made by join()): not yet, on its way, resolved. */
  watching: 'no' | 'starting' | 'yes';
  /** When a leave() or stop() resolved with no join() called since: from then on its node must be gone. */
  leftAt: number | null;
  stopCalledAt: number | null;
  stopped: boolean;
  /** Calls on their way, with when they were made. */
  pending: Map<string, number>;
  /** What it has reported: id -> the member's session and creation time. */
  told: Map<string, { sessionId: string; joinedAt: number }>;
  /** Every node (id, session, creation time) it reported `joined`. */
  toldJoins: Set<string>;
  /** The client's zxid at its previous report: the oldest state its next report may come from. */
  fromZxid: bigint;
  /** A `joined`, `left` or new-node `updated` in the report being emitted (the others depend on wall time). */
  reportHasNews: boolean;
  /** Since when it has been joined, connected and without a node (null: it is not). */
  absentSince: number | null;
}

/** One `LeaderObserver` object, from its construction to its stop(). */
interface ObserverLife {
  label: string;
  spec: ObserverSpec;
  observer: LeaderObserver;
  client: { current: SimClient | null };
  shared: SharedEntry | null;
  startState: 'starting' | 'started' | 'failed';
  stopCalledAt: number | null;
  stopped: boolean;
  fromZxid: bigint;
  pending: Map<string, number>;
}

const keyOf = (member: Member) => `${member.id}@${member.sessionId}/${member.joinedAt}`;

export class Recipes {
  private readonly history: NodeHistory;
  private readonly members: MemberLife[] = [];
  private readonly observers: ObserverLife[] = [];
  private readonly memberIncarnations: number[];
  private readonly observerIncarnations: number[];
  private readonly currentMember: (MemberLife | null)[];
  private readonly currentObserver: (ObserverLife | null)[];
  readonly group: string;

  constructor(private readonly run: RecipeRun) {
    const { scenario } = run;
    this.group = run.atServer(scenario.group);
    this.history = new NodeHistory(new Set([this.group, ...scenario.elections.map((election) => run.atServer(election.path))]));
    this.memberIncarnations = scenario.members.map(() => 0);
    this.observerIncarnations = scenario.observers.map(() => 0);
    this.currentMember = scenario.members.map(() => null);
    this.currentObserver = scenario.observers.map(() => null);
  }

  // ---- the tree's history ----

  created(node: ModelNode): void {
    this.history.created(node, this.run.world.model.nodes.get(parentOf(node.path))?.cversion ?? 0, this.run.world.now());
  }

  deleted(node: ModelNode): void {
    this.history.deleted(node, this.run.world.model.zxid, this.run.world.now());
  }

  /** Whether session `by` deleting the node of member `id` is that member's own doing (its own node of an earlier session). */
  deletesOwn(by: string, id: string | undefined): boolean {
    return this.members.some((life) => life.label === id && life.client.current?.currentSessionId === by);
  }

  // ---- the plan's calls ----

  private trace(line: string): void {
    this.run.world.trace(line);
  }

  private usable(processId: number): boolean {
    return !this.run.world.processes.get(processId)!.crashed;
  }

  private session(
    spec: MemberSpec | ObserverSpec,
    label: string,
  ): { options: { session: Session } | Record<string, unknown>; client: { current: SimClient | null }; shared: SharedEntry | null } {
    if (spec.shared) {
      const entry = this.run.sharedSession(spec.processId);
      return { options: { session: entry.session }, client: entry.client, shared: entry };
    }
    const client = { current: null as SimClient | null };
    const options = this.run.ownSession(spec.processId, label, spec.backend, spec.sessionTimeoutMs, (made) => (client.current = made));
    return { options, client, shared: null };
  }

  /** Settles `call` as a recipe's call: `allowed` codes are answers the world can cause; anything else is an error. */
  private settle<T>(
    label: string,
    name: string,
    pending: Map<string, number>,
    call: Promise<T>,
    allowed: readonly string[],
    then: (error: unknown) => void,
  ): void {
    pending.set(name, this.run.world.now());
    call.then(
      () => {
        pending.delete(name);
        this.trace(`${label}: ${name} resolved`);
        then(null);
      },
      (error: unknown) => {
        pending.delete(name);
        const found = (error as { code?: unknown })?.code;
        const code = typeof found === 'string' ? found : null;
        const message = String((error as Error)?.message ?? error);
        this.trace(`${label}: ${name} rejected: ${code}: ${message.slice(0, 300)}`);
        if (code === null || !allowed.includes(code)) this.run.fail('error', `${label}: ${name} rejected with ${code ?? 'no code'}: ${message}`);
        then(error);
      },
    );
  }

  private newMember(index: number): MemberLife | null {
    const spec = this.run.scenario.members[index]!;
    const label = `${spec.name}.${++this.memberIncarnations[index]!}`;
    const { options, client, shared } = this.session(spec, label);
    let membership: Membership;
    try {
      membership = new this.run.library.Membership({ ...options, ...(spec.reportEveryMs > 0 ? { reportEveryMs: spec.reportEveryMs } : {}) } as never);
    } catch (error) {
      this.run.fail('crash', `${label}: new Membership() threw: ${(error as Error).message}`);
      return null;
    }
    const life: MemberLife = {
      label,
      spec,
      membership,
      client,
      shared,
      joinState: 'out',
      generation: 0,
      watching: 'no',
      leftAt: null,
      stopCalledAt: null,
      stopped: false,
      pending: new Map(),
      told: new Map(),
      toldJoins: new Set(),
      fromZxid: client.current?.lastSeenZxid ?? 0n,
      reportHasNews: false,
      absentSince: null,
    };
    membership.on('joined', (member) => this.reported(life, 'joined', member));
    membership.on('left', (member) => this.reported(life, 'left', member));
    membership.on('updated', (member) => this.reported(life, 'updated', member));
    membership.on('members', (list) => this.reportedList(life, list));
    membership.on('error', (error) => {
      this.run.count(error.code);
      this.run.react(life.client.current);
      this.trace(`${label}: error ${error.code}: ${error.message.slice(0, 300)}`);
      if (!transient.includes(error.code) && !(this.run.aclFaults && error.code === 'NO_AUTH'))
        this.run.fail('error', `${label} emitted an unexpected ${error.code}: ${error.message}`);
    });
    this.members.push(life);
    return life;
  }

  join(index: number): void {
    const spec = this.run.scenario.members[index]!;
    if (!this.usable(spec.processId)) return;
    let life = this.currentMember[index];
    if (!life || life.stopCalledAt !== null) {
      life = this.newMember(index);
      if (!life) return;
      this.currentMember[index] = life;
    }
    const current = life;
    if (!spec.joins) {
      if (current.watching !== 'no') return;
      this.trace(`${current.label}: watch(${this.run.scenario.group})`);
      this.startWatching(current, current.membership.watch(this.run.scenario.group), 'watch()');
      return;
    }
    if (current.joinState !== 'out') return;
    current.joinState = 'joining';
    current.leftAt = null;
    const generation = ++current.generation;
    this.trace(`${current.label}: join(${this.run.scenario.group})`);
    const joining = current.membership.join(this.run.scenario.group, { id: current.label, data: { n: generation }, status: 'ok' });
    if (current.watching === 'no') this.startWatching(current, joining, null);
    // INVALID_STATE: a leave() or stop() overtook it.
    this.settle(current.label, 'join()', current.pending, joining, startRefusals, (error) => {
      if (current.generation !== generation) return;
      current.joinState = error ? 'out' : 'in';
    });
  }

  /**
   * The watch a join() or watch() makes, judged from when that call settles: a watch() that
   * rejected watches nothing; a join() watches whatever became of it (a leave() that overtook
   * it leaves the watch running; a closed session or a stop() is judged apart).
   */
  private startWatching(life: MemberLife, call: Promise<unknown>, name: 'watch()' | null): void {
    life.watching = 'starting';
    const done = (watching: 'no' | 'yes') => {
      if (life.watching === 'starting') life.watching = watching;
    };
    if (name) this.settle(life.label, name, life.pending, call, startRefusals, (error) => done(error ? 'no' : 'yes'));
    else
      call.then(
        () => done('yes'),
        () => done('yes'),
      );
  }

  leave(index: number): void {
    const life = this.currentMember[index];
    if (!life || life.stopCalledAt !== null || !life.spec.joins || life.watching === 'no' || !this.usable(life.spec.processId)) return;
    const generation = ++life.generation;
    life.joinState = 'out';
    this.trace(`${life.label}: leave()`);
    // CONNECTION_LOSS: three losses in a row; no promise about the node then.
    this.settle(life.label, 'leave()', life.pending, life.membership.leave(), transient, (error) => {
      if (life.generation === generation && !error) life.leftAt = this.run.world.now();
    });
  }

  setStatus(index: number, status: string): void {
    const life = this.currentMember[index];
    if (!life || life.stopCalledAt !== null || life.joinState !== 'in' || !this.usable(life.spec.processId)) return;
    this.trace(`${life.label}: setStatus('${status}')`);
    this.settle(life.label, `setStatus('${status}')`, life.pending, life.membership.setStatus(status), ['INVALID_STATE', ...transient], () => {});
  }

  stopMember(index: number): void {
    const life = this.currentMember[index];
    if (!life || life.stopCalledAt !== null || !this.usable(life.spec.processId)) return;
    life.stopCalledAt = this.run.world.now();
    const generation = ++life.generation;
    life.joinState = 'out';
    this.trace(`${life.label}: stop()`);
    // A shared session's refused or thrice-lost delete: stopped all the same, no promise about the node.
    const refusals = life.shared ? [...transient, ...(this.run.aclFaults ? ['NO_AUTH'] : [])] : [];
    this.settle(life.label, 'stop()', life.pending, life.membership.stop(), refusals, (error) => {
      life.stopped = true;
      if (life.generation === generation && !error) life.leftAt = this.run.world.now();
    });
  }

  private newObserver(index: number): ObserverLife | null {
    const spec = this.run.scenario.observers[index]!;
    const label = `${spec.name}.${++this.observerIncarnations[index]!}`;
    const { options, client, shared } = this.session(spec, label);
    let observer: LeaderObserver;
    try {
      observer = new this.run.library.LeaderObserver({ ...options, path: this.run.scenario.elections[spec.election]!.path } as never);
    } catch (error) {
      this.run.fail('crash', `${label}: new LeaderObserver() threw: ${(error as Error).message}`);
      return null;
    }
    const life: ObserverLife = {
      label,
      spec,
      observer,
      client,
      shared,
      startState: 'starting',
      stopCalledAt: null,
      stopped: false,
      fromZxid: client.current?.lastSeenZxid ?? 0n,
      pending: new Map(),
    };
    observer.on('leader', (leader) => this.reportedLeader(life, leader));
    observer.on('error', (error) => {
      this.run.count(error.code);
      this.run.react(life.client.current);
      this.trace(`${label}: error ${error.code}: ${error.message.slice(0, 300)}`);
      if (!transient.includes(error.code) && !(this.run.aclFaults && error.code === 'NO_AUTH'))
        this.run.fail('error', `${label} emitted an unexpected ${error.code}: ${error.message}`);
    });
    this.observers.push(life);
    return life;
  }

  startObserver(index: number): void {
    const spec = this.run.scenario.observers[index]!;
    if (!this.usable(spec.processId)) return;
    const running = this.currentObserver[index];
    if (running && running.stopCalledAt === null) return;
    const life = this.newObserver(index);
    if (!life) return;
    this.currentObserver[index] = life;
    this.trace(`${life.label}: start()`);
    this.settle(life.label, 'start()', life.pending, life.observer.start(), startRefusals, (error) => {
      life.startState = error ? 'failed' : 'started';
    });
  }

  stopObserver(index: number): void {
    const life = this.currentObserver[index];
    if (!life || life.stopCalledAt !== null || !this.usable(life.spec.processId)) return;
    life.stopCalledAt = this.run.world.now();
    this.trace(`${life.label}: stop()`);
    this.settle(life.label, 'stop()', life.pending, life.observer.stop(), [], () => (life.stopped = true));
  }

  // ---- what they report ----

  /**
   * Membership, at each event: `joined` names an id the watcher has not reported since its
   * last `left` of it (a member is seen once per join), and never a node (id, session,
   * creation time) it reported joined before; `left` and `updated` name an id it has
   * reported. Each member it names in `joined` or `updated` is a node of the group that was
   * there at some state since its previous report; a `left` comes only when at some state in
   * that span the id had no node.
   */
  private reported(life: MemberLife, event: 'joined' | 'left' | 'updated', member: Member): void {
    const told = life.told.get(member.id);
    const path = `${this.group}/${member.id}`;
    const from = life.fromZxid;
    const to = this.run.world.model.zxid;
    const lives = this.history.at(path);
    const span = `states ${from}..${to}`;
    const newNode = !told || told.sessionId !== member.sessionId || told.joinedAt !== member.joinedAt;
    if (event === 'joined' || newNode) life.reportHasNews = true;
    if (event === 'joined') {
      this.trace(`${life.label}: joined ${member.id} (session ${member.sessionId})`);
      if (told) return this.run.fail('membership', `${life.label} reported ${member.id} joined twice without a left between (session ${member.sessionId})`);
      if (life.toldJoins.has(keyOf(member)))
        return this.run.fail('membership', `${life.label} reported the same node of ${member.id} (session ${member.sessionId}) joined a second time`);
      life.toldJoins.add(keyOf(member));
    } else if (!told) {
      return this.run.fail('membership', `${life.label} reported ${member.id} ${event} without having reported it joined`);
    }
    if (event === 'left') {
      this.trace(`${life.label}: left ${member.id} (session ${member.sessionId})`);
      life.told.delete(member.id);
      // Gone at some state in the span: no life of the path covers all of it.
      const absent = !lives.some((node) => node.czxid <= from && node.deletedZxid > to);
      if (!absent) this.run.fail('membership', `${life.label} reported ${member.id} left, but its node was there at every state of ${span}`);
      return;
    }
    if (event === 'updated' && !newNode) return;
    if (event === 'updated') this.trace(`${life.label}: ${member.id} is a new node (session ${member.sessionId}), reported as updated`);
    life.told.set(member.id, { sessionId: member.sessionId, joinedAt: member.joinedAt });
    const node = lives.find((candidate) => candidate.owner === member.sessionId && candidate.ctime === member.joinedAt);
    if (!node) return this.run.fail('membership', `${life.label} reported ${member.id} ${event} in session ${member.sessionId}, a node the group never had`);
    if (!aliveWithin(node, from, to))
      this.run.fail('membership', `${life.label} reported ${member.id} ${event} (node ${node.czxid}..${node.deletedZxid}), not in the group at any of ${span}`);
  }

  /** The whole list after a report's events: exactly what those events leave it with. */
  private reportedList(life: MemberLife, list: Member[]): void {
    if (!life.reportHasNews) return;
    life.reportHasNews = false;
    const ids = list.map((member) => member.id).sort();
    const told = [...life.told.keys()].sort();
    if (ids.join() !== told.join()) this.run.fail('membership', `${life.label} listed [${ids.join(', ')}] after events that leave [${told.join(', ')}]`);
    life.fromZxid = life.client.current?.lastSeenZxid ?? life.fromZxid;
  }

  /**
   * LeaderObserver, at each report: a leader it names was the first live participant of its
   * election (queue order; the single-node holder when the path has no queue) at some state
   * since its previous report. Not "is the leader now": the change that unseats it may be on
   * its way to the observer.
   */
  private reportedLeader(life: ObserverLife, leader: ObservedLeader | null): void {
    const from = life.fromZxid;
    life.fromZxid = life.client.current?.lastSeenZxid ?? from;
    this.trace(`${life.label}: leader ${leader ? `${leader.id} (${leader.node}, token ${leader.fencingToken})` : 'none'}`);
    if (!leader) return;
    const path = this.run.atServer(this.run.scenario.elections[life.spec.election]!.path);
    const to = this.run.world.model.zxid;
    const node = this.history.at(`${path}/${leader.node}`).find((candidate) => candidate.czxid === leader.fencingToken);
    if (!node)
      return this.run.fail('observer', `${life.label} reported ${leader.node} (token ${leader.fencingToken}) as leader, a node the election never had`);
    if (!ledWithin(node, this.history.of(path), from, to)) {
      const ahead = this.history
        .of(path)
        .filter((other) => other.candidate && other.czxid < node.czxid && other.deletedZxid > from)
        .map((other) => `${other.name} (${other.czxid}..${other.deletedZxid === alive ? 'now' : other.deletedZxid})`);
      this.run.fail(
        'observer',
        `${life.label} reported ${leader.node} (${node.czxid}..${node.deletedZxid === alive ? 'now' : node.deletedZxid}) as leader, not first at any of states ${from}..${to} (ahead: ${ahead.join(', ') || 'none'})`,
      );
    }
  }

  // ---- the checks after every step ----

  /** Recipes running on `client` (the leak and storm checks allow for their watches and reads). */
  runningOn(client: SimClient): number {
    let count = 0;
    for (const life of this.members) if (life.stopCalledAt === null && life.client.current === client) count += 1;
    for (const life of this.observers) if (life.stopCalledAt === null && life.client.current === client) count += 1;
    return count;
  }

  /** Watches the recipes on `client` may hold: the group's and each member node's, an observer's three, and stale ones on the group's nodes. */
  watchAllowance(client: SimClient): number {
    const groupNodes = this.history.liveUnder(this.group).size;
    const membered = this.members.some((life) => life.client.current === client);
    return 3 * this.runningOn(client) + (membered ? groupNodes + 1 : 0);
  }

  /**
   * After every step. `quietSince(process)` says since when no fault hit the process,
   * `aclChangedSince(election)` since when no operator's ACL change on the election's nodes
   * (-Infinity: never); each null while one runs.
   *
   * The quiescence checks judge a recipe when its client is idle: connected, nothing on the
   * wire either way, no request unanswered, not on a lagging follower (whose watches fire
   * late), and its Session connected (a suspended one holds requests back). Then the recipe
   * has done all it was asked to do, and any change after its last reads has a notice on its
   * way (the watches those reads set): its view must be the truth now. Not while an operator's
   * ACL change on what it reads is recent: the server drops the watch of a session that may
   * not read the node, without a word.
   */
  check(quietSince: (processId: number) => number | null, aclChangedSince: (election: number) => number | null): void {
    const { world, livenessBoundMs } = this.run;
    const now = world.now();
    const quiet = (from: number | null) => (from === null ? 0 : now - from);

    for (const life of this.members) {
      if (life.stopped && life.leftAt === null) continue;
      // Orphans: once leave() or stop() resolved (and no join() since), no node of that member
      // is in the group in a session something keeps alive.
      if (life.leftAt !== null) {
        const node = world.model.nodes.get(`${this.group}/${life.label}`);
        if (node && world.model.live(node.ephemeralOwner)) {
          const keepers = world.clients.filter((client) => client.keepsSessionAlive && client.currentSessionId === node.ephemeralOwner);
          if (keepers.length > 0)
            this.run.fail(
              'orphan',
              `${life.label}'s member node outlived its ${life.stopped ? 'stop()' : 'leave()'} (resolved ${now - life.leftAt} ms ago) in live session ${node.ephemeralOwner} (kept alive by ${keepers.map((client) => client.label).join(', ')})`,
            );
        }
      }
      if (!this.runnable(life.spec.processId)) continue;
      const process = quietSince(life.spec.processId);
      for (const [call, calledAt] of life.pending) {
        const spell = quiet(latest(process, calledAt));
        if (spell > livenessBoundMs) this.run.fail('hang', `${life.label}: ${call} has not settled after ${spell} ms of quiet`);
      }
      const running = life.stopCalledAt === null && !life.shared?.closed;
      const session = running ? this.sessionOf(life) : null;
      const client = life.client.current;
      // Presence: a member whose join() resolved, and that has not left, is not without a node
      // for long while its session is connected and its process quiet. (A node of its earlier
      // session that lingers until the server expires that session counts as there: the
      // member waits for it to go, then makes its own, with backoff.)
      const node = world.model.nodes.get(`${this.group}/${life.label}`);
      const absent = life.joinState === 'in' && session?.state === 'connected' && client?.isConnected === true && !node;
      if (!absent) life.absentSince = null;
      else life.absentSince ??= now;
      const missing = quiet(latest(process, life.absentSince));
      if (missing > presenceMs)
        this.run.fail(
          'liveness',
          `${life.label} joined and did not leave, but its node has not been in the group for ${missing} ms of quiet, its session ${client!.currentSessionId} connected`,
        );
      // Quiescence: an idle watcher's last report lists exactly the group at the server (ids, sessions, creation times).
      const group = this.history.liveUnder(this.group);
      if (life.watching === 'yes' && session && client && this.idle(session, client) && !sameGroup(group, life.told)) {
        const truth = [...group.values()].map((child) => `${child.name}@${child.owner}/${child.ctime}`).sort();
        const told = [...life.told].map(([id, { sessionId, joinedAt }]) => `${id}@${sessionId}/${joinedAt}`).sort();
        this.run.fail('liveness', `${life.label} reports [${told.join(', ')}] with nothing on its way; the group holds [${truth.join(', ')}]`);
      }
    }

    for (const life of this.observers) {
      if (life.stopped || !this.runnable(life.spec.processId)) continue;
      const quietFrom = quietSince(life.spec.processId);
      for (const [call, calledAt] of life.pending) {
        const spell = quiet(latest(quietFrom, calledAt));
        if (spell > livenessBoundMs) this.run.fail('hang', `${life.label}: ${call} has not settled after ${spell} ms of quiet`);
      }
      if (life.stopCalledAt !== null || life.startState !== 'started' || life.shared?.closed) continue;
      const session = this.sessionOf(life);
      const client = life.client.current;
      // The election's ACLs untouched for a while (see above).
      const aclQuiet = quiet(aclChangedSince(life.spec.election)) > aclSettleMs;
      if (!session || !client || !aclQuiet || !this.idle(session, client)) continue;
      // Quiescence: an idle observer's `leader` is the election's leader (node and token), or null when nobody leads.
      const truth = leadersNow(this.history.liveUnder(this.run.atServer(this.run.scenario.elections[life.spec.election]!.path)));
      const seen = life.observer.leader;
      const right = truth.length === 0 ? seen === null : truth.some((leader) => leader.name === seen?.node && leader.czxid === seen.fencingToken);
      if (!right)
        this.run.fail(
          'liveness',
          `${life.label} reports ${seen ? `${seen.node} (token ${seen.fencingToken})` : 'no leader'} with nothing on its way; the leader is ${truth.map((leader) => `${leader.name} (token ${leader.czxid})`).join(' or ') || 'nobody'}`,
        );
    }
  }

  /** Nothing of the recipe's session on its way: see check(). */
  private idle(session: Session, client: SimClient): boolean {
    const { world } = this.run;
    const connection = client.connectionId === null ? undefined : world.connections.get(client.connectionId);
    return (
      session.state === 'connected' &&
      client.isConnected &&
      client.inFlight === 0 &&
      connection !== undefined &&
      connection.open &&
      connection.lag === null &&
      connection.toClient.length === 0 &&
      connection.toServer.length === 0
    );
  }

  /** Its process is neither crashed nor paused. */
  private runnable(processId: number): boolean {
    const process = this.run.world.processes.get(processId)!;
    return !process.crashed && !process.paused;
  }

  private sessionOf(life: MemberLife | ObserverLife): Session | null {
    if (life.shared) return life.shared.session;
    try {
      return 'membership' in life ? life.membership.session : life.observer.session;
    } catch {
      // An own session before the first join()/watch()/start().
      return null;
    }
  }
}
