import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { Session } from '../../src/session.js';
import { connectClient } from '../support/events.js';
import { backends, itWithOwnServers, removeTree, startOwnZooKeeper, uniquePath, zkConnect } from '../support/zookeeper.js';

describe.each(backends)('the ZooKeeper provider with the %s client', (backend) => {
  it('serves an ephemeral-sequential node that vanishes when its session closes', async () => {
    const path = uniquePath('provider');
    const admin = new Session({ connect: zkConnect() });
    await admin.ensurePath(path);
    const client = createClient(backend, { connectString: zkConnect(), sessionTimeoutMs: 5000 });
    await connectClient(client);

    const created = await client.create(`${path}/n_`, Buffer.from('hello'), 'ephemeral-sequential', [{ scheme: 'world', id: 'anyone', permissions: 31 }]);
    expect(created).toMatch(new RegExp(`^${path}/n_\\d{10}$`));
    const stat = await admin.exists(created);
    expect(stat?.ephemeralOwner).toBe(client.sessionCredentials().id);

    await client.close();
    expect(await admin.exists(created)).toBeNull();
    await removeTree(admin, path);
    await admin.close();
  });
});

describe.each(backends)('a three-server ensemble with the %s client', (backend) => {
  itWithOwnServers('keeps serving with one server killed', async () => {
    await using ensemble = await startOwnZooKeeper({ servers: 3 });
    expect(ensemble.servers).toHaveLength(3);
    const session = new Session({ connect: ensemble.connectString, backend, sessionTimeoutMs: 4000 });
    await session.ready();
    await session.create('/before-kill', Buffer.from('1'), 'persistent');

    const victim = ensemble.servers.find((server) => server.connectString !== '')!;
    await victim.kill();
    expect(victim.running).toBe(false);

    // The quorum of two still accepts writes, from a client that knows only the survivors.
    const survivors = ensemble.servers
      .filter((server) => server !== victim)
      .map((server) => server.connectString)
      .join(',');
    const other = new Session({ connect: survivors, backend, sessionTimeoutMs: 4000 });
    await other.ready();
    await other.create('/after-kill', Buffer.from('2'), 'persistent');
    expect(await other.exists('/before-kill')).not.toBeNull();
    expect((await session.getData('/after-kill')).data.toString()).toBe('2');
    await other.close();
    await session.close();
  });
});
