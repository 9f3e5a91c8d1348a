import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LeaderElection } from '../../src/election.js';
import { ExampleProcess } from '../../examples/support/processes.js';
import { LeaderObserver } from '../../src/observer.js';
import { expireSession } from '../../src/testing/index.js';
import { electionFixture } from '../support/election.js';
import { cli, runCli } from '../support/cli.js';
import { nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, operatorSetAcl, uniquePath, zkConnect } from '../support/zookeeper.js';
import { Permission } from '../../src/client/types.js';

// The single-node recipe: one ephemeral node that every participant races to create.

describe.each(backends)("recipe 'single-node' on %s", (backend) => {
  const { admin, defer, proxy, session } = testResources(backend);
  const participant = electionFixture(backend);
  const racer = (path: string, id: string, options: { connect?: string } = {}) =>
    participant(path, { id, recipe: 'single-node', sessionTimeoutMs: 2000, ...options });
  /** alice holds the node (on `aliceConnect` when given: a proxy, say), bob follows her. */
  async function holderAndFollower(path: string, aliceConnect?: string) {
    const [alice, bob] = [racer(path, 'alice', aliceConnect ? { connect: aliceConnect } : {}), racer(path, 'bob')];
    const elected = nextEvent(alice, 'elected');
    await alice.start();
    await elected;
    const follows = nextEvent(bob, 'follower');
    await bob.start();
    await follows;
    return { alice, bob };
  }

  it('whoever creates the node leads with its czxid as the token; the others follow it and race when it goes', async () => {
    const path = uniquePath('single-node');
    const [alice, bob, carol] = [racer(path, 'alice'), racer(path, 'bob'), racer(path, 'carol')];
    const aliceElected = nextEvent(alice, 'elected');
    await alice.start();
    const first = await aliceElected;
    const outside = await admin();
    const { stat } = await outside.getData(`${path}/lock`);
    expect(first.fencingToken).toBe(stat.czxid);
    expect((await outside.getData(`${path}/lock`)).data.toString()).toBe('alice');

    const bobFollows = nextEvent(bob, 'follower');
    const carolFollows = nextEvent(carol, 'follower');
    await Promise.all([bob.start(), carol.start()]);
    expect((await bobFollows).leader).toMatchObject({ id: 'alice', recipe: 'single-node', node: 'lock', fencingToken: first.fencingToken });
    await carolFollows;
    expect(bob.health()).toMatchObject({ ok: true, role: 'follower', leader: { id: 'alice' } });
    expect(await bob.getLeader()).toMatchObject({ id: 'alice', recipe: 'single-node' });

    // A graceful stop: the node goes, one of the two wins the race.
    // Every waiting participant races: each sends a create, all but one fail (README: the herd).
    const creates = () => [bob, carol].map((racer) => racer.session.requestCounts.create ?? 0);
    const createsBefore = creates();
    const next = Promise.race([
      nextEvent(bob, 'elected').then((event) => ({ who: bob, event })),
      nextEvent(carol, 'elected').then((event) => ({ who: carol, event })),
    ]);
    await alice.stop();
    const second = await next;
    expect(second.event.fencingToken).toBeGreaterThan(first.fencingToken);
    const other = second.who === bob ? carol : bob;
    await until(() => other.health().leader?.id === second.who.id, 'the loser follows the winner');
    expect(creates().map((count, i) => count - createsBefore[i]!)).toEqual([1, 1]);
    expect(other.isLeader).toBe(false);

    // The winner's session expires at the server: the node goes with it, the last one leads.
    const lost = nextEvent(second.who, 'lost');
    const third = nextEvent(other, 'elected');
    await expireSession(zkConnect(), second.who.session.credentials()!);
    // Under onSuspend 'release' the dropped connection that comes first may end it already.
    expect(['suspended', 'expired']).toContain((await lost).reason);
    expect((await third).fencingToken).toBeGreaterThan(second.event.fencingToken);
  });

  it('leaves no node behind on stop, and a follower that stops deletes nothing of the holder', async () => {
    const path = uniquePath('single-node-stop');
    const { alice, bob } = await holderAndFollower(path);
    await bob.stop();
    const outside = await admin();
    expect((await outside.getData(`${path}/lock`)).data.toString()).toBe('alice');
    await alice.stop();
    expect(await outside.exists(`${path}/lock`)).toBeNull();
  });

  it('an observer and zk-leader status follow the holder, through a handover', async () => {
    const path = uniquePath('single-node-view');
    const { alice } = await holderAndFollower(path);
    const observer = new LeaderObserver({ session: session(), path });
    defer(() => observer.close());
    await observer.start();
    expect(observer.leader).toMatchObject({ id: 'alice', recipe: 'single-node', node: 'lock' });
    const status = await runCli(['status', path, '--connect', zkConnect(), '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ leader: { id: 'alice', recipe: 'single-node' }, participants: [{ id: 'alice' }] });

    const listed = await runCli(['list', path.slice(0, path.lastIndexOf('/')), '--connect', zkConnect(), '--json']);
    expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ path, participants: 1, leader: expect.objectContaining({ id: 'alice' }) }));
    const watching = new ExampleProcess(
      spawn(process.execPath, [cli, 'watch', path, '--connect', zkConnect(), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    defer(async () => {
      watching.signal('SIGKILL');
      await watching.exited;
    });
    await watching.waitForEvent('election', (fields) => (fields.leader as { id?: string } | null)?.id === 'alice');

    // Same node name, next holder: the observer and the watch tell them apart by the token.
    const seesBob = new Promise((resolve) => observer.on('leader', (leader) => leader?.id === 'bob' && resolve(leader)));
    await alice.stop();
    expect(await seesBob).toMatchObject({ id: 'bob', node: 'lock' });
    await watching.waitForEvent('election', (fields) => (fields.leader as { id?: string } | null)?.id === 'bob');
    watching.signal('SIGINT');
    expect(await watching.exited).toEqual({ code: 0, signal: null });
  });

  it('a single-node election with its own lockName is seen by an observer, zk-leader status and list, without being told the name', async () => {
    const path = uniquePath('single-node-lockname');
    const alice = participant(path, { id: 'alice', recipe: 'single-node', lockName: 'mutex' });
    const aliceLeads = nextEvent(alice, 'elected');
    await alice.start();
    await aliceLeads;
    // The name comes from the leader record the holder writes: wait for it to be there.
    await until(async () => (await alice.session.getData(path)).data.length > 0, 'the leader record', 5000);
    const observer = new LeaderObserver({ session: session(), path });
    defer(() => observer.close());
    await observer.start();
    expect(observer.leader).toMatchObject({ id: 'alice', recipe: 'single-node', node: 'mutex' });
    const status = await runCli(['status', path, '--connect', zkConnect(), '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ leader: { id: 'alice', node: 'mutex' } });
    const listed = await runCli(['list', path.slice(0, path.lastIndexOf('/')), '--connect', zkConnect(), '--json']);
    expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ path, participants: 1, leader: expect.objectContaining({ id: 'alice' }) }));
  });

  it('a second single-node participant on the same shared Session is refused: ZooKeeper could not tell the two apart', async () => {
    const path = uniquePath('single-node-shared');
    const shared = session();
    const alice = participant(path, { id: 'alice', recipe: 'single-node', session: shared });
    const bob = participant(path, { id: 'bob', recipe: 'single-node', session: shared });
    const aliceLeads = nextEvent(alice, 'elected');
    await alice.start();
    await aliceLeads;
    await expect(bob.start()).rejects.toMatchObject({ code: 'INVALID_STATE', message: expect.stringContaining('a Session of its own') });
    expect(bob.isLeader).toBe(false);
    expect(alice.isLeader).toBe(true);
    // Another path on the same session is fine, and so is the same path once alice is gone.
    const other = participant(uniquePath('single-node-other'), { id: 'carol', recipe: 'single-node', session: shared });
    const carolLeads = nextEvent(other, 'elected');
    await other.start();
    await carolLeads;
    await alice.stop();
    const dave = participant(path, { id: 'dave', recipe: 'single-node', session: shared });
    const daveLeads = nextEvent(dave, 'elected');
    await dave.start();
    await daveLeads;
  });

  it('a participant whose session its own clock expired never deletes the node the next holder created meanwhile', async () => {
    const path = uniquePath('single-node-left-behind');
    const cut = await proxy();
    const { alice, bob } = await holderAndFollower(path, cut.connectString);
    const bobLost: string[] = [];
    bob.on('lost', ({ reason }) => bobLost.push(reason));

    // alice is cut off: her own clock expires her session, then the server does, and bob wins.
    const aliceExpired = nextEvent(alice, 'expired');
    const bobLeads = nextEvent(bob, 'elected');
    cut.blackhole();
    await aliceExpired;
    await bobLeads;
    // alice comes back on a new session, follows bob, and has deleted nothing of his.
    const aliceFollows = nextEvent(alice, 'follower');
    cut.heal();
    cut.resetConnections();
    expect((await aliceFollows).leader).toMatchObject({ id: 'bob' });
    const outside = await admin();
    expect((await outside.getData(`${path}/lock`)).stat.ephemeralOwner).toBe(bob.session.sessionId);
    expect(bobLost).toEqual([]);
    expect(bob.isLeader).toBe(true);
  });

  it('a holder steps down when a kazoo candidate joins the path, which would not see its node (RECIPE_MISMATCH)', async () => {
    const path = uniquePath('single-node-peer-joins');
    participant.expectErrors('RECIPE_MISMATCH');
    const alice = racer(path, 'alice');
    const aliceLeads = nextEvent(alice, 'elected');
    await alice.start();
    await aliceLeads;
    const errors: string[] = [];
    alice.on('error', (error) => errors.push(error.code));
    const lost = nextEvent(alice, 'lost');
    const outside = await admin();
    const kazoo = await outside.create(`${path}/0123456789abcdef0123456789abcdef__lock__`, Buffer.from('kazoo-1'), 'ephemeral-sequential');
    expect(await lost).toEqual({ reason: 'superseded' });
    expect(errors).toEqual(['RECIPE_MISMATCH']);
    // Once the peer is gone, the holder leads again on the node it kept.
    const again = nextEvent(alice, 'elected');
    await outside.remove(kazoo);
    await again;
  });

  it('a holder whose node an operator made unreadable, then deleted, stops leading, and a follower takes the node (found by review)', async () => {
    const path = uniquePath('single-node-unreadable');
    const { alice, bob } = await holderAndFollower(path);
    const outside = await admin();
    // ZooKeeper sends no notice about a node to a session that cannot read it: both the
    // holder's and the follower's watches on it go silent; the path's children watch does not.
    await operatorSetAcl(`${path}/lock`, [{ scheme: 'world', id: 'anyone', permissions: Permission.write }]);
    const lost = nextEvent(alice, 'lost');
    const bobLeads = nextEvent(bob, 'elected');
    await outside.remove(`${path}/lock`);
    expect(await lost).toEqual({ reason: 'node-deleted' });
    await bobLeads;
    await until(() => !alice.isLeader && alice.health().leader?.id === 'bob', 'alice to follow bob');
  });

  it("a holder whose node's watch cannot be set again (READ taken right after a write) ends its term and hands the node over (found by review)", async () => {
    const path = uniquePath('single-node-unwatchable');
    participant.expectErrors('NO_AUTH');
    const cut = await proxy();
    const { alice, bob } = await holderAndFollower(path, cut.connectString);
    const lost = nextEvent(alice, 'lost');
    const bobLeads = nextEvent(bob, 'elected');
    // alice hears of the write only once READ is gone, so her re-arm is refused. Without the
    // hold her re-arm could reach the server between the two (a read is not ordered after
    // another session's write), succeed, and leave nothing to test.
    cut.holdReplies();
    const outside = await admin();
    await outside.setData(`${path}/lock`, Buffer.from('tool'), -1);
    await operatorSetAcl(`${path}/lock`, [{ scheme: 'world', id: 'anyone', permissions: Permission.write }]);
    cut.heal();
    expect(await lost).toEqual({ reason: 'unverifiable' });
    await bobLeads;
  });

  it('a follower whose watches were all used up unheard (path and lock unreadable) still takes over once the holder leaves (found by review)', async () => {
    const path = uniquePath('single-node-unheard');
    participant.expectErrors('NO_AUTH');
    const { alice, bob } = await holderAndFollower(path);
    const outside = await admin();
    const noRead = [{ scheme: 'world', id: 'anyone', permissions: Permission.all & ~Permission.read }];
    await operatorSetAcl(path, noRead);
    await operatorSetAcl(`${path}/lock`, noRead);
    // A child that comes and goes uses up bob's children watch, a write his watch on the lock:
    // neither is told to a session that cannot READ the node.
    await outside.create(`${path}/stray`, Buffer.alloc(0), 'persistent');
    await outside.remove(`${path}/stray`);
    await outside.setData(`${path}/lock`, Buffer.from('rewritten'), -1);
    const all = [{ scheme: 'world', id: 'anyone', permissions: Permission.all }];
    await operatorSetAcl(path, all);
    await operatorSetAcl(`${path}/lock`, all);
    const bobLeads = nextEvent(bob, 'elected');
    await alice.stop();
    await bobLeads;
  });

  it('refuses lockName without the single-node recipe, and a bad lockName, in one line', () => {
    expect(() => new LeaderElection({ connect: zkConnect(), path: '/x', lockName: 'lock' })).toThrow("lockName is for recipe 'single-node'");
    expect(() => new LeaderElection({ connect: zkConnect(), path: '/x', recipe: 'single-node', lockName: 'a/b' })).toThrow(/lockName must be a node name/);
    expect(() => new LeaderElection({ connect: zkConnect(), path: '/x', recipe: 'single-node', data: { x: 1 } })).toThrow(/publishes only the id/);
  });
});
