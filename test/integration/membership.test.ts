import { describe, expect, it } from 'vitest';
import { Permission } from '../../src/client/types.js';
import { Membership, type Member } from '../../src/membership.js';
import { expireSession } from '../../src/testing/index.js';
import { nextEvent, until, within } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { countedClients, watchedClock } from '../support/runtime.js';
import { backends, operatorSetAcl, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';

// Membership: members join, update and leave, and watchers see each change in order; its
// lifecycle (lazy connect, stop() while joining, on a shared session) and its refusals.

describe.each(backends)('Membership on %s', (backend) => {
  const { admin, defer, proxy, session } = testResources(backend);
  const anHour = 3_600_000;
  /** A membership on a session of its own, stopped after the test. */
  function membership(options: { reportEveryMs?: number } = {}): Membership {
    const created = new Membership({ session: session(), ...options });
    defer(() => created.stop());
    return created;
  }

  it('members join, update and leave, and a watcher sees each event in order', async () => {
    const path = uniquePath('group');
    const operator = await admin();
    defer(() => removeTree(operator, path));
    const watcher = membership();
    const seen: string[] = [];
    for (const event of ['joined', 'updated', 'left'] as const) watcher.on(event, (member: Member) => seen.push(`${event}:${member.id}:${member.status}`));
    await watcher.watch(path);

    const alpha = membership();
    const beta = membership();
    let lists = 0;
    watcher.on('members', () => lists++);
    const alphaSeen = nextEvent(watcher, 'joined');
    await alpha.join(path, { id: 'alpha', data: { port: 1 } });
    await alphaSeen;
    const betaSeen = nextEvent(watcher, 'joined');
    await beta.join(path, { id: 'beta', status: 'ok' });
    await betaSeen;
    const updated = nextEvent(watcher, 'updated');
    await alpha.setStatus('warning', { disk: '91%' });
    expect((await updated).details).toEqual({ disk: '91%' });
    const left = nextEvent(watcher, 'left');
    await beta.leave();
    await left;

    expect(seen).toEqual(['joined:alpha:starting', 'joined:beta:ok', 'updated:alpha:warning', 'left:beta:ok']);
    expect(lists).toBe(4);
    expect((await watcher.members()).map((member) => `${member.id}:${member.status}`)).toEqual(['alpha:warning']);
  });

  it('a joined or left listener reads the new state: health() already counts the member, or no longer does', async () => {
    const path = uniquePath('state-first');
    const operator = await admin();
    defer(() => removeTree(operator, path));
    const watcher = membership();
    await watcher.watch(path);
    const counts: string[] = [];
    watcher.on('joined', (member) => counts.push(`joined:${member.id}:${watcher.health().members}`));
    watcher.on('left', (member) => counts.push(`left:${member.id}:${watcher.health().members}`));
    const alpha = membership();
    let ownNodeInPlace: boolean | null = null;
    alpha.on('joined', (member) => {
      if (member.id === 'alpha') ownNodeInPlace = alpha.health().joined;
    });
    const joined = nextEvent(watcher, 'joined');
    const alphaSeesItself = nextEvent(alpha, 'joined');
    await alpha.join(path, { id: 'alpha' });
    await Promise.all([joined, alphaSeesItself]);
    const left = nextEvent(watcher, 'left');
    await alpha.leave();
    await left;
    expect(counts).toEqual(['joined:alpha:1', 'left:alpha:0']);
    expect(ownNodeInPlace).toBe(true);
  });

  it('a member publishes its health and re-joins after its session expires', async () => {
    const path = uniquePath('health');
    const operator = await admin();
    defer(() => removeTree(operator, path));
    const member = membership({ reportEveryMs: 100 });
    await member.join(path, { id: 'healthy', status: 'ok' });
    const [me] = await member.members();
    expect(me?.health).toMatchObject({ pid: process.pid, heapUsedBytes: expect.any(Number), uptimeSeconds: expect.any(Number), load: expect.any(Number) });

    const rejoined = nextEvent(member.session, 'connected');
    await expireSession(zkConnect(), member.session.credentials()!);
    await rejoined;
    await expect.poll(async () => (await member.members()).map((m) => m.sessionId), { timeout: 10_000 }).toEqual([member.session.sessionId]);
  });

  it('membership keeps reporting joins after a read failed on a dropped connection', async () => {
    const path = uniquePath('membership-read-lost');
    const cut = await proxy();
    const watcher = new Membership({ connect: cut.connectString, backend, sessionTimeoutMs: 8000 });
    defer(() => watcher.close());
    await watcher.watch(path);
    const first = new Membership({ connect: zkConnect(), backend });
    const second = new Membership({ connect: zkConnect(), backend });
    defer(() => first.close());
    defer(() => second.close());

    // The watch fires for `first`; the read it starts is held, then the connection drops.
    cut.holdReplies();
    await first.join(path, { id: 'first' });
    await until(() => cut.heldReplyBytes > 0, 'the re-read to be held');
    const reconnected = nextEvent(watcher.session, 'reconnected');
    cut.heal();
    cut.resetConnections();
    await reconnected;
    await until(async () => (await watcher.members()).length === 1, 'first to be listed');
    const secondJoins = new Promise<string>((resolve) => watcher.on('joined', (member) => member.id === 'second' && resolve(member.id)));
    await second.join(path, { id: 'second' });
    expect(await within(secondJoins, 3000, 'never heard')).toBe('second');
  });

  it('a second live member with the same id is refused with MEMBER_ID_TAKEN', async () => {
    const path = uniquePath('duplicate-member');
    const holder = new Membership({ connect: zkConnect(), backend });
    const copy = new Membership({ connect: zkConnect(), backend });
    defer(() => holder.close());
    defer(() => copy.close());
    await holder.join(path, { id: 'worker-1' });
    await expect(copy.join(path, { id: 'worker-1' })).rejects.toMatchObject({
      code: 'MEMBER_ID_TAKEN',
      message: expect.stringContaining(holder.session.sessionId),
    });
  });

  it('a join() refused with MEMBER_ID_TAKEN leaves no member behind: the same membership joins again once the id is free', async () => {
    const path = uniquePath('refused-join');
    const holder = membership();
    const copy = membership();
    await holder.join(path, { id: 'worker-1' });
    await expect(copy.join(path, { id: 'worker-1' })).rejects.toMatchObject({ code: 'MEMBER_ID_TAKEN' });
    expect(copy.health().joined).toBe(false);

    await holder.leave();
    await copy.join(path, { id: 'worker-1' });
    await until(() => copy.health().joined, 'the member seen in the group');
    expect((await (await admin()).exists(`${path}/worker-1`))?.ephemeralOwner).toBe(copy.session.sessionId);
  });

  it('a watch() refused by the server can be tried again: the retry sets up the group and hears of changes', async () => {
    const path = uniquePath('refused-watch');
    const operator = await admin();
    // The parent refuses CREATE: the group node cannot be made.
    await operator.ensurePath(path);
    await operatorSetAcl(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all & ~Permission.create }]);
    const watcher = membership();
    await expect(watcher.watch(`${path}/group`)).rejects.toMatchObject({ code: 'NO_AUTH' });

    await operatorSetAcl(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all }]);
    expect(await watcher.watch(`${path}/group`)).toEqual([]);
    const joined = nextEvent(watcher, 'joined');
    const member = membership();
    await member.join(`${path}/group`, { id: 'worker-1' });
    expect((await joined).id).toBe('worker-1');
  });

  it("Membership's report timer runs on the session's clock, and stop() clears it", async () => {
    const { clock, armedDelays } = watchedClock();
    const members = new Membership({ session: session({ runtime: { clock } }), reportEveryMs: anHour });
    defer(() => members.stop());
    await members.join(uniquePath('report-clock'), { id: 'm1' });
    expect(armedDelays()).toContain(anHour);
    await members.stop();
    expect(armedDelays()).not.toContain(anHour);
  });

  it('a Membership with connect connects nothing until join() or watch(); stop() before them is a no-op', async () => {
    const clients = countedClients();
    const idle = new Membership({ connect: zkConnect(), backend, runtime: clients.runtime });
    expect(clients.made()).toBe(0);
    expect(idle.health()).toMatchObject({ state: 'idle', sessionState: null });
    expect(() => idle.session).toThrow(/before join\(\) or watch\(\)/);
    await idle.stop();
    expect(clients.made()).toBe(0);
    await expect(idle.watch(uniquePath('members-lazy'))).rejects.toMatchObject({ code: 'INVALID_STATE' });

    const members = new Membership({ connect: zkConnect(), backend, runtime: clients.runtime });
    defer(() => members.stop());
    const seesItself = nextEvent(members, 'joined');
    await members.join(uniquePath('members-lazy-join'), { id: 'm1' });
    await seesItself;
    expect(clients.made()).toBe(1);
    expect(members.health()).toMatchObject({ ok: true, state: 'running', joined: true, sessionState: 'connected' });
  });

  it('Membership.stop() while join() is on its way ends the join with INVALID_STATE and leaves no member node', async () => {
    const path = uniquePath('members-stop-joining');
    const operator = await admin();
    defer(() => removeTree(operator, path));
    const members = new Membership({ session: session() });
    const joining = members.join(path, { id: 'm1' });
    const stopped = members.stop();
    await expect(joining).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await stopped;
    expect(await operator.exists(`${path}/m1`)).toBeNull();
  });

  it('Membership.stop() on a shared session without DELETE on the group rejects with NO_AUTH, stopped all the same: the node stays until the session closes', async () => {
    const path = uniquePath('members-no-delete');
    const operator = await admin();
    await operator.ensurePath(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all & ~Permission.delete }]);
    defer(() => removeTree(operator, path));
    const shared = session();
    const members = new Membership({ session: shared });
    await members.join(path, { id: 'm1' });
    await expect(members.stop()).rejects.toMatchObject({ code: 'NO_AUTH', message: expect.stringContaining('the node stays until the shared session closes') });
    expect(members.health().state).toBe('closed');
    await expect(members.stop()).resolves.toBeUndefined();
    expect(await operator.exists(`${path}/m1`)).not.toBeNull();
    await shared.close();
    // The native backend's close() may resolve before the server has dropped the node.
    await until(async () => (await operator.exists(`${path}/m1`)) === null, 'the member node to go with the shared session');
  });

  it('Membership.close(), deprecated, rejects as stop() does when the node cannot be deleted', async () => {
    const path = uniquePath('members-no-delete-close');
    const operator = await admin();
    await operator.ensurePath(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all & ~Permission.delete }]);
    defer(() => removeTree(operator, path));
    const members = new Membership({ session: session() });
    await members.join(path, { id: 'm1' });
    await expect(members.close()).rejects.toMatchObject({ code: 'NO_AUTH' });
  });

  it('Membership.stop() on a shared session closed under it resolves: the member node went with the session', async () => {
    const path = uniquePath('members-session-closed');
    const operator = await admin();
    defer(() => removeTree(operator, path));
    const shared = session();
    const members = new Membership({ session: shared });
    await members.join(path, { id: 'm1' });
    const closing = shared.close();
    await expect(members.stop()).resolves.toBeUndefined();
    await closing;
    await until(async () => (await operator.exists(`${path}/m1`)) === null, 'the member node to go with the session');
  });
});
