import { connect } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';

/**
 * Sends one ZooKeeper four-letter word (`ruok`, `srvr`, `mntr`, ...) and resolves with the
 * whole reply, or with `null` when nothing answers within `timeoutMs`. With `tls`, asks over
 * TLS (a `secureClientPort` answers four-letter words too), e.g. with `{ ca, cert, key }`
 * from a handle's `tls.client` and `servername: 'localhost'`.
 */
export function fourLetterWord(host: string, port: number, word: string, timeoutMs = 1000, tls?: ConnectionOptions): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = tls ? connectTls({ host, port, ...tls }) : connect({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => finish(null), timeoutMs);
    function finish(reply: string | null): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    }
    socket.on(tls ? 'secureConnect' : 'connect', () => socket.end(word));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', () => finish(null));
  });
}

/** The server's version as `srvr` reports it ("3.8.0"), or null when it does not answer. */
export async function serverVersion(host: string, port: number, tls?: ConnectionOptions): Promise<string | null> {
  const reply = await fourLetterWord(host, port, 'srvr', 1000, tls);
  const match = reply?.match(/version:\s*([0-9][^-,\s]*)/i);
  return match?.[1] ?? null;
}

/**
 * Whether the server serves client requests: `srvr` answers with a mode (standalone, leader
 * or follower) only once the server has joined a quorum; `ruok` says imok before that.
 */
export async function isServing(host: string, port: number, tls?: ConnectionOptions): Promise<boolean> {
  const reply = await fourLetterWord(host, port, 'srvr', 1000, tls);
  return reply !== null && /Mode:\s*(standalone|leader|follower|observer)/.test(reply);
}
