import { createClient } from '../client/index.js';
import type { SessionCredentials } from '../client/types.js';
import { validateMs } from '../options.js';

/** Attaches to the session and closes it; false when the server says it had already expired. */
async function attachAndClose(connectString: string, credentials: SessionCredentials, timeoutMs: number): Promise<boolean> {
  const intruder = createClient('node-zookeeper-client', { connectString, sessionTimeoutMs: 10_000, credentials });
  try {
    return await new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`could not attach to session ${credentials.id} within ${timeoutMs} ms`)), timeoutMs);
      intruder.on('state', (state) => {
        if (state === 'connected' || state === 'expired') {
          clearTimeout(timer);
          resolve(state === 'connected');
        }
      });
      intruder.connect();
    });
  } finally {
    await intruder.close();
  }
}

/**
 * Forces a session to expire the way ZooKeeper's own tests do: a second client attaches with
 * the same id and password, then closes, which ends the session on the server. The owner may
 * win the session back before the close lands, so this repeats until the server answers that
 * the session has expired.
 * @throws INVALID_ARGUMENT for a `timeoutMs` that is not above 0 and at most 2^31 - 1.
 */
export async function expireSession(connectString: string, credentials: SessionCredentials, timeoutMs = 10_000): Promise<void> {
  validateMs(timeoutMs, 'timeoutMs', 10_000, 'positive');
  for (let attempt = 0; attempt < 20; attempt++) {
    if (!(await attachAndClose(connectString, credentials, timeoutMs))) return;
  }
  throw new Error(`session ${credentials.id} did not expire after 20 attempts`);
}
