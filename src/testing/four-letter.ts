import { connect } from 'node:net';

/**
 * Sends one ZooKeeper four-letter word (`ruok`, `srvr`, `mntr`, ...) and resolves with the
 * whole reply, or with `null` when nothing answers within `timeoutMs`.
 */
export function fourLetterWord(host: string, port: number, word: string, timeoutMs = 1000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => finish(null), timeoutMs);
    function finish(reply: string | null): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    }
    socket.on('connect', () => socket.end(word));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => finish(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', () => finish(null));
  });
}

/** The server's version as `srvr` reports it ("3.8.0"), or null when it does not answer. */
export async function serverVersion(host: string, port: number): Promise<string | null> {
  const reply = await fourLetterWord(host, port, 'srvr');
  const match = reply?.match(/version:\s*([0-9][^-,\s]*)/i);
  return match?.[1] ?? null;
}

/**
 * Whether the server serves client requests: `srvr` answers with a mode (standalone, leader
 * or follower) only once the server has joined a quorum; `ruok` says imok before that.
 */
export async function isServing(host: string, port: number): Promise<boolean> {
  const reply = await fourLetterWord(host, port, 'srvr');
  return reply !== null && /Mode:\s*(standalone|leader|follower|observer)/.test(reply);
}
