// The session's state on its own, so that what reports it (health.ts) and what holds it
// (session.ts) both import it here instead of each other.

/**
 * `connecting`: no session yet (first connect, or a new one after expiry). `connected`:
 * requests flow. `suspended`: the connection dropped or went silent; the session may still
 * be alive on the server. `closed`: for good.
 */
export type SessionState = 'connecting' | 'connected' | 'suspended' | 'closed';
