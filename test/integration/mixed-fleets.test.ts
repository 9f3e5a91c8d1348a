import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExampleProcess, startWorker } from '../../examples/support/processes.js';
import { electionFixture } from '../support/election.js';
import { runCli } from '../support/cli.js';
import { testResources } from '../support/resources.js';
import type { TcpProxy } from '../support/tcp-proxy.js';
import { nextEvent, sleep, until } from '../support/events.js';
import { adminSession, backends, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';
import { curatorClasspath, curatorVersion, kazooPython, peersDir as peers } from '../peers/index.js';

// zk-leader participants and real peers (kazoo's Election from Debian's python3-kazoo,
// Curator's LeaderLatch from libcurator-recipes-java) in one election: each process prints a
// JSON line per change; the combined history must show one leader at a time, handovers in
// both directions and growing fencing tokens.

const pythonWithKazoo = kazooPython()?.python;
const kazooInstalled = pythonWithKazoo !== undefined;
if (!kazooInstalled && process.env.CI) {
  throw new Error('python3-kazoo is not installed: the mixed-fleet tests need the real peer (apt-get install python3-kazoo; .ci/run installs it)');
}

// The Curator peer is compiled here, once per run.
const curatorInstalled = spawnSync('javac', ['-version'], { stdio: 'ignore' }).status === 0 && curatorVersion() !== null;
if (!curatorInstalled && process.env.CI) {
  throw new Error(
    'javac or Curator is not installed: the mixed-fleet tests need the real peer (apt-get install default-jdk-headless libcurator-recipes-java; .ci/run installs them)',
  );
}
let curatorClasses: string | null = null;
function compiledCuratorPeer(): string {
  if (curatorClasses) return curatorClasses;
  const out = mkdtempSync(join(tmpdir(), 'zk-leader-curator-peer-'));
  const compiled = spawnSync('javac', ['-d', out, '-cp', curatorClasspath, `${peers}CuratorPeer.java`], { encoding: 'utf8' });
  if (compiled.status !== 0) throw new Error(`javac failed: ${compiled.stderr}`);
  curatorClasses = out;
  return out;
}

type PeerKind = 'kazoo' | 'curator-latch' | 'curator-selector' | 'single-node';
const peerKinds: { peer: PeerKind; installed: boolean }[] = [
  { peer: 'kazoo', installed: kazooInstalled },
  { peer: 'curator-latch', installed: curatorInstalled },
  { peer: 'curator-selector', installed: curatorInstalled },
  // kazoo racing for one ephemeral node against zk-leader's single-node recipe.
  { peer: 'single-node', installed: kazooInstalled },
];
const cases = backends.flatMap((backend) => peerKinds.filter(({ installed }) => installed).map(({ peer }) => ({ backend, peer })));

interface Member {
  id: string;
  kind: 'zk-leader' | PeerKind;
  process: ExampleProcess;
  /** Its own way to the server: a partition cuts this process off alone. */
  cut: TcpProxy;
  /** When this process was SIGKILLed (it prints nothing after). */
  killedAt: number | null;
}

interface Term {
  id: string;
  kind: Member['kind'];
  token: bigint;
  from: number;
  to: number;
}

/** The ids of the processes whose last line about leading says they lead now. */
function openTerms(members: Member[]): string[] {
  return termsOf(members)
    .filter((term) => term.to === Infinity)
    .map((term) => term.id);
}

/** Each process's terms from its JSON lines; a term of a killed process ends at the kill. */
function termsOf(members: Member[]): Term[] {
  const terms: Term[] = [];
  for (const member of members) {
    let open: Term | null = null;
    for (const event of member.process.events()) {
      if (event.event === 'elected')
        open = { id: member.id, kind: member.kind, token: BigInt(event.fencingToken as string), from: event.ts as number, to: Infinity };
      if ((event.event === 'lost' || event.event === 'stopped') && open) {
        terms.push({ ...open, to: event.ts as number });
        open = null;
      }
    }
    if (open) terms.push({ ...open, to: member.killedAt ?? Infinity });
  }
  return terms.sort((a, b) => a.from - b.from);
}

describe.each(cases)('a mixed fleet with $peer on $backend', ({ backend, peer }) => {
  const running: Member[] = [];
  const paths: string[] = [];
  const { admin, proxy } = testResources(backend);
  const participant = electionFixture(backend);
  // Registered after the fixture, so it runs first: no peer re-creates a node while the
  // fixture removes the test's path.
  afterEach(async () => {
    const left = running.splice(0);
    for (const member of left) member.process.signal('SIGKILL');
    await Promise.all(left.map((member) => member.process.exited));
    const admin = await adminSession();
    for (const path of paths.splice(0)) await removeTree(admin, path);
    await admin.close();
  });

  async function start(kind: Member['kind'], id: string, path: string): Promise<Member> {
    const cut = await proxy();
    // Its own way to the server: a partition cuts off this process alone.
    const connect = cut.connectString;
    const spawned = (command: string, args: string[]) => new ExampleProcess(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    const python = (script: string) =>
      spawned(pythonWithKazoo!, [`${peers}${script}`, '--connect', connect, '--path', path, '--id', id, '--session-timeout', '2']);
    const process =
      kind === 'kazoo'
        ? python('kazoo_election.py')
        : kind === 'single-node'
          ? python('kazoo_single_node.py')
          : kind === 'curator-latch' || kind === 'curator-selector'
            ? spawned('java', [
                '-cp',
                `${compiledCuratorPeer()}:${curatorClasspath}`,
                'CuratorPeer',
                connect,
                path,
                id,
                '2000',
                kind === 'curator-latch' ? 'latch' : 'selector',
              ])
            : startWorker({ connect, path, id, recipe: peer, sessionTimeoutMs: 2000, backend });
    const member = { id, kind, process, cut, killedAt: null };
    running.push(member);
    return member;
  }

  it('hands leadership back and forth through stops, kill -9 and partitions, one leader at a time', async () => {
    const path = uniquePath(`mixed-${peer}`);
    paths.push(path);
    const members = [
      await start('zk-leader', 'node-1', path),
      await start(peer, 'peer-1', path),
      await start('zk-leader', 'node-2', path),
      await start(peer, 'peer-2', path),
    ];
    const all = [...members];
    await Promise.all(members.map((member) => member.process.waitForEvent('started')));
    await waitForNewLeader(all, 0);
    const changes: string[] = [];
    for (let round = 0; round < 20; round++) {
      // The one to fault is whoever holds a term now by its own lines, not the last one
      // elected: under load a term may also end by itself (every participant here ends its
      // term when its connection is suspended) and the next one lead meanwhile.
      const current = await soleHolder(all, members);
      const fault = round % 3 === 0 ? 'stop' : round % 3 === 1 ? 'partition' : 'kill';
      const electedSoFar = all.reduce((count, member) => count + member.process.events().filter((event) => event.event === 'elected').length, 0);
      if (fault === 'partition') {
        // Cut off silently: it must give up before the server expires its session and
        // elects the next one; then it is killed, its term already over.
        const cutAt = Date.now();
        current.cut.blackhole();
        await current.process.waitForEvent('lost', (fields) => (fields.ts as number) >= cutAt);
      } else if (fault === 'kill') {
        current.killedAt = Date.now();
        current.process.signal('SIGKILL');
      } else {
        current.process.signal('SIGTERM');
        const exit = await current.process.exited;
        // Each leaves cleanly (a JVM reports SIGTERM as 143 even after its shutdown hook ran).
        expect(current.process.events().at(-1)?.event, `${current.id} says it stopped`).toBe('stopped');
        if (current.kind === 'zk-leader') expect(exit, `${current.id} exits 0 on SIGTERM`).toEqual({ code: 0, signal: null });
      }
      const next = await waitForNewLeader(all, electedSoFar);
      changes.push(`${current.kind}->${next.kind}`);
      if (fault === 'partition') {
        current.killedAt = Date.now();
        current.process.signal('SIGKILL');
      }
      // The one that left comes back, at the end of the queue.
      const back = await start(current.kind, current.id, path);
      all.push(back);
      members[members.indexOf(current)] = back;
      await back.process.waitForEvent('started');
    }

    // Read before the history check, so that the check also covers whatever happened meanwhile.
    if (peer !== 'single-node') await showsInStatus(path, all);

    const terms = termsOf(all);
    const history = historyOf(all);
    for (let i = 1; i < terms.length; i++) {
      const [before, after] = [terms[i - 1]!, terms[i]!];
      expect(after.from, `${after.id} elected while ${before.id} still led; history:\n${history}`).toBeGreaterThanOrEqual(before.to);
      // A term resumed on the same node (its session survived a suspension, so no one else
      // can have led meanwhile) keeps its token; every other next term has a higher one.
      const resumed = after.id === before.id && after.token === before.token;
      if (!resumed) expect(after.token, `${after.id}'s token after ${before.id}'s; history:\n${history}`).toBeGreaterThan(before.token);
    }
    expect(terms.length).toBeGreaterThanOrEqual(21);

    expect(changes, `handovers from zk-leader to ${peer}`).toContain(`zk-leader->${peer}`);
    expect(changes, `handovers from ${peer} to zk-leader`).toContain(`${peer}->zk-leader`);
  }, 180_000);

  /** `zk-leader status` on the mixed path, with no flags but the server: the leader, and every participant with its recipe. */
  async function showsInStatus(path: string, all: Member[]): Promise<void> {
    // `zk-leader status` on the mixed path, with no flags but the server: the leader, and
    // every participant with its recipe.
    // The last one restarted may still be joining: ask until all four are in the queue.
    interface Shown {
      leader: { id: string; recipe: string };
      participants: { recipe: string }[];
    }
    let shown: Shown | undefined;
    let table = '';
    const holders = () => openTerms(all);
    const leaderRow = (id: string | undefined) => new RegExp(`^0\\s+leader\\s+${id}\\s+${peer}\\s`, 'm');
    // The leader the status names (in JSON and in its table, asked one after the other) is the
    // one process whose own lines say it holds a term: compared from the processes' history,
    // not from the rotation's bookkeeping. Under load a term may end by itself between two
    // asks, so ask until all agree.
    const agrees = () =>
      shown !== undefined &&
      shown.participants.length === 4 &&
      holders().length === 1 &&
      shown.leader.id === holders()[0] &&
      leaderRow(holders()[0]).test(table);
    await until(
      async () => {
        const status = await runCli(['status', path, '--connect', zkConnect(), '--json']);
        // Exit 1 is "no leader right now": a moment of the rotation (the last one killed has
        // just gone and the others are still joining), so ask again; anything else is a failure.
        if (status.code === 1) return false;
        expect(status.code, status.stderr).toBe(0);
        shown = JSON.parse(status.stdout) as Shown;
        table = (await runCli(['status', path, '--connect', zkConnect()])).stdout;
        return agrees();
      },
      () => `zk-leader status to agree with the processes (60 s): it showed ${JSON.stringify(shown)}\n${table}\nhistory:\n${historyOf(all)}`,
      60_000,
    );
    expect(holders(), `processes holding a term; history:\n${historyOf(all)}`).toHaveLength(1);
    const leaderId = holders()[0]!;
    expect(shown!.leader.id).toBe(leaderId);
    expect(shown!.participants.map((participant) => participant.recipe)).toEqual([peer, peer, peer, peer]);
    expect(table).toMatch(leaderRow(leaderId));
  }

  // A single-node lock is not a queue: a default-recipe participant cannot tell it from any node.
  if (peer === 'single-node') return;
  it("a zk-leader participant with its own recipe never leads beside the peer's, and says why", async () => {
    // The fixture removes this path once alice has stopped.
    const path = uniquePath(`mismatch-${peer}`);
    const first = await start(peer, 'peer-1', path);
    await first.process.waitForEvent('elected');
    participant.expectErrors('RECIPE_MISMATCH');
    const alice = participant(path, { id: 'alice' });
    const mismatch = nextEvent(alice, 'error');
    await alice.start();
    expect((await mismatch).message).toMatch(new RegExp(`is a ${peer} candidate, and this participant uses recipe 'zk-leader'.*use recipe: '${peer}'`));
    // The peer does not order alice's node with its own, so alice must not lead even once the
    // peer's leader goes while another peer participant is still there, behind her.
    const other = await start(peer, 'peer-2', path);
    await other.process.waitForEvent('started');
    const operator = await admin();
    await until(async () => (await operator.getChildren(path)).length === 3, 'peer-2 to join the queue behind alice');
    first.process.signal('SIGTERM');
    await other.process.waitForEvent('elected');
    // A negative check: alice does not lead, so no event comes.
    await sleep(500);
    expect(alice.isLeader).toBe(false);
    other.process.signal('SIGTERM');
    await other.process.exited;
    // Alone with its own kind again: it leads.
    await alice.waitForLeadership();
    expect(alice.isLeader).toBe(true);
  }, 60_000);

  it('a zk-leader leader with its own recipe steps down when a peer joins behind it, and leads again when it goes', async () => {
    const path = uniquePath(`joins-behind-${peer}`);
    participant.expectErrors('RECIPE_MISMATCH');
    const alice = participant(path, { id: 'alice' });
    await alice.start();
    await alice.waitForLeadership();
    const lost = nextEvent(alice, 'lost');
    const mismatch = nextEvent(alice, 'error');
    // The peer does not see alice's node: it leads at once in its own eyes, so alice must go.
    const joined = await start(peer, 'peer-1', path);
    await joined.process.waitForEvent('elected');
    expect(await lost).toEqual({ reason: 'superseded' });
    expect((await mismatch).code).toBe('RECIPE_MISMATCH');
    expect(alice.isLeader).toBe(false);
    joined.process.signal('SIGTERM');
    await joined.process.exited;
    await alice.waitForLeadership();
    expect(alice.isLeader).toBe(true);
  }, 60_000);
});

/** Every process's lines, in order of time, for a failure's message. */
function historyOf(members: Member[]): string {
  return members
    .flatMap((member) => member.process.events().map((event) => ({ ts: event.ts as number, line: `${member.id} ${JSON.stringify(event)}` })))
    .concat(members.filter((member) => member.killedAt !== null).map((member) => ({ ts: member.killedAt!, line: `${member.id} killed` })))
    .sort((a, b) => a.ts - b.ts)
    .map((entry) => entry.line)
    .join('\n');
}

/** The live process that alone holds a term by its own lines (waits for there to be one). */
async function soleHolder(all: Member[], members: Member[]): Promise<Member> {
  await until(
    () => openTerms(all).length === 1,
    () => `one process holding a term (30 s): ${openTerms(all).join(', ')}; history:\n${historyOf(all)}`,
    30_000,
  );
  return members.find((member) => member.id === openTerms(all)[0])!;
}

/** Waits until some process prints its `elected` beyond the first `seen` elected lines of all. */
async function waitForNewLeader(members: Member[], seen: number): Promise<{ id: string; kind: Member['kind'] }> {
  const elected = () =>
    members.flatMap((member) =>
      member.process
        .events()
        .filter((event) => event.event === 'elected')
        .map((event) => ({ id: member.id, kind: member.kind, ts: event.ts as number })),
    );
  await until(
    () => elected().length > seen,
    () => `a new leader (30 s):\n${members.map((m) => `${m.id}: ${m.process.lines.join(' | ')} ${m.process.stderr.join(' | ')}`).join('\n')}`,
    30_000,
  );
  return elected().sort((a, b) => b.ts - a.ts)[0]!;
}
