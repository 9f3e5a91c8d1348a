import { describe, expect, it } from 'vitest';
import { LeaderObserver } from '../../src/observer.js';
import { nextEvent } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, uniquePath } from '../support/zookeeper.js';

// A single-node election whose lockName is not `lock` is told from other nodes by its leader
// record alone (the election node's data names the holder's node). Its holder creates the
// node first and writes the record after: an observer that reads in between must still hear
// of the record when it comes.
describe.each(backends)('LeaderObserver of a single-node election with its own lockName on %s', (backend) => {
  const { admin, defer, session } = testResources(backend);

  it('that read the node before its record was written reports the holder once the record is written', async () => {
    const path = uniquePath('observer-record-late');
    const holder = await admin();
    await holder.ensurePath(path);
    // The holder's node, as a single-node participant with lockName 'mutex' makes it: the id's bytes.
    await holder.create(`${path}/mutex`, Buffer.from('alice'), 'ephemeral');
    defer(() => holder.remove(`${path}/mutex`).catch(() => {}));

    const observer = new LeaderObserver({ session: session(), path });
    defer(() => observer.stop());
    await observer.start();
    // No record yet: a node named otherwise than `lock` is no election to anyone reading now.
    expect(observer.election).toMatchObject({ kind: 'not-an-election', leader: null });

    const seesAlice = nextEvent(observer, 'leader');
    const stat = await holder.exists(`${path}/mutex`);
    const record = { node: 'mutex', id: 'alice', token: stat!.czxid.toString(), since: Date.now() };
    await holder.setData(path, Buffer.from(JSON.stringify(record)));
    expect(await seesAlice).toMatchObject({ id: 'alice', node: 'mutex', fencingToken: stat!.czxid });
    expect(observer.election).toMatchObject({ kind: 'single-node', lockName: 'mutex', leader: { id: 'alice' } });
  });
});
