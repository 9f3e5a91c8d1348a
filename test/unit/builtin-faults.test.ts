import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BuiltinAdapter } from '../../src/client/builtin/client.js';
import { Connection, type ConnectionEnd } from '../../src/client/builtin/connection.js';
import { frame, FrameDecoder } from '../../src/client/builtin/framing.js';
import { JuteReader, JuteWriter, readRequestHeader, writeConnectResponse, writeReplyHeader } from '../../src/client/builtin/records.js';
import type { ClientState } from '../../src/client/types.js';
import type { ZkLeaderError } from '../../src/errors.js';
import { until } from '../support/events.js';

/** What the fake server does with the requests that follow an accepted handshake. */
type Behaviour = (socket: Socket, request: { xid: number; type: number }) => void;

/** A ZooKeeper stand-in on 127.0.0.1: it grants every handshake (unless `answerHandshake` is false), then runs `behaviour`. */
async function fakeServer(behaviour: Behaviour, answerHandshake = true): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const decoder = new FrameDecoder(1 << 20);
    let handshaken = false;
    socket.on('data', (chunk) => {
      for (const payload of decoder.push(chunk)) {
        if (!handshaken) {
          handshaken = true;
          if (answerHandshake) {
            const response = writeConnectResponse(new JuteWriter(), {
              protocolVersion: 0,
              timeOut: 900,
              sessionId: 0x1234n,
              passwd: Buffer.alloc(16, 7),
              readOnly: false,
            });
            socket.write(frame(response.bytes()));
          }
          continue;
        }
        behaviour(socket, readRequestHeader(new JuteReader(payload)));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

function reply(socket: Socket, xid: number, err = 0, body = Buffer.alloc(0)): void {
  socket.write(frame(Buffer.concat([writeReplyHeader(new JuteWriter(), { xid, zxid: 5n, err }).bytes(), body])));
}

/** Answers pings (and nothing else), as a live server would between requests. */
const answerPings: Behaviour = (socket, request) => {
  if (request.xid === -2) reply(socket, -2);
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function connectedClient(behaviour: Behaviour, tunables?: { maxFrameBytes?: number; maxOutstanding?: number }) {
  const fake = await fakeServer(behaviour);
  const client = new BuiltinAdapter({ connectString: `127.0.0.1:${fake.port}`, sessionTimeoutMs: 900 }, tunables);
  const states: ClientState[] = [];
  client.on('state', (state) => states.push(state));
  cleanups.push(() => new Promise<void>((resolve) => fake.server.close(() => resolve())));
  cleanups.push(() => {
    for (const socket of fake.sockets) socket.destroy();
  });
  cleanups.push(() => client.close());
  await new Promise<void>((resolve) => {
    client.on('state', (state) => state === 'connected' && resolve());
    client.connect();
  });
  return { client, states, fake };
}

function nextState(client: BuiltinAdapter, wanted: ClientState): Promise<void> {
  return new Promise((resolve) => client.on('state', (state) => state === wanted && resolve()));
}

/** Sends one request into the fault and checks the verdict: disconnected, CONNECTION_LOSS, no throw anywhere. */
async function expectConnectionLoss(behaviour: Behaviour, tunables?: { maxFrameBytes?: number }): Promise<void> {
  const { client, states } = await connectedClient(behaviour, tunables);
  const disconnected = nextState(client, 'disconnected');
  const request = client.getData('/x');
  await expect(request).rejects.toMatchObject({ code: 'CONNECTION_LOSS' });
  await disconnected;
  expect(states.slice(0, 2)).toEqual(['connected', 'disconnected']);
  // It dials again by itself and re-attaches to the same session.
  await nextState(client, 'connected');
  expect(client.sessionCredentials().id).toBe('0000000000001234');
}

describe('builtin client: faults at the protocol layer are connection losses', () => {
  it('a server that answers the handshake and then nothing ends the connection at the read timeout', async () => {
    const startedAt = performance.now();
    await expectConnectionLoss(() => {});
    // Read timeout = 2/3 of the 900 ms negotiated: well before the session could expire.
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(550);
  });

  it('a server that answers half a frame and goes silent ends the connection at the read timeout', async () => {
    await expectConnectionLoss((socket, request) => {
      if (request.xid > 0) socket.write(Buffer.from([0, 0, 0, 100, 0, 0]));
    });
  });

  it('a frame whose length is over the limit ends the connection at once', async () => {
    await expectConnectionLoss(
      (socket, request) => {
        if (request.xid > 0) socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]));
      },
      { maxFrameBytes: 1024 },
    );
  });

  it('a reset in the middle of a reply ends the connection', async () => {
    await expectConnectionLoss((socket, request) => {
      if (request.xid <= 0) return;
      socket.write(Buffer.from([0, 0, 0, 100, 0, 0, 0, 1, 0]));
      setImmediate(() => socket.resetAndDestroy());
    });
  });

  it('a reply for an xid that was not sent ends the connection', async () => {
    await expectConnectionLoss((socket, request) => {
      if (request.xid > 0) reply(socket, request.xid + 1000);
    });
  });

  it('a reply whose body does not parse ends the connection', async () => {
    // getData's reply body must hold a buffer and a Stat: four bytes are not enough.
    await expectConnectionLoss((socket, request) => {
      if (request.xid > 0) reply(socket, request.xid, 0, Buffer.from([0, 0, 0, 9]));
    });
  });

  it('a connection that is only pinged stays up past the read timeout', async () => {
    const { states } = await connectedClient(answerPings);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(states).toEqual(['connected']);
  });

  it('a server that accepts and never answers the handshake is a lost connection after the connect timeout', async () => {
    const fake = await fakeServer(() => {}, false);
    cleanups.push(() => new Promise<void>((resolve) => fake.server.close(() => resolve())));
    cleanups.push(() => {
      for (const socket of fake.sockets) socket.destroy();
    });
    const connection = new Connection({
      host: '127.0.0.1',
      port: fake.port,
      handshake: { protocolVersion: 0, lastZxidSeen: 0n, timeOut: 900, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false },
      connectTimeoutMs: 300,
      maxFrameBytes: 1024,
      nextXid: () => 1,
    });
    const end = await new Promise<ConnectionEnd>((resolve) => connection.on('ended', resolve));
    expect(end).toMatchObject({ kind: 'lost', phase: 'handshake', reason: expect.stringContaining('did not answer the handshake') });
  });

  it('a reconnect closed unanswered, as by a server still starting, ends at once: only a new session checks for a TLS port', async () => {
    // Closes every connection on its first bytes, as ZooKeeper does before it serves.
    let connections = 0;
    const server = createServer((socket) => {
      connections += 1;
      socket.on('error', () => {});
      socket.once('data', () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const attempt = async (sessionId: bigint) => {
      connections = 0;
      const connection = new Connection({
        host: '127.0.0.1',
        port,
        handshake: { protocolVersion: 0, lastZxidSeen: 0n, timeOut: 900, sessionId, passwd: Buffer.alloc(16), readOnly: false },
        connectTimeoutMs: 5000,
        maxFrameBytes: 1024,
        nextXid: () => 1,
      });
      const end = await new Promise<ConnectionEnd>((resolve) => connection.on('ended', resolve));
      return { end, connections };
    };
    // A reconnect: its port answered in plaintext before, so nothing holds up the next attempt.
    expect(await attempt(0x1234n)).toEqual({ end: expect.objectContaining({ kind: 'lost', phase: 'handshake' }), connections: 1 });
    // A new session: a TLS hello tells a secureClientPort from a server not serving yet.
    const fresh = await attempt(0n);
    expect(fresh.connections).toBe(2);
    expect(fresh.end).toMatchObject({ kind: 'lost', reason: 'the server closed the connection before answering the handshake' });
  });

  it('a client that never got a handshake answer keeps requests for the next connection and rejects them on close', async () => {
    const fake = await fakeServer(() => {}, false);
    cleanups.push(() => new Promise<void>((resolve) => fake.server.close(() => resolve())));
    cleanups.push(() => {
      for (const socket of fake.sockets) socket.destroy();
    });
    const client = new BuiltinAdapter({ connectString: `127.0.0.1:${fake.port}`, sessionTimeoutMs: 900 });
    const states: ClientState[] = [];
    client.on('state', (state) => states.push(state));
    client.connect();
    const request = client.exists('/x');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await client.close();
    await expect(request).rejects.toMatchObject({ code: 'CONNECTION_LOSS' });
    expect(states).toEqual([]);
  });

  it('no more than maxOutstanding requests are on the wire; the rest go out, in order, as replies make room', async () => {
    const held: { socket: Socket; xid: number }[] = [];
    const seen: number[] = [];
    const { client } = await connectedClient(
      (socket, request) => {
        if (request.xid <= 0) return answerPings(socket, request);
        seen.push(request.xid);
        held.push({ socket, xid: request.xid });
      },
      { maxOutstanding: 2 },
    );
    const requests = Array.from({ length: 5 }, () => client.exists('/x'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toHaveLength(2);
    // exists answered NONODE: null, without a body.
    while (seen.length < 5 || held.length > 0) {
      const next = held.shift();
      if (next) reply(next.socket, next.xid, -101);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await Promise.all(requests)).toEqual([null, null, null, null, null]);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('close() against a server that drops the connection on closeSession reports nothing and dials no more', async () => {
    const { client, states, fake } = await connectedClient((socket, request) => {
      if (request.type === -11) socket.destroy();
    });
    let connections = 0;
    fake.server.on('connection', () => (connections += 1));
    await client.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(states).toEqual(['connected']);
    expect(connections).toBe(0);
  });

  it('a handshake answered with timeout 0 is an expiry: requests fail SESSION_EXPIRED and it dials no more', async () => {
    let handshakes = 0;
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        handshakes += 1;
        socket.end(
          frame(writeConnectResponse(new JuteWriter(), { protocolVersion: 0, timeOut: 0, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false }).bytes()),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const client = new BuiltinAdapter({
      connectString: `127.0.0.1:${port}`,
      sessionTimeoutMs: 900,
      credentials: { id: '0000000000001234', password: Buffer.alloc(16, 7) },
    });
    cleanups.push(() => client.close());
    const expired = nextState(client, 'expired');
    client.connect();
    const request = client.exists('/x');
    await expired;
    await expect(request).rejects.toMatchObject({ code: 'SESSION_EXPIRED' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(handshakes).toBe(1);
  });
});

describe('builtin client: the SASL login on a connection', () => {
  const challenge = Buffer.from('realm="zk-sasl-md5",nonce="n0",qop="auth",charset=utf-8,algorithm=md5-sess');
  const token = (bytes: Buffer | null): Buffer<ArrayBuffer> =>
    Buffer.from((bytes === null ? new JuteWriter().int(-1) : new JuteWriter().buffer_(bytes)).bytes());

  async function saslServer(answer: (socket: Socket, request: { xid: number; type: number }, seen: number) => void) {
    const seen: { xid: number; type: number }[] = [];
    const fake = await fakeServer((socket, request) => {
      if (request.xid === -2) return reply(socket, -2);
      seen.push(request);
      answer(socket, request, seen.length);
    });
    cleanups.push(() => new Promise<void>((resolve) => fake.server.close(() => resolve())));
    cleanups.push(() => {
      for (const socket of fake.sockets) socket.destroy();
    });
    const client = new BuiltinAdapter({ connectString: `127.0.0.1:${fake.port}`, sessionTimeoutMs: 900, sasl: { username: 'alice', password: 'secret' } });
    const states: ClientState[] = [];
    client.on('state', (state) => states.push(state));
    cleanups.push(() => client.close());
    return { client, seen, states };
  }

  it('holds requests back until the login is done: an empty token, then the response, as sasl (102) packets with normal xids', async () => {
    const { client, seen, states } = await saslServer((socket, request, count) => {
      if (count === 1) reply(socket, request.xid, 0, token(challenge));
      else if (count === 2) reply(socket, request.xid, 0, token(Buffer.from('rspauth=0123')));
    });
    // Queued before the connection opens; the fake's rspauth is wrong, so it must never be sent.
    const request = client.getData('/x');
    const refused = new Promise<ZkLeaderError | undefined>((resolve) => client.on('state', (state, error) => state === 'auth-failed' && resolve(error)));
    client.connect();
    const error = await refused;
    expect(error).toMatchObject({
      code: 'AUTH_FAILED',
      message: expect.stringMatching(/SASL login to 127\.0\.0\.1:\d+ as 'alice' failed: the server's rspauth does not match/),
    });
    await expect(request).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(seen).toEqual([
      { xid: 1, type: 102 },
      { xid: 2, type: 102 },
    ]);
    expect(states).toEqual(['auth-failed']);
  });

  it('a login the server refuses (err -115) is auth-failed with a message that says to check sasl.username/password', async () => {
    const { client } = await saslServer((socket, request) => reply(socket, request.xid, -115, token(null)));
    const refused = new Promise<ZkLeaderError | undefined>((resolve) => client.on('state', (state, error) => state === 'auth-failed' && resolve(error)));
    client.connect();
    expect(await refused).toMatchObject({
      code: 'AUTH_FAILED',
      message: expect.stringMatching(/refused the user name or password \(err -115\); check sasl\.username\/password/),
    });
  });

  it('a server that never answers the login ends the connection at the connect timeout, and it dials again', async () => {
    const { client, seen } = await saslServer(() => {});
    client.connect();
    await until(() => seen.length >= 2, 'a second login attempt on a new connection');
    expect(seen.every((request) => request.type === 102)).toBe(true);
  });
});

describe('builtin client against a ZooKeeper 3.5 server', () => {
  it('addWatch answered UNIMPLEMENTED (then a closed connection) is refused with an error that names 3.6+, and nothing is re-armed', async () => {
    const types: number[] = [];
    const { client } = await connectedClient((socket, request) => {
      types.push(request.type);
      if (request.xid === -2) return reply(socket, -2);
      // What a 3.5 server does with an opcode it does not know (UnimplementedRequestProcessor).
      if (request.type === 106) {
        reply(socket, request.xid, -6);
        socket.end();
      } else reply(socket, request.xid);
    });
    const reconnected = nextState(client, 'connected');
    await expect(client.addWatch('/a', 'persistent', () => {})).rejects.toMatchObject({
      code: 'ZOOKEEPER_ERROR',
      message: expect.stringContaining('addWatch needs ZooKeeper 3.6+'),
    });
    expect(client.watcherCount()).toBe(0);
    await reconnected;
    await client.sync('/');
    // No SetWatches2 (105) after the reconnect: the server would close the connection on that too.
    expect(types).not.toContain(105);
  });
});
