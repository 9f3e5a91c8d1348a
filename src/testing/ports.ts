import { createServer } from 'node:net';

/**
 * Where test servers' ports are drawn from: below Linux's ephemeral range (32768-60999), which
 * the kernel hands out for `listen(0)` and for every outgoing connection. A server that is
 * stopped and restarted on its port (its connect string must stay valid) would otherwise
 * often find it taken meanwhile by another test file's new server, or by a client socket.
 */
const range = { from: 10_000, to: 32_767 } as const;

function listensOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on right now, drawn at random from `range`. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = range.from + Math.floor(Math.random() * (range.to - range.from + 1));
    if (await listensOn(port)) return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${range.from} and ${range.to} after 100 tries`);
}
