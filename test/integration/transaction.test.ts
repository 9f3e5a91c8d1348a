import { describe, expect, it } from 'vitest';
import { startWorker } from '../../examples/support/processes.js';
import { ZkLeaderError, ZooKeeperError } from '../../src/errors.js';
import type { TransactionOp } from '../../src/transaction.js';
import { electionFixture } from '../support/election.js';
import { nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, uniquePath, zkConnect } from '../support/zookeeper.js';

// election.transaction(): writes that the server commits only while the writer's own
// candidate node exists (issue 26). What a late, paused or deposed leader sends is refused at
// the server, not just by the leader's own idea of whether it leads.

async function rejection(promise: Promise<unknown>): Promise<ZkLeaderError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error, 'the promise rejected').toBeInstanceOf(ZkLeaderError);
  return error as ZkLeaderError;
}

/** The backends with ZooKeeper's multi: all but the native one. */
const withMulti = backends.filter((backend) => backend !== 'zookeeper');

describe.each(withMulti)('election.transaction() on %s', (backend) => {
  const { admin, proxy } = testResources(backend);
  const participant = electionFixture(backend);

  async function leader(path: string, connect?: string) {
    const alice = participant(path, { id: 'alice', ...(connect ? { connect } : {}) });
    const elected = nextEvent(alice, 'elected');
    await alice.start();
    await elected;
    return alice;
  }

  it("commits a leader's writes together and returns each op's result", async () => {
    const path = uniquePath('tx-commit');
    const alice = await leader(path);
    const operator = await admin();
    const config = `${path}-config`;
    await operator.create(config, Buffer.from('v1'), 'persistent');
    const results = await alice.transaction([
      { op: 'setData', path: config, data: 'v2' },
      { op: 'create', path: `${config}/entry-`, data: 'first', mode: 'persistent-sequential' },
      { op: 'check', path: config },
    ]);
    expect(results.map((result) => result.op)).toEqual(['setData', 'create', 'check']);
    expect(results[1]).toMatchObject({ op: 'create', path: `${config}/entry-0000000000` });
    expect((await operator.getData(config)).data.toString()).toBe('v2');
    await operator.remove(`${config}/entry-0000000000`);
    await operator.remove(config);
  });

  it("refuses a follower's transaction with NOT_LEADER, and writes nothing", async () => {
    const path = uniquePath('tx-follower');
    await leader(path);
    const bob = participant(path, { id: 'bob' });
    const follows = nextEvent(bob, 'follower');
    await bob.start();
    await follows;
    const operator = await admin();
    const error = await rejection(bob.transaction([{ op: 'create', path: `${path}-written-by-bob`, data: 'x' }]));
    expect(error.code).toBe('NOT_LEADER');
    expect(await operator.exists(`${path}-written-by-bob`)).toBeNull();
  });

  it('a leader whose node an operator deleted, the notice still on its way, cannot commit: the server refuses it with NOT_LEADER', async () => {
    const path = uniquePath('tx-deposed');
    const cut = await proxy();
    const alice = await leader(path, cut.connectString);
    const operator = await admin();
    const target = `${path}-written-by-alice`;

    // alice hears nothing from now on (the notice of the deletion included) until heal():
    // she still leads by her own account when she sends the transaction.
    cut.holdReplies();
    await operator.remove(`${path}/${alice.nodeName}`);
    expect(alice.isLeader, 'alice has not heard of the deletion yet').toBe(true);
    const refused = rejection(alice.transaction([{ op: 'create', path: target, data: 'late' }]));
    await until(() => cut.heldReplyBytes > 0, 'the answer to the transaction to be held', 5000);
    cut.heal();
    const error = await refused;
    expect(error.code).toBe('NOT_LEADER');
    expect(error.message).toMatch(/nothing was written/);
    expect(await operator.exists(target), 'what the deposed leader asked to create').toBeNull();
  });

  it("an op that fails is named by its index, and the transaction's other ops are not applied", async () => {
    const path = uniquePath('tx-op-fails');
    const alice = await leader(path);
    const operator = await admin();
    const taken = `${path}-taken`;
    await operator.create(taken, Buffer.from('operator'), 'persistent');
    const error = await rejection(
      alice.transaction([
        { op: 'create', path: `${path}-fresh`, data: 'x' },
        { op: 'create', path: taken, data: 'alice' },
      ]),
    );
    expect(error).toBeInstanceOf(ZooKeeperError);
    expect(error.code).toBe('NODE_EXISTS');
    expect((error as ZooKeeperError).failedOp).toBe(1);
    expect(await operator.exists(`${path}-fresh`), 'the first op, rolled back').toBeNull();
    expect((await operator.getData(taken)).data.toString()).toBe('operator');
    await operator.remove(taken);
  });

  it('a leader process frozen past its session timeout (SIGSTOP) and resumed commits nothing after the next leader', async () => {
    const path = uniquePath('tx-frozen');
    const records = `${path}-records`;
    const operator = await admin();
    await operator.ensurePath(records);
    const worker = startWorker({ connect: zkConnect(), path, id: 'frozen', sessionTimeoutMs: 2000, backend, guardedWrites: records });
    try {
      await worker.waitForEvent('elected');
      await until(async () => (await operator.getChildren(records)).length > 0, 'the worker to commit while it leads', 10_000);
      worker.signal('SIGSTOP');
      const bob = participant(path, { id: 'bob', sessionTimeoutMs: 2000 });
      const bobLeads = nextEvent(bob, 'elected');
      await bob.start();
      const { fencingToken } = await bobLeads;
      const [committed] = await bob.transaction([
        { op: 'create', path: `${records}/w-`, data: JSON.stringify({ id: 'bob', token: String(fencingToken) }), mode: 'persistent-sequential' },
      ]);
      worker.signal('SIGCONT');
      await worker.waitForEvent('lost');
      // Back on a new session behind bob: whatever the old term had in flight was answered on
      // the old session's connection, which is gone by then.
      await worker.waitForEvent('follower');
      const names = (await operator.getChildren(records)).sort();
      const bobsName = (committed as { path: string }).path.slice(records.length + 1);
      const after = [];
      for (const name of names.filter((candidate) => candidate > bobsName))
        after.push(JSON.parse((await operator.getData(`${records}/${name}`)).data.toString()) as { id: string });
      expect(
        after.filter((record) => record.id === 'frozen'),
        'records the resumed old leader committed after the next leader',
      ).toEqual([]);
    } finally {
      worker.signal('SIGCONT');
      worker.signal('SIGKILL');
      await worker.exited;
      for (const name of await operator.getChildren(records)) await operator.remove(`${records}/${name}`);
      await operator.remove(records);
    }
  });

  it("refuses a transaction over the server's jute.maxbuffer before sending it (REQUEST_TOO_LARGE), and keeps the term", async () => {
    const path = uniquePath('tx-too-large');
    const alice = await leader(path);
    const target = `${path}-big`;
    // Each op fits in a node; together they are over the 1 MiB the server reads in one request,
    // which it answers by closing the connection (a loss that would suspend the leader).
    const half = Buffer.alloc(600 * 1024, 1);
    const ops = [
      { op: 'create' as const, path: `${target}-a`, data: half },
      { op: 'create' as const, path: `${target}-b`, data: half },
    ];
    let suspended = false;
    alice.on('suspended', () => (suspended = true));
    const error = await rejection(alice.transaction(ops));
    expect(error.code).toBe('REQUEST_TOO_LARGE');
    expect(error.message).toMatch(/jute\.maxbuffer of 1048575.*split the transaction/);
    expect(suspended, 'nothing was sent, so the connection stayed up').toBe(false);
    expect(alice.isLeader).toBe(true);
    // The leader can still write: the same ops one at a time fit.
    await alice.transaction([ops[0]!]);
    await alice.transaction([{ op: 'delete', path: `${target}-a` }]);
    expect(suspended).toBe(false);
  });

  it('checks the ACL of a create in ops as the acl option is checked (INVALID_ARGUMENT, naming the op)', async () => {
    const path = uniquePath('tx-acl');
    const alice = await leader(path);
    const create = (acl: unknown) => alice.transaction([{ op: 'create', path: `${path}-node`, acl } as unknown as TransactionOp]);
    for (const acl of [[], null, 'open', [{ scheme: 'world', id: 'anyone', permissions: 0 }], [{ scheme: 'digest', id: 'app:s3cret', permissions: 31 }]]) {
      const error = await rejection(create(acl));
      expect(error.code, JSON.stringify(acl)).toBe('INVALID_ARGUMENT');
      expect(error.message, JSON.stringify(acl)).toMatch(/^transaction\(ops\): ops\[0\]\.acl/);
    }
    const operator = await admin();
    expect(await operator.exists(`${path}-node`)).toBeNull();
  });

  it('refuses the single-node recipe (UNSUPPORTED) and malformed ops (INVALID_ARGUMENT) before sending anything', async () => {
    const path = uniquePath('tx-refusals');
    const holder = participant(path, { id: 'holder', recipe: 'single-node' });
    const elected = nextEvent(holder, 'elected');
    await holder.start();
    await elected;
    expect((await rejection(holder.transaction([{ op: 'check', path }]))).code).toBe('UNSUPPORTED');
    expect((await rejection(holder.transaction([]))).code).toBe('INVALID_ARGUMENT');
    const badOp = [{ op: 'rename', path }] as unknown as Parameters<typeof holder.transaction>[0];
    expect((await rejection(holder.transaction(badOp))).message).toMatch(/ops\[0\]\.op must be 'create', 'setData', 'delete' or 'check'/);
    expect((await rejection(holder.transaction([{ op: 'delete', path: 'relative' }]))).code).toBe('INVALID_ARGUMENT');
  });
});

describe('election.transaction() on zookeeper', () => {
  const { admin } = testResources('zookeeper');
  const participant = electionFixture('zookeeper');

  it('says the native backend has no multi (UNSUPPORTED), and writes nothing', async () => {
    const path = uniquePath('tx-native');
    const alice = participant(path, { id: 'alice' });
    const elected = nextEvent(alice, 'elected');
    await alice.start();
    await elected;
    const operator = await admin();
    const error = await rejection(alice.transaction([{ op: 'create', path: `${path}-x`, data: 'x' }]));
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.message).toMatch(/backend 'node-zookeeper-client' or 'builtin'/);
    expect(await operator.exists(`${path}-x`)).toBeNull();
    // Too large as well: what the backend lacks is said first, not "split it".
    const big = Buffer.alloc(700 * 1024);
    const oversized = await rejection(
      alice.transaction([
        { op: 'create', path: `${path}-a`, data: big },
        { op: 'create', path: `${path}-b`, data: big },
      ]),
    );
    expect(oversized.code).toBe('UNSUPPORTED');
  });
});
