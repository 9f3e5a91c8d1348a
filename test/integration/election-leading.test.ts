import { describe, expect, it } from 'vitest';
import { fourLetterWord } from '../../src/testing/index.js';
import { electionFixture, following, leading } from '../support/election.js';
import { drained, nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { adminSession, backends, uniquePath, zkConnect } from '../support/zookeeper.js';

// Who leads and who follows: the node a participant joins with, the order of the queue, what
// sorts ahead of it (other programs' nodes), and what it watches.

describe.each(backends)('who leads and who follows on %s', (backend) => {
  const { admin, proxy } = testResources(backend);
  const participant = electionFixture(backend);

  it('joins with a GUID-named ephemeral-sequential node holding its id and data', async () => {
    const path = uniquePath('join');
    const alice = participant(path, { id: 'alice', data: { url: 'http://a:1' } });
    await alice.start();
    const admin = await adminSession();
    const children = await admin.getChildren(path);
    expect(children).toHaveLength(1);
    expect(children[0]).toMatch(/^[0-9a-f]{32}-n_\d{10}$/);
    const { data, stat } = await admin.getData(`${path}/${children[0]}`);
    expect(JSON.parse(data.toString())).toEqual({ id: 'alice', data: { url: 'http://a:1' } });
    expect(stat.ephemeralOwner).toBe(alice.session.sessionId);
    await admin.close();
  });

  it('elects the lowest sequence and makes the rest follow in order', async () => {
    const path = uniquePath('order');
    const first = participant(path, { id: 'first' });
    const elected = nextEvent(first, 'elected');
    await first.start();
    await elected;
    const second = participant(path, { id: 'second' });
    const secondFollows = nextEvent(second, 'follower');
    await second.start();
    const third = participant(path, { id: 'third' });
    const thirdFollows = nextEvent(third, 'follower');
    await third.start();

    expect((await secondFollows).position).toBe(1);
    expect((await thirdFollows).leader.id).toBe('first');
    expect([first.isLeader, second.isLeader, third.isLeader]).toEqual([true, false, false]);
    expect((await third.participants()).map((p) => p.id)).toEqual(['first', 'second', 'third']);
    expect((await second.getLeader())?.id).toBe('first');
  });

  it('a middle participant leaving makes the next one watch the leader, at position 1', async () => {
    const path = uniquePath('middle');
    const [a, b, c] = ['a', 'b', 'c'].map((id) => participant(path, { id }));
    await leading(a!);
    await following(b!);
    expect((await following(c!)).position).toBe(2);
    const moves = nextEvent(c!, 'follower');
    await b!.stop();
    expect(await moves).toMatchObject({ position: 1, leader: { id: 'a' } });
    const takesOver = nextEvent(c!, 'elected');
    await a!.stop();
    await takesOver;
  });

  it('prefix names the node, and it still orders by sequence', async () => {
    const path = uniquePath('prefix');
    const a = participant(path, { id: 'a', prefix: 'svc.a_' });
    const b = participant(path, { id: 'b', prefix: '0' });
    await leading(a);
    await following(b);
    expect(a.nodeName).toMatch(/^svc\.a_[0-9a-f]{32}-n_\d{10}$/);
    expect((await b.participants()).map((p) => p.id)).toEqual(['a', 'b']);
  });

  // Sequential children of other programs are not ignored: see the FOREIGN_CANDIDATE test below.
  it('ignores children of another format without a sequence number under the election path', async () => {
    const path = uniquePath('foreign-children');
    const admin = await adminSession();
    await admin.ensurePath(path);
    await admin.create(`${path}/lock`, Buffer.from('other program'), 'persistent');
    await admin.create(`${path}/config`, Buffer.from('{}'), 'persistent');
    const alice = participant(path, { id: 'alice' });
    const term = nextEvent(alice, 'elected');
    await alice.start();
    await term;
    expect((await alice.participants()).map((p) => p.id)).toEqual(['alice']);
    await admin.close();
  });

  it('never leads while a sequential node it did not create sorts ahead, and leads once it goes', async () => {
    const path = uniquePath('foreign-sequential');
    const operator = await admin();
    await operator.ensurePath(path);
    const foreign = await operator.create(`${path}/lock-`, Buffer.from('another program'), 'ephemeral-sequential');
    participant.expectErrors('FOREIGN_CANDIDATE');
    const alice = participant(path, { id: 'alice' });
    const errors: { code: string; message: string }[] = [];
    alice.on('error', (error) => errors.push(error));
    const term = nextEvent(alice, 'elected');
    await alice.start();
    await until(() => errors.length > 0, 'the FOREIGN_CANDIDATE error');
    expect(errors[0]).toMatchObject({ code: 'FOREIGN_CANDIDATE', message: expect.stringContaining(foreign) });
    expect(alice.isLeader).toBe(false);
    await operator.remove(foreign);
    await term;
  });

  it('a predecessor that vanished before it could be watched leaves no creation watch on the server', async () => {
    const path = uniquePath('vanished-predecessor');
    const cut = await proxy();
    const [a, b] = ['a', 'b'].map((id) => participant(path, { id }));
    const c = participant(path, { id: 'c', connect: cut.connectString, sessionTimeoutMs: 8000 });
    const aLeads = nextEvent(a!, 'elected');
    await a!.start();
    await aLeads;
    await b!.start();
    const cFollows = nextEvent(c, 'follower');
    await c.start();
    await cFollows;
    const aNode = `${path}/${a!.nodeName}`;

    // b leaves: the notification reaches c, whose new listing (still showing a) is held...
    const listings = () => c.session.requestCounts.getChildren ?? 0;
    const listedBefore = listings();
    cut.holdReplies(1);
    await b!.stop();
    await until(() => listings() > listedBefore && cut.heldReplyBytes > 0, "c's listing to be held");
    // ...while a leaves too: c then watches a node that is already gone.
    const cLeads = nextEvent(c, 'elected');
    await a!.stop();
    cut.heal();
    await cLeads;
    await drained(c.session);
    const [host, port] = zkConnect().split(',')[0]!.split(':');
    const watches = (await fourLetterWord(host!, Number(port), 'wchp')) ?? '';
    expect(watches, 'no watch left on the vanished predecessor').not.toContain(aNode);
  });
});
