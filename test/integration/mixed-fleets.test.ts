import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ExampleProcess, startExample } from '../../examples/support/processes.js';
import { LeaderElection } from '../../src/election.js';
import { electionFixture } from '../support/election.js';
import { nextEvent, sleep } from '../support/events.js';
import { adminSession, backends, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';

// zk-leader participants and real peers (kazoo's Election, from Debian's python3-kazoo) in one
// election: each process prints a JSON line per change; the combined history must show one
// leader at a time, handovers in both directions and growing fencing tokens.

const peers = fileURLToPath(new URL('../peers/', import.meta.url));
// Debian's interpreter first: python3-kazoo installs for it (another python3 may come first on PATH).
const python = ['/usr/bin/python3', 'python3'].find((candidate) => spawnSync(candidate, ['-c', 'import kazoo'], { stdio: 'ignore' }).status === 0);
const kazooInstalled = python !== undefined;
if (!kazooInstalled && process.env.CI) {
  throw new Error('python3-kazoo is not installed: the mixed-fleet tests need the real peer (apt-get install python3-kazoo; .ci/run installs it)');
}

interface Member {
  id: string;
  kind: 'zk-leader' | 'kazoo';
  process: ExampleProcess;
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

describe.skipIf(!kazooInstalled).each(backends)('a mixed fleet with kazoo on %s', (backend) => {
  const running: Member[] = [];
  const paths: string[] = [];
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

  function start(kind: Member['kind'], id: string, path: string): Member {
    const process =
      kind === 'kazoo'
        ? new ExampleProcess(
            spawn(python!, [`${peers}kazoo_election.py`, '--connect', zkConnect(), '--path', path, '--id', id, '--session-timeout', '2'], {
              stdio: ['ignore', 'pipe', 'pipe'],
            }),
          )
        : startExample('worker', [
            '--connect',
            zkConnect(),
            '--path',
            path,
            '--id',
            id,
            '--json',
            '--recipe',
            'kazoo',
            '--session-timeout',
            '2000',
            '--backend',
            backend,
          ]);
    const member = { id, kind, process, killedAt: null };
    running.push(member);
    return member;
  }

  it('hands leadership back and forth between zk-leader and kazoo through stops and kill -9, one leader at a time', async () => {
    const path = uniquePath('mixed-kazoo');
    paths.push(path);
    const members = [start('zk-leader', 'node-1', path), start('kazoo', 'py-1', path), start('zk-leader', 'node-2', path), start('kazoo', 'py-2', path)];
    const all = [...members];
    await Promise.all(members.map((member) => member.process.waitForEvent('started')));
    let leader = await waitForNewLeader(all, 0);
    const changes: string[] = [];
    for (let round = 0; round < 12; round++) {
      const current = members.find((member) => member.id === leader.id)!;
      const kill = round % 3 === 2;
      const electedSoFar = all.reduce((count, member) => count + member.process.events().filter((event) => event.event === 'elected').length, 0);
      if (kill) {
        current.killedAt = Date.now();
        current.process.signal('SIGKILL');
      } else {
        current.process.signal('SIGTERM');
        expect(await current.process.exited, `${current.id} exits 0 on SIGTERM`).toEqual({ code: 0, signal: null });
      }
      const next = await waitForNewLeader(all, electedSoFar);
      changes.push(`${current.kind}->${next.kind}`);
      // The one that left comes back, at the end of the queue.
      const back = start(current.kind, current.id, path);
      all.push(back);
      members[members.indexOf(current)] = back;
      await back.process.waitForEvent('started');
      leader = next;
    }

    const terms = termsOf(all);
    for (let i = 1; i < terms.length; i++) {
      const [before, after] = [terms[i - 1]!, terms[i]!];
      expect(after.from, `${after.id} elected while ${before.id} still led`).toBeGreaterThanOrEqual(before.to);
      expect(after.token, `${after.id}'s token after ${before.id}'s`).toBeGreaterThan(before.token);
    }
    expect(terms.length).toBeGreaterThanOrEqual(13);
    expect(changes, 'handovers from zk-leader to kazoo').toContain('zk-leader->kazoo');
    expect(changes, 'handovers from kazoo to zk-leader').toContain('kazoo->zk-leader');
  }, 180_000);

  it("a zk-leader participant with its own recipe never leads beside kazoo's, and says why", async () => {
    const path = uniquePath('mismatch-kazoo');
    paths.push(path);
    const python = start('kazoo', 'py-1', path);
    await python.process.waitForEvent('elected');
    participant.expectErrors('RECIPE_MISMATCH');
    const alice = participant(path, { id: 'alice' });
    const mismatch = nextEvent(alice, 'error');
    await alice.start();
    expect((await mismatch).message).toMatch(/is a kazoo candidate, and this participant uses recipe 'zk-leader'.*use recipe: 'kazoo'/);
    // kazoo does not see alice's node, so alice must not lead even once kazoo's leader goes
    // while another kazoo participant is still there, behind her.
    const other = start('kazoo', 'py-2', path);
    await other.process.waitForEvent('started');
    await sleep(300);
    python.process.signal('SIGTERM');
    await other.process.waitForEvent('elected');
    await sleep(500);
    expect(alice.isLeader).toBe(false);
    other.process.signal('SIGTERM');
    await other.process.exited;
    // Alone with its own kind again: it leads.
    await alice.waitForLeadership();
    expect(alice).toBeInstanceOf(LeaderElection);
  }, 60_000);
});

/** Waits until some process prints its `elected` beyond the first `seen` elected lines of all. */
async function waitForNewLeader(members: Member[], seen: number): Promise<{ id: string; kind: Member['kind'] }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const elected = members.flatMap((member) =>
      member.process
        .events()
        .filter((event) => event.event === 'elected')
        .map((event) => ({ id: member.id, kind: member.kind, ts: event.ts as number })),
    );
    if (elected.length > seen) return elected.sort((a, b) => b.ts - a.ts)[0]!;
    if (Date.now() > deadline)
      throw new Error(
        `no new leader within 30 s:\n${members.map((m) => `${m.id}: ${m.process.lines.join(' | ')} ${m.process.stderr.join(' | ')}`).join('\n')}`,
      );
    await sleep(20);
  }
}
