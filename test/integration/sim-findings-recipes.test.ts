import { describe, expect, it } from 'vitest';
import { Permission } from '../../src/client/types.js';
import { LeaderElection } from '../../src/election.js';
import { Membership } from '../../src/membership.js';
import { LeaderObserver } from '../../src/observer.js';
import { nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import type { TcpProxy } from '../support/tcp-proxy.js';
import { backends, operatorSetAcl, removeTree, uniquePath } from '../support/zookeeper.js';

// Bugs the deterministic simulation found in Membership and LeaderObserver (test/sim/recipes.ts),
// each reproduced here against a real server. Each test names the seeds that found it; each
// failed on the code before its fix.

/** ZooKeeper's create opcodes: create, create2, createContainer, createTTL. */
const createOpcodes = new Set([1, 15, 19, 21]);

/**
 * From the next create a client sends through `cut`, the server's answers are dropped: the
 * create reaches the server and is applied, its reply never reaches the client.
 */
function dropRepliesFromNextCreate(cut: TcpProxy): void {
  const opcodes = cut.requestOpcodes;
  const push = opcodes.push.bind(opcodes);
  // The proxy records each request's opcode before it forwards the request.
  opcodes.push = (...recorded: number[]) => {
    if (recorded.some((opcode) => createOpcodes.has(opcode))) {
      opcodes.push = push;
      cut.dropReplies();
    }
    return push(...recorded);
  };
}

describe.each(backends)('Membership and LeaderObserver, as the simulation found them, on %s', (backend) => {
  const { defer, admin, proxiedSession, session } = testResources(backend);
  const allButRead = [{ scheme: 'world', id: 'anyone', permissions: Permission.all & ~Permission.read }];
  const open = [{ scheme: 'world', id: 'anyone', permissions: Permission.all }];

  it('join() whose create reply a dropped connection lost resolves, with the member in the group in its session (seeds 324, 348)', async () => {
    const path = uniquePath('join-lost-reply');
    const { cut, shared } = await proxiedSession();
    const members = new Membership({ session: shared });
    defer(() => members.stop());
    // The group exists and is watched: the next create is the member node's.
    await members.watch(path);
    const operator = await admin();

    dropRepliesFromNextCreate(cut);
    const joining = members.join(path, { id: 'alice' }).then(
      () => 'resolved',
      (error: { code?: string; message?: string }) => error.code ?? error.message,
    );
    await until(async () => (await operator.exists(`${path}/alice`)) !== null, 'the member node at the server');
    cut.heal();
    cut.resetConnections();

    expect(await joining).toBe('resolved');
    expect((await operator.exists(`${path}/alice`))?.ephemeralOwner).toBe(shared.sessionId);
    await members.stop();
    expect(await operator.getChildren(path)).toEqual([]);
  });

  it.each(['leave', 'stop'] as const)(
    'a %s() that comes while an earlier leave() waits for the connection resolves only once the member node is gone (seeds 5651, 6374)',
    async (second) => {
      const path = uniquePath('second-leave');
      const { cut, shared } = await proxiedSession();
      const members = new Membership({ session: shared });
      defer(() => members.stop());
      await members.join(path, { id: 'alice' });
      const operator = await admin();

      // The connection goes silent: the first leave()'s delete waits for the session to come back.
      const suspended = new Promise((resolve) => shared.once('suspended', resolve));
      cut.blackhole();
      cut.resetConnections();
      await suspended;
      const first = members.leave();
      // What the group held when the second call resolved.
      const nodeWhenSecondResolved = members[second]().then(() => operator.exists(`${path}/alice`));
      await new Promise((resolve) => setImmediate(resolve));
      // Back at once: the connect attempts made in the silence are reset, so the session reconnects.
      cut.heal();
      cut.resetConnections();

      await first;
      expect(await nodeWhenSecondResolved).toBeNull();
    },
  );

  it('an observer whose look was refused (NO_AUTH) looks again once READ is back, though nothing else changes (seeds 3797, 5791, 5965, 6175)', async () => {
    const path = uniquePath('observer-refused-look');
    const operator = await admin();
    defer(() => operatorSetAcl(path, open).then(() => removeTree(operator, path)));
    const alice = new LeaderElection({ path, session: session(), id: 'alice' });
    alice.on('error', () => {});
    defer(() => alice.stop());
    await alice.start();
    const observer = new LeaderObserver({ session: session(), path });
    defer(() => observer.stop());
    await observer.start();
    expect(observer.leader).toMatchObject({ id: 'alice' });

    await operatorSetAcl(path, allButRead);
    // Her node stays readable: its deletion's notice comes, and the look it prompts is refused.
    const refused = nextEvent(observer, 'error');
    await alice.stop();
    expect((await refused).code).toBe('NO_AUTH');
    await operatorSetAcl(path, open);
    // Nothing changes from here on: only another look finds that nobody leads.
    await until(() => observer.leader === null, 'the observer to report that nobody leads', 15_000);
  });

  it('an observer whose children watch went unheard while the path was unreadable reports the leader who joined then, once READ is back (seed 3640)', async () => {
    const path = uniquePath('observer-unreadable-join');
    const operator = await admin();
    defer(() => operatorSetAcl(path, open).then(() => removeTree(operator, path)));
    await operator.ensurePath(path);
    const observer = new LeaderObserver({ session: session(), path });
    defer(() => observer.stop());
    await observer.start();
    expect(observer.election).toMatchObject({ kind: 'empty', leader: null });

    await operatorSetAcl(path, allButRead);
    // Her join fires the observer's children watch, but ZooKeeper sends no notice to a session
    // that cannot READ the path: the watch is used up without a word.
    const alice = new LeaderElection({ path, session: session(), id: 'alice' });
    alice.on('error', () => {});
    defer(() => alice.stop());
    await alice.start();
    await operatorSetAcl(path, open);
    await until(() => observer.leader?.id === 'alice', 'the observer to report alice', 15_000);
  });
});
