import { createClient } from '../client/index.js';
import type { SessionCredentials } from '../client/types.js';

/**
 * Forces a session to expire the way ZooKeeper's own tests do: a second client attaches with
 * the same id and password, then closes, which ends the session on the server.
 */
export async function expireSession(connectString: string, credentials: SessionCredentials, timeoutMs = 10_000): Promise<void> {
  const intruder = createClient('node-zookeeper-client', { connectString, sessionTimeoutMs: 10_000, credentials });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`could not attach to session ${credentials.id} within ${timeoutMs} ms`)), timeoutMs);
      intruder.on('state', (state) => {
        if (state === 'connected') {
          clearTimeout(timer);
          resolve();
        } else if (state === 'expired') {
          clearTimeout(timer);
          reject(new Error(`session ${credentials.id} had already expired`));
        }
      });
      intruder.connect();
    });
  } finally {
    await intruder.close();
  }
}
