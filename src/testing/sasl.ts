import { writeFileSync } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import type { ZooKeeperSaslOptions } from './types.js';

/**
 * Checks `sasl.users`: at least one, names a JAAS option can carry (`user_<name>`), passwords
 * that need no escaping inside the JAAS file's double quotes.
 *
 * @throws {InvalidArgumentError} for an empty list, a name or a password the JAAS file cannot hold.
 */
export function validateSasl(sasl: ZooKeeperSaslOptions): void {
  const users = Object.entries(sasl.users);
  if (users.length === 0) throw new InvalidArgumentError('sasl.users is empty: give at least one user, e.g. { users: { alice: "alice-secret" } }');
  for (const [name, password] of users) {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) {
      throw new InvalidArgumentError(`sasl.users: the name ${JSON.stringify(name)} is not letters, digits, ".", "_" or "-"`);
    }
    if (typeof password !== 'string' || password === '' || /["\\\r\n]/.test(password)) {
      throw new InvalidArgumentError(`sasl.users.${name}: a password is a non-empty string without '"', backslash or line break`);
    }
  }
}

/**
 * Writes the JAAS file the servers log in with: a `Server` section whose DigestLoginModule
 * accepts each user (`user_<name>="<password>"`; SaslServerCallbackHandler strips `user_`).
 */
export function writeJaasFile(file: string, sasl: ZooKeeperSaslOptions): void {
  const users = Object.entries(sasl.users).map(([name, password]) => `  user_${name}="${password}"`);
  writeFileSync(file, ['Server {', '  org.apache.zookeeper.server.auth.DigestLoginModule required', `${users.join('\n')};`, '};', ''].join('\n'));
}

/** The zoo.cfg lines for SASL: its provider (else `sasl:` ACLs are INVALID_ACL), and whether it is required. */
export function saslZooCfg(sasl: ZooKeeperSaslOptions): string[] {
  const lines = ['authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider'];
  // ZooKeeper 3.7+: a request from a connection without a sasl id fails with err -124 and the connection is closed.
  if (sasl.required) lines.push('enforce.auth.enabled=true', 'enforce.auth.schemes=sasl');
  return lines;
}
