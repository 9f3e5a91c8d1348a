import { createHash } from 'node:crypto';
import { Permission, openAcl, type AclEntry } from './client/types.js';
import { InvalidArgumentError } from './errors.js';

/**
 * An ACL that gives every permission to holders of one digest credential ("user:password"),
 * and nothing to anyone else: pass it as `acl` together with the same credential as `auth`.
 * @throws INVALID_ARGUMENT for a credential without ':' or permissions outside 1 to 31.
 * @example
 * new LeaderElection({ connect, path, auth: { scheme: 'digest', credential: 'app:s3cret' }, acl: digestAcl('app:s3cret') });
 */
export function digestAcl(credential: string, permissions: number = Permission.all): AclEntry[] {
  const separator = typeof credential === 'string' ? credential.indexOf(':') : -1;
  if (separator <= 0) throw new InvalidArgumentError(`digestAcl needs 'user:password': got ${JSON.stringify(credential)}`);
  validatePermissions(permissions, 'digestAcl permissions');
  const user = credential.slice(0, separator);
  const hash = createHash('sha1').update(credential).digest('base64');
  return [{ scheme: 'digest', id: `${user}:${hash}`, permissions }];
}

/**
 * Checks an `acl` option before a client library sees it (a string reached it as
 * `acl.map is not a function`, an empty list as an error from inside the client); undefined
 * gives the open ACL.
 * @throws INVALID_ARGUMENT naming the entry and field at fault and what to pass.
 */
export function validateAcl(acl: unknown, option = 'acl'): readonly AclEntry[] {
  if (acl === undefined) return openAcl;
  if (!Array.isArray(acl) || acl.length === 0) {
    throw new InvalidArgumentError(
      `${option} must be a non-empty list of { scheme, id, permissions } entries, such as digestAcl('user:password') or openAcl: got ${JSON.stringify(acl)}`,
    );
  }
  (acl as unknown[]).forEach((entry, index) => {
    const name = `${option}[${index}]`;
    if (!entry || typeof entry !== 'object') throw new InvalidArgumentError(`${name} must be { scheme, id, permissions }: got ${JSON.stringify(entry)}`);
    const { scheme, id, permissions } = entry as Partial<Record<keyof AclEntry, unknown>>;
    if (typeof scheme !== 'string' || scheme === '') {
      throw new InvalidArgumentError(`${name}.scheme must be a non-empty string such as 'world' or 'digest': got ${JSON.stringify(scheme)}`);
    }
    if (typeof id !== 'string') throw new InvalidArgumentError(`${name}.id must be a string such as 'anyone' or 'user:base64sha1': got ${JSON.stringify(id)}`);
    // A base64 SHA-1 is 28 characters: anything else is most likely the password itself, which
    // would lock out everyone, this participant included.
    if (scheme === 'digest' && !/^[^:]+:[A-Za-z0-9+/]{27}=$/.test(id)) {
      throw new InvalidArgumentError(
        `${name}.id of a digest entry is 'user:' and the base64 SHA-1 of 'user:password', not the password: use digestAcl('user:password')`,
      );
    }
    validatePermissions(permissions, `${name}.permissions`);
  });
  return acl as AclEntry[];
}

function validatePermissions(permissions: unknown, name: string): void {
  if (typeof permissions !== 'number' || !Number.isInteger(permissions) || permissions < 1 || permissions > Permission.all) {
    throw new InvalidArgumentError(
      `${name} must be a whole number from 1 to 31, a sum of Permission bits such as Permission.read | Permission.write: got ${JSON.stringify(permissions)}`,
    );
  }
}
