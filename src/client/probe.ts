import { lookup } from 'node:dns/promises';
import { connect, type Socket } from 'node:net';
import type { ConnectServer } from '../connect-string.js';
import type { ConnectFailure, ServerFailure } from '../errors.js';

/**
 * Why no session could be had with these servers, one verdict each: the name does not
 * resolve, the address refuses (nothing listens), it is unreachable, or it timed out (no TCP
 * answer, or a listener that never completed the session handshake). Neither client library
 * reports which of these it met, so this looks for itself, once, after the connect has failed,
 * and gives up on a server after `budgetMs`. It leaves no socket or timer behind.
 */
export async function probeServers(servers: readonly ConnectServer[], budgetMs: number): Promise<ServerFailure[]> {
  const probe = { over: false, sockets: new Set<Socket>() };
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), budgetMs);
  });
  try {
    return await Promise.all(
      servers.map(async ({ host, port }) => ({
        server: `${host}:${port}`,
        failure: await Promise.race([probeServer(host, port, probe), outOfTime]),
      })),
    );
  } finally {
    probe.over = true;
    clearTimeout(timer);
    for (const socket of probe.sockets) socket.destroy();
  }
}

async function probeServer(host: string, port: number, probe: { over: boolean; sockets: Set<Socket> }): Promise<ConnectFailure> {
  let address: string;
  try {
    ({ address } = await lookup(host));
  } catch {
    return 'name does not resolve';
  }
  // A lookup that answered after the budget ran out: nobody waits for the rest.
  if (probe.over) return 'timed out';
  return new Promise<ConnectFailure>((resolve) => {
    const socket = connect({ host: address, port });
    probe.sockets.add(socket);
    // It listens, so what failed is the session handshake: it did not complete in time.
    socket.once('connect', () => resolve('timed out'));
    // Not once: a reset after the connect must not go unhandled either.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') resolve('refused');
      else if (error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH') resolve('unreachable');
      else resolve('timed out');
    });
  });
}
