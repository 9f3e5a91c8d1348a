import { describe, expect, it } from 'vitest';
import { Membership } from '../../src/membership.js';
import { until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import type { TcpProxy } from '../support/tcp-proxy.js';
import { backends, uniquePath } from '../support/zookeeper.js';

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
  const { defer, admin, proxiedSession } = testResources(backend);

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
});
