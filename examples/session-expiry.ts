/**
 * Automatic re-initialisation after session expiry, as the C client example does by hand:
 * the election gets a new session and re-joins by itself, without a restart.
 *
 *   npx tsx examples/session-expiry.ts --connect 127.0.0.1:2181 --expire-self-after 3000
 *
 * --expire-self-after forces this process's own session to expire (a second client attaches
 * with the same session id and password, then closes it), every N ms.
 */
import { LeaderElection } from 'zk-leader';
import { expireSession } from 'zk-leader/testing';
import { milliseconds, orUsage, parseExampleArgs } from './support/cli.js';

const usage = `usage: session-expiry.ts [--connect host:port] [--path /zk-leader/expiry] [--id name]
                          [--expire-self-after ms] [--session-timeout ms]
                          [--backend builtin|node-zookeeper-client|zookeeper]`;
const { values, connect, backend } = parseExampleArgs(usage, {
  path: { type: 'string', default: '/zk-leader/expiry' },
  id: { type: 'string' },
  'expire-self-after': { type: 'string' },
  'session-timeout': { type: 'string' },
});
const id = (values.id as string | undefined) ?? `expiry-${process.pid}`;
const expireAfterMs = milliseconds(values['expire-self-after'], '--expire-self-after', 0);
const say = (words: string) => console.log(`${new Date().toISOString()} ${id}: ${words}`);

const election = orUsage(
  () =>
    new LeaderElection({
      connect,
      backend,
      path: values.path as string,
      id,
      sessionTimeoutMs: milliseconds(values['session-timeout'], '--session-timeout', 10_000),
      releaseOnSignals: true,
    }),
  usage,
);
election.on('elected', ({ fencingToken }) => say(`leading: fencing token ${fencingToken} on session ${election.session.sessionId}`));
election.on('follower', ({ leader }) => say(`following ${leader.id} on session ${election.session.sessionId}`));
election.on('lost', ({ reason }) => say(`lost leadership (${reason})`));
election.on('expired', () => say('session expired: creating a new session and re-joining'));
election.on('error', (error) => say(`error: ${error.message}`));
election.on('stopped', () => {
  say('stopped');
  process.exit(0);
});

await election.start();
say(`joined on session ${election.session.sessionId}`);
election.session.on('connected', ({ sessionId, generation }) => say(`new session ${sessionId} (session #${generation})`));

if (expireAfterMs > 0) {
  const expireLoop = async () => {
    const credentials = election.session.credentials();
    if (!credentials) return;
    say(`forcing session ${credentials.id} to expire`);
    await expireSession(election.session.connectString, credentials).catch((error: Error) => say(`could not expire: ${error.message}`));
  };
  setInterval(() => void expireLoop(), expireAfterMs);
}
